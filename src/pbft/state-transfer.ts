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

import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import type { ReplicatedApp } from '../smr/app.js';
import { SessionTable } from '../smr/sessions.js';
import { checkCheckpointProof, checkCommitCertificate, type Verifier } from './certificates.js';
import { digestOf } from './digest.js';
import type { CommitCertificate, FetchStateBody, Snapshot, StateBody } from './messages.js';
import { TIMER } from './options.js';
import { type Refusal, refuse, within } from './refusal.js';
import type { PbftReplica } from './replica.js';

const MAX_FETCH_ATTEMPTS = 8;

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
export function checkStateCheckpoint(v: Verifier, checkpoint: StateCheckpoint): Refusal | null {
  const refusal = checkCheckpointProof(v, checkpoint.seq, checkpoint.stateDigest, checkpoint.proof);
  if (refusal !== null) return refusal;
  if (stateDigestOf(checkpoint.snapshot) !== checkpoint.stateDigest) {
    return refuse('snapshot-mismatch', 'snapshot does not match the checkpoint digest');
  }
  return null;
}

/** The replica's side of state transfer: what it asks for, what it serves, what it installs. */
export class StateTransfer {
  /** The sequence number this replica wants to reach by transfer. */
  private target = 0;
  private attempts = 0;
  private fetching = false;
  /** When each peer was last served (a STATE is large: at most one per half timeout). */
  private readonly lastServed = new Map<NodeId, number>();

  constructor(private readonly r: PbftReplica) {}

  /**
   * PBFT-49 a replica fetches the state when f+1 replicas report checkpoints above h+L, when a
   *         checkpoint becomes stable whose state it lacks (PBFT-34), and after a restart:
   *         multicast ⟨FETCH-STATE, its last executed s, its view⟩σi, retried a few times.
   */
  fetch(target: number): void {
    this.target = Math.max(this.target, target);
    if (this.fetching) return;
    this.fetching = true;
    this.attempts = 0;
    this.sendFetch();
  }

  /** PBFT-49 multicast ⟨FETCH-STATE, its last executed s, its view⟩σi. */
  private sendFetch(): void {
    const { ctx } = this.r;
    this.r.broadcast(
      ctx.sign('FETCH-STATE', { lastExecuted: this.r.lastExecuted, view: this.r.view }),
    );
    ctx.setTimer(TIMER.fetch, this.r.options.viewChangeTimeoutMs);
  }

  /** PBFT-49 "retried a few times": while the target is not reached. */
  onFetchTimer(): void {
    if (this.fetching && this.r.lastExecuted < this.target) {
      if (this.attempts < MAX_FETCH_ATTEMPTS) {
        this.attempts++;
        this.sendFetch();
        return;
      }
    }
    this.fetching = false;
  }

  /**
   * PBFT-50 a replica that is ahead answers ⟨STATE, checkpoint, batches, new-view⟩σj with
   *         its stable checkpoint if the asker is below it; each committed batch after that (or
   *         after the asker's s) with its commit certificate, at most L of them; the NEW-VIEW
   *         of its view if the asker's view is older.
   */
  onFetchState(from: NodeId, request: FetchStateBody): void {
    if (from === this.r.self) return;
    const now = this.r.ctx.now();
    const last = this.lastServed.get(from);
    if (last !== undefined && now - last < this.r.options.viewChangeTimeoutMs / 2) return;
    const checkpoint = this.checkpointFor(request.lastExecuted);
    const batches = this.batchesFor(request.lastExecuted, checkpoint !== null);
    const newView = this.r.view > request.view ? this.r.viewChange.newViewMessage : null;
    if (checkpoint === null && batches.length === 0 && newView === null) return;
    this.lastServed.set(from, now);
    const body = { checkpoint, batches, newView } as unknown as Json;
    this.r.ctx.send(from, this.r.ctx.sign('STATE', body));
  }

  /** PBFT-50 the stable checkpoint, if the asker (at `theirs`) is below it and we hold its state. */
  private checkpointFor(theirs: number): StateBody['checkpoint'] {
    const { h } = this.r;
    const { stable, stableSnapshot } = this.r.checkpoints;
    if (h <= theirs || stableSnapshot === null || this.r.lastExecuted < h) return null;
    return {
      seq: h,
      stateDigest: stable.stateDigest,
      proof: [...stable.proof],
      snapshot: stableSnapshot,
    };
  }

  /** PBFT-50 the committed batches after the checkpoint sent (or after `theirs`), at most L. */
  private batchesFor(theirs: number, withCheckpoint: boolean): CommitCertificate[] {
    const batches: CommitCertificate[] = [];
    const { h } = this.r;
    if (!withCheckpoint && theirs < h) return batches;
    const from = withCheckpoint ? h : theirs;
    for (let s = from + 1; s <= this.r.lastExecuted; s++) {
      const c = this.r.normalCase.committed.get(s);
      if (c === undefined || batches.length >= this.r.options.watermarkWindow) break;
      batches.push(c.certificate);
    }
    return batches;
  }

  /**
   * PBFT-51 the asker takes the NEW-VIEW as in PBFT-45; installs the snapshot only if the proof
   *         holds q matching CHECKPOINTs and digest(snapshot) = d; then executes each batch
   *         only if it is the next one in order and its commit certificate holds.
   */
  onState(from: NodeId, state: StateBody): void {
    if (state.newView !== null && state.newView.body.view > this.r.view) {
      this.r.viewChange.onNewView(state.newView);
    }
    const cp = state.checkpoint;
    if (cp !== null && cp.seq > this.r.lastExecuted && cp.seq >= this.r.h) {
      const refusal = checkStateCheckpoint(this.r.verifier, cp);
      if (refusal !== null) {
        this.r.reject('STATE', from, refusal);
        return;
      }
      this.install(cp);
    }
    for (const certificate of state.batches) {
      const { view, seq, digest } = certificate.prePrepare.body;
      if (seq <= this.r.lastExecuted) continue;
      if (seq !== this.r.lastExecuted + 1 || this.r.lastExecuted < this.r.h) break;
      const refusal = checkCommitCertificate(this.r.verifier, certificate);
      if (refusal !== null) {
        this.r.reject('STATE', from, within(`batch ${seq}`, refusal));
        return;
      }
      if (!this.r.normalCase.committed.has(seq)) {
        this.r.normalCase.commit(certificate);
        this.r.ctx.note('commit', { view, seq, digest });
      }
      this.r.normalCase.executeReady();
    }
  }

  /** PBFT-51 install a checked checkpoint: its state, then whatever committed after it. */
  private install(cp: StateCheckpoint): void {
    const { r } = this;
    r.sessions = restoreSnapshot(r.app, cp.snapshot);
    r.lastExecuted = cp.seq;
    r.checkpoints.keepSnapshot(cp.seq, cp.stateDigest, cp.snapshot);
    r.ctx.note('state', { seq: cp.seq, stateDigest: cp.stateDigest });
    if (cp.seq > r.h) {
      r.checkpoints.stabilize({ seq: cp.seq, stateDigest: cp.stateDigest, proof: cp.proof });
    } else if (cp.stateDigest === r.checkpoints.stable.stateDigest) {
      r.checkpoints.stableSnapshot = cp.snapshot;
    }
    r.normalCase.forgetCommitted(cp.seq);
    r.normalCase.dropExecuted();
    r.normalCase.executeReady();
    r.normalCase.armRequestTimer(false);
  }
}
