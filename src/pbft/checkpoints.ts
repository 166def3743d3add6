/**
 * The checkpoint tracker (docs/reference/pbft.md PBFT-31 … 34): this replica's CHECKPOINTs
 * and its snapshots, the others' CHECKPOINTs, the stable checkpoint with its proof (the low
 * watermark h), and the garbage collection a new stable checkpoint allows.
 */
import type { NodeId } from '../core/protocol.js';
import { persistSnapshot } from './durable.js';
import { conflicting } from './evidence.js';
import type { CheckpointBody, CheckpointEnvelope, Snapshot } from './messages.js';
import { refuse } from './refusal.js';
import type { PbftReplica } from './replica.js';
import { stateDigestOf, takeSnapshot } from './state-transfer.js';

/** PBFT-32 a stable checkpoint: s, the digest of the state after s, and q CHECKPOINTs. */
export interface StableCheckpoint {
  readonly seq: number;
  readonly stateDigest: string;
  readonly proof: readonly CheckpointEnvelope[];
}

export class CheckpointTracker {
  /** The stable checkpoint: h = stable.seq. */
  stable: StableCheckpoint;
  /** Our state at the stable checkpoint (null while we lack it: state transfer pending). */
  stableSnapshot: Snapshot | null;
  /** The initial state: the implicit stable checkpoint at sequence number 0. */
  readonly genesis: { snapshot: Snapshot; stateDigest: string };
  /** Our own states after the checkpoints we took (or installed), by seq. */
  readonly own = new Map<number, { stateDigest: string; snapshot: Snapshot }>();
  /** CHECKPOINTs received within the window, by seq, then sender. */
  private readonly votes = new Map<number, Map<NodeId, CheckpointEnvelope>>();
  /** Each replica's highest CHECKPOINT seen (to notice we fell behind, PBFT-49). */
  private readonly latest = new Map<NodeId, number>();

  constructor(private readonly r: PbftReplica) {
    const snapshot = takeSnapshot(r.app, r.sessions);
    this.genesis = { snapshot, stateDigest: stateDigestOf(snapshot) };
    this.stable = { seq: 0, stateDigest: this.genesis.stateDigest, proof: [] };
    this.stableSnapshot = snapshot;
  }

  /** PBFT-31 after executing s with s mod K = 0: multicast ⟨CHECKPOINT, s, digest(state after s), i⟩σi. */
  take(seq: number): void {
    if (seq < this.r.h) return;
    const snapshot = takeSnapshot(this.r.app, this.r.sessions);
    const stateDigest = stateDigestOf(snapshot);
    // On disk before CHECKPOINT leaves (same step): a stable checkpoint's snapshot survives.
    this.keepSnapshot(seq, stateDigest, snapshot);
    if (seq === this.r.h) {
      // We reached the stable checkpoint by executing (after a state transfer of batches).
      if (stateDigest === this.stable.stateDigest) this.stableSnapshot = snapshot;
      return;
    }
    const body: CheckpointBody = { seq, stateDigest };
    const vote = this.r.votes.sign({ kind: 'cp', seq }, 'CHECKPOINT', body, (previous) => {
      return (previous.body as CheckpointBody).stateDigest === stateDigest;
    });
    if (vote === null) return;
    this.r.broadcast(vote);
    this.record(this.r.self, vote as CheckpointEnvelope);
  }

  /**
   * PBFT-32 q CHECKPOINTs for one (s, d) make the checkpoint at s stable.
   * PBFT-49 f+1 replicas report checkpoints above h+L: fetch the state.
   */
  onCheckpoint(from: NodeId, checkpoint: CheckpointEnvelope): void {
    const { seq } = checkpoint.body;
    const { checkpointInterval, watermarkWindow } = this.r.options;
    if (seq === 0 || seq % checkpointInterval !== 0) {
      this.r.reject(
        'CHECKPOINT',
        from,
        refuse('not-a-checkpoint-seq', 'not a checkpoint sequence number'),
      );
      return;
    }
    if (seq <= this.r.h) return;
    this.latest.set(from, Math.max(seq, this.latest.get(from) ?? 0));
    if (seq <= this.r.h + watermarkWindow) {
      this.record(from, checkpoint);
      return;
    }
    const beyond = [...this.latest.values()]
      .filter((s) => s > this.r.h + watermarkWindow)
      .sort((a, b) => b - a);
    const target = beyond[this.r.cluster.f];
    if (target !== undefined) this.r.transfer.fetch(target);
  }

  /** PBFT-32 (a second, different CHECKPOINT from one replica for one s: PBFT-52). */
  private record(from: NodeId, checkpoint: CheckpointEnvelope): void {
    const { seq, stateDigest } = checkpoint.body;
    let votes = this.votes.get(seq);
    if (votes === undefined) {
      votes = new Map();
      this.votes.set(seq, votes);
    }
    const previous = votes.get(from);
    if (previous !== undefined) {
      if (conflicting(previous, checkpoint)) this.r.reportEvidence(previous, checkpoint);
      return;
    }
    votes.set(from, checkpoint);
    const matching = this.r.cluster.replicas.flatMap((id) => {
      const v = votes.get(id);
      return v !== undefined && v.body.stateDigest === stateDigest ? [v] : [];
    });
    if (matching.length >= this.r.cluster.quorum) {
      this.stabilize({ seq, stateDigest, proof: matching.slice(0, this.r.cluster.quorum) });
    }
  }

  /**
   * PBFT-33 on a stable checkpoint at s > h: h := s; discard every pre-prepare, prepare,
   *         commit, checkpoint and own vote for sequence numbers ≤ s.
   * PBFT-34 if the replica has no state of its own with digest d at s, it fetches it.
   */
  stabilize(checkpoint: StableCheckpoint): void {
    const { seq, stateDigest } = checkpoint;
    if (seq <= this.r.h) return;
    this.stable = checkpoint;
    this.r.ctx.persist('stable', { seq, stateDigest, proof: [...checkpoint.proof] });
    const own = this.own.get(seq);
    this.stableSnapshot =
      own !== undefined && own.stateDigest === stateDigest ? own.snapshot : null;
    this.r.ctx.note('checkpoint', { seq, stateDigest });
    if (this.stableSnapshot === null) {
      if (this.r.lastExecuted >= seq) this.r.ctx.note('divergence', { seq, stateDigest });
      this.r.transfer.fetch(seq);
    }
    this.r.log.collectGarbage(seq);
    this.r.normalCase.forgetCommitted(seq);
    for (const s of [...this.own.keys()]) {
      if (s >= seq) continue;
      this.own.delete(s);
      persistSnapshot(this.r.ctx, s, null);
    }
    for (const s of [...this.votes.keys()]) if (s <= seq) this.votes.delete(s);
    this.r.votes.forgetUpTo(seq);
    this.r.proposer.cut(false);
  }

  /** PBFT-31, PBFT-55: our state after `seq`, kept and on disk before its CHECKPOINT leaves. */
  keepSnapshot(seq: number, stateDigest: string, snapshot: Snapshot): void {
    this.own.set(seq, { stateDigest, snapshot });
    if (!this.r.options.unsafeVolatileState) persistSnapshot(this.r.ctx, seq, snapshot);
  }
}
