/**
 * State transfer (reference/pbft.md "A replica that falls behind fetches the stable
 * checkpoint (state + proof) from others and verifies the proof before installing it").
 *
 *   lagging replica:  ⟨FETCH-STATE, last executed s, view⟩ to all
 *   up-to-date one:   ⟨STATE, stable checkpoint + its q-signature proof + snapshot,
 *                             the committed batches after it, each with its commit certificate,
 *                             the NEW-VIEW of its current view⟩
 *   lagging replica:  installs the snapshot only if q CHECKPOINTs vouch for its digest, then
 *                     executes each batch only if its q COMMITs vouch for it
 */
import type { KvResult } from '../smr/kv.js';
import { KvStore } from '../smr/kv.js';
import { SessionTable } from '../smr/sessions.js';
import { checkCheckpointProof, type Verifier } from './certificates.js';
import { digestOf } from './digest.js';
import type { Snapshot, StateBody } from './messages.js';

/** The replicated state as one canonical value: sorted KV entries and sorted sessions. */
export function takeSnapshot(kv: KvStore, sessions: SessionTable<KvResult>): Snapshot {
  return {
    kv: kv.snapshot() as Snapshot['kv'],
    sessions: sessions.snapshot() as Snapshot['sessions'],
  };
}

export function restoreSnapshot(snapshot: Snapshot): {
  kv: KvStore;
  sessions: SessionTable<KvResult>;
} {
  return {
    kv: KvStore.restore(snapshot.kv),
    sessions: SessionTable.restore<KvResult>(snapshot.sessions),
  };
}

export function stateDigestOf(snapshot: Snapshot): string {
  return digestOf(snapshot);
}

/** The digest of the initial (empty) state: the implicit checkpoint at sequence number 0. */
export const GENESIS_STATE_DIGEST = stateDigestOf({ kv: [], sessions: [] });

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
