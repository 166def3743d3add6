/**
 * The primary's proposer (docs/reference/pbft.md PBFT-12 … 15): the queue of requests to
 * order, the batches cut from it, and the PRE-PREPARE of each.
 *
 * Batching: a batch is cut when it holds `batchSize` requests or when `batchTimeoutMs` has
 * passed (the textbook rule) — or, with `maxInFlight` > 0, at once while fewer than
 * `maxInFlight` of the primary's batches are proposed and not yet executed.
 */
import type { NodeId } from '../core/protocol.js';
import { commandWeight } from '../smr/app.js';
import { digestOf } from './digest.js';
import type { PrePrepareEnvelope, RequestEnvelope } from './messages.js';
import { TIMER } from './options.js';
import type { PbftReplica } from './replica.js';

export class Proposer {
  /** Requests waiting for a batch, at most one per client. */
  private queue: RequestEnvelope[] = [];
  /** Per client, the timestamps of its requests in batches proposed in this view. */
  private readonly proposed = new Map<NodeId, Set<number>>();
  /** The highest sequence number assigned in this view. */
  lastAssigned = 0;
  private batchTimerArmed = false;
  /**
   * Set while batches are being cut: proposing one can commit and execute it within the same
   * step (a cluster of one), and executing cuts batches again (`maxInFlight`); the inner call
   * leaves the cutting to the outer loop, which sees the queue as the inner one left it.
   */
  private cutting = false;

  constructor(private readonly r: PbftReplica) {}

  /** PBFT-12 if i = primary(v): put the request in the queue of requests to order. */
  enqueue(request: RequestEnvelope): void {
    const { client, timestamp } = request.body;
    if (this.proposed.get(client)?.has(timestamp) === true) return;
    const i = this.queue.findIndex((r) => r.body.client === client);
    const queued = this.queue[i];
    if (queued !== undefined) {
      if (queued.body.timestamp >= timestamp) return;
      this.queue.splice(i, 1);
    }
    this.queue.push(request);
    this.cut(false);
  }

  /** The client's requests up to `timestamp` were executed: none of them is to be ordered. */
  dequeue(client: NodeId, timestamp: number): void {
    this.queue = this.queue.filter((r) => r.body.client !== client || r.body.timestamp > timestamp);
  }

  /**
   * PBFT-13 primary, when the queue holds a full batch, or the batch timer fires, or fewer
   *         batches than the pipeline allows are in flight, and s+1 ≤ h+L:
   * PBFT-14   take a batch B from the queue; s := s+1; d := digest(B)
   */
  cut(force: boolean): void {
    if (!this.r.normal || !this.r.isPrimary || this.cutting) return;
    const { batchSize, batchTimeoutMs, watermarkWindow, maxInFlight } = this.r.options;
    this.cutting = true;
    try {
      while (this.queue.length > 0) {
        // Pipeline not full (maxInFlight): a partial batch goes now rather than waiting.
        const idle = maxInFlight > 0 && this.lastAssigned - this.r.lastExecuted < maxInFlight;
        if (!force && !idle && this.queue.length < batchSize && batchTimeoutMs > 0) break;
        if (this.lastAssigned + 1 > this.r.h + watermarkWindow) return; // window full: wait for GC
        const batch = this.takeBatch(batchSize).filter(
          (r) => this.r.sessions.check(r.body.client, r.body.timestamp).kind === 'new',
        );
        if (batch.length > 0) this.propose(batch);
      }
    } finally {
      this.cutting = false;
    }
    if (this.queue.length > 0 && !this.batchTimerArmed) {
      this.batchTimerArmed = true;
      this.r.ctx.setTimer(TIMER.batch, batchTimeoutMs);
    }
  }

  /** PBFT-13 … or the batch timer fires. */
  onBatchTimer(): void {
    this.batchTimerArmed = false;
    this.cut(true);
  }

  /** Complained (PBFT-36): no more batches in this view. */
  stopBatchTimer(): void {
    if (!this.batchTimerArmed) return;
    this.batchTimerArmed = false;
    this.r.ctx.cancelTimer(TIMER.batch);
  }

  /**
   * PBFT-14 take a batch B from the queue: at most `batchSize` requests, within the
   * application's batch weight (a request too heavy on its own goes alone, and backups will
   * refuse it: no correct client sends one).
   */
  private takeBatch(batchSize: number): RequestEnvelope[] {
    const { app } = this.r.options;
    const max = app.maxBatchWeight ?? Number.POSITIVE_INFINITY;
    let count = 0;
    let weight = 0;
    for (const request of this.queue) {
      if (count >= batchSize) break;
      const w = commandWeight(app, request.body.command);
      if (count > 0 && weight + w > max) break;
      count++;
      weight += w;
    }
    return this.queue.splice(0, count);
  }

  /** PBFT-15 multicast ⟨PRE-PREPARE, v, s, d⟩σp together with B (PBFT-55: persisted first). */
  private propose(batch: RequestEnvelope[]): void {
    const { view } = this.r;
    const seq = Math.max(this.lastAssigned, this.r.h) + 1;
    this.lastAssigned = seq;
    const digest = digestOf(batch);
    const slot = { kind: 'pp', view, seq } as const;
    const pp = this.r.votes.sign(
      slot,
      'PRE-PREPARE',
      { view, seq, digest, batch },
      this.r.sameDigest(digest),
    );
    if (pp === null) {
      // Already proposed something else for (v, s) before a restart: keep to it.
      const previous = this.r.votes.get(slot) as PrePrepareEnvelope;
      this.r.log.slot(view, seq).prePrepare = previous;
      this.r.broadcast(previous);
      this.queue.unshift(...batch);
      return;
    }
    this.markProposed(pp as PrePrepareEnvelope);
    const accepted = this.r.log.slot(view, seq);
    accepted.prePrepare = pp as PrePrepareEnvelope;
    this.r.broadcast(pp);
    this.r.normalCase.checkSlot(accepted);
  }

  /** The requests of a PRE-PREPARE of this view are not to be ordered again. */
  markProposed(pp: PrePrepareEnvelope): void {
    for (const { body } of pp.body.batch) {
      let timestamps = this.proposed.get(body.client);
      if (timestamps === undefined) {
        timestamps = new Set();
        this.proposed.set(body.client, timestamps);
      }
      timestamps.add(body.timestamp);
    }
  }

  /**
   * PBFT-46 entering a view: the O of its NEW-VIEW ends at max-s; the primary orders the
   * requests still pending (`enqueue`) after it.
   */
  enterView(maxS: number): void {
    this.proposed.clear();
    this.queue = [];
    this.lastAssigned = Math.max(maxS, this.r.h);
  }
}
