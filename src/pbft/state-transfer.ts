/**
 * State transfer (docs/reference/pbft.md PBFT-49 … 51: a replica that falls behind fetches the
 * stable checkpoint (state + proof) from others and verifies the proof before installing it).
 *
 *   lagging replica:  ⟨FETCH-STATE, last executed s, view⟩ to all
 *   up-to-date one:   ⟨STATE, stable checkpoint + its q-signature proof + snapshot,
 *                             the committed batches after it, each with its commit certificate,
 *                             the NEW-VIEW of its current view⟩
 *   lagging replica:  installs the snapshot only if q CHECKPOINTs vouch for its digest, then
 *                     executes each batch only if its q COMMITs vouch for it
 */
import type { Json } from '../core/json.js';
import type { ReplicatedApp } from '../smr/app.js';
import { SessionTable } from '../smr/sessions.js';
import { checkCheckpointProof, type Verifier } from './certificates.js';
import { digestOf } from './digest.js';
import type { Snapshot, StateBody } from './messages.js';

/** The replicated state as one canonical value: the application's, and the sorted sessions. */
export function takeSnapshot(app: ReplicatedApp, sessions: SessionTable<Json>): Snapshot {
  return { app: app.snapshot(), sessions: sessions.snapshot() as Snapshot['sessions'] };
}

/** Install a snapshot into `app`; returns the session table it carries. */
export function restoreSnapshot(app: ReplicatedApp, snapshot: Snapshot): SessionTable<Json> {
  app.restore(snapshot.app);
  return SessionTable.restore<Json>(snapshot.sessions);
}

export function stateDigestOf(snapshot: Snapshot): string {
  return digestOf(snapshot);
}

type StateCheckpoint = NonNullable<StateBody['checkpoint']>;

/** A checkpoint offered by STATE: q signatures on its digest, and the snapshot has that digest. */
export function checkStateCheckpoint(v: Verifier, checkpoint: StateCheckpoint): string | null {
  const reason = checkCheckpointProof(v, checkpoint.seq, checkpoint.stateDigest, checkpoint.proof);
  if (reason !== null) return reason;
  if (stateDigestOf(checkpoint.snapshot) !== checkpoint.stateDigest) {
    return 'snapshot does not match the checkpoint digest';
  }
  return null;
}
