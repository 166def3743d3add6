/**
 * The normal case of a PBFT replica (docs/reference/pbft.md PBFT-8 … 30): client requests,
 * the backups' PRE-PREPARE check, PREPARE and COMMIT, the predicates prepared and
 * committed-local, execution in sequence order, replies, and the request timer that starts a
 * view change (PBFT-35). The primary's side of PBFT-13 … 15 is in proposer.ts.
 */

import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import { type AppRequest, fitsOneBatch } from '../smr/app.js';
import { checkPrePrepare, primaryOf } from './certificates.js';
import { persistBatch } from './durable.js';
import { conflicting } from './evidence.js';
import type { Slot } from './log.js';
import type {
  CommitCertificate,
  CommitEnvelope,
  PrePrepareEnvelope,
  PreparedCertificate,
  PrepareEnvelope,
  RequestEnvelope,
} from './messages.js';
import { TIMER } from './options.js';
import { type Refusal, refuse } from './refusal.js';
import type { PbftReplica } from './replica.js';

/** A batch known committed (committed-local here, or proven by a certificate in STATE). */
export interface CommittedBatch {
  readonly view: number;
  readonly seq: number;
  readonly digest: string;
  readonly batch: readonly RequestEnvelope[];
  readonly certificate: CommitCertificate;
}

export function committedBatch(certificate: CommitCertificate): CommittedBatch {
  const { view, seq, digest, batch } = certificate.prePrepare.body;
  return { view, seq, digest, batch, certificate };
}

export class NormalCase {
  /** Batches known committed and not yet covered by a stable checkpoint, by seq. */
  readonly committed = new Map<number, CommittedBatch>();
  /** Per client, its latest request not executed yet (what the request timer waits for). */
  readonly pending = new Map<NodeId, RequestEnvelope>();
  /**
   * The client whose pending request the request timer waits for (null: timer not running).
   * Castro–Liskov: the timer is stopped only when that request executes, and then restarted
   * for the oldest request still pending — not whenever any request executes, or a primary
   * that serves everyone else promptly could starve one client forever.
   */
  private awaited: NodeId | null = null;

  constructor(private readonly r: PbftReplica) {}

  /**
   * PBFT-8   on ⟨REQUEST, op, t, c⟩σc from client c:
   * PBFT-9     if t is the last request c had executed: re-send its cached REPLY; stop.
   * PBFT-10    if t is older than that: drop it; stop.
   * PBFT-11    remember it as c's pending request; a backup starts its request timer.
   * PBFT-12    if i = primary(v): put it in the queue of requests to order.
   */
  onRequest(from: NodeId, request: RequestEnvelope): void {
    const { client, timestamp } = request.body;
    if (client !== from || !this.r.cluster.clients.includes(from)) {
      this.r.reject('REQUEST', from, refuse('not-its-client', 'request not from its client'));
      return;
    }
    const verdict = this.r.sessions.check(client, timestamp);
    if (verdict.kind === 'duplicate') {
      this.sendReply(client, timestamp, verdict.result);
      return;
    }
    if (verdict.kind === 'stale') return;
    const known = this.pending.get(client);
    if (known !== undefined && known.body.timestamp > timestamp) return;
    if (known === undefined || known.body.timestamp < timestamp) this.pending.set(client, request);
    if (this.r.normal && this.r.isPrimary) this.r.proposer.enqueue(request);
    this.armRequestTimer(false);
  }

  /**
   * PBFT-16  backup, on ⟨PRE-PREPARE, v, s, d⟩σp with B, accept it only if
   * PBFT-17    it is in the normal case of view v and p = primary(v);
   * PBFT-18    it accepted no pre-prepare for (v, s) yet (a second one is evidence, PBFT-52);
   * PBFT-19    h < s ≤ h+L;
   * PBFT-20    d = digest(B), σp is p's signature, every request in B signed by its client.
   * PBFT-21    A pre-prepare that fails PBFT-20 was signed by a faulty primary: complain.
   * PBFT-22    Having accepted it: multicast ⟨PREPARE, v, s, d, i⟩σi.
   */
  onPrePrepare(from: NodeId, pp: PrePrepareEnvelope): void {
    const { view, seq } = pp.body;
    if (view !== this.r.view || !this.r.normal) {
      this.r.drop('pre-prepare outside the current view');
      return;
    }
    if (from !== this.r.primary) {
      this.r.reject(
        'PRE-PREPARE',
        from,
        refuse('not-from-primary', 'pre-prepare not from the primary'),
      );
      return;
    }
    const slot = this.r.log.get(view, seq);
    if (slot?.prePrepare != null) {
      if (conflicting(slot.prePrepare, pp)) this.r.reportEvidence(slot.prePrepare, pp);
      return;
    }
    if (!this.r.inWindow(seq)) {
      this.r.drop('sequence number outside the watermarks');
      return;
    }
    const voted = this.r.votes.get({ kind: 'prepare', view, seq });
    if (voted !== undefined && !this.r.sameDigest(pp.body.digest)(voted)) {
      // Before a restart we prepared another batch for (v, s): the primary equivocates.
      this.r.reject(
        'PRE-PREPARE',
        from,
        refuse('contradicts-own-vote', 'refused to contradict an earlier vote'),
      );
      return;
    }
    const refusal = this.invalidity(pp);
    if (refusal !== null) {
      this.r.reject('PRE-PREPARE', from, refusal);
      this.r.complain(from);
      return;
    }
    const accepted = this.r.log.slot(view, seq);
    accepted.prePrepare = pp;
    if (!this.r.isPrimary) this.sendPrepare(accepted);
    this.checkSlot(accepted);
  }

  /** PBFT-20: why no correct primary would have signed `pp` (null: it is valid). */
  private invalidity(pp: PrePrepareEnvelope): Refusal | null {
    const commands = pp.body.batch.map((r) => r.body.command);
    return (
      checkPrePrepare(this.r.verifier, pp) ??
      (fitsOneBatch(this.r.options.app, commands)
        ? null
        : refuse('batch-too-heavy', 'batch heavier than the application allows'))
    );
  }

  /** PBFT-22 multicast ⟨PREPARE, v, s, d, i⟩σi (PBFT-55: persisted first, never contradicted). */
  sendPrepare(slot: Slot): void {
    const pp = slot.prePrepare as PrePrepareEnvelope;
    const { view, seq, digest } = pp.body;
    const prepare = this.r.votes.sign(
      { kind: 'prepare', view, seq },
      'PREPARE',
      { view, seq, digest },
      this.r.sameDigest(digest),
    );
    if (prepare === null) return;
    slot.prepares.set(this.r.self, prepare as PrepareEnvelope);
    this.r.broadcast(prepare);
  }

  /** PBFT-23 prepared needs q−1 PREPAREs from distinct backups (the primary sends none). */
  onPrepare(from: NodeId, prepare: PrepareEnvelope): void {
    const { view, seq } = prepare.body;
    if (!this.r.acceptsVotes(view) || !this.r.inWindow(seq)) return;
    if (from === primaryOf(this.r.cluster, view)) {
      this.r.reject('PREPARE', from, refuse('vote-from-primary', 'prepare from the primary'));
      return;
    }
    const slot = this.r.log.slot(view, seq);
    const previous = slot.prepares.get(from);
    if (previous !== undefined) {
      if (conflicting(previous, prepare)) this.r.reportEvidence(previous, prepare);
      return;
    }
    slot.prepares.set(from, prepare);
    this.checkSlot(slot);
  }

  /** PBFT-25 committed-local needs q COMMITs from distinct replicas. */
  onCommit(from: NodeId, commit: CommitEnvelope): void {
    const { view, seq } = commit.body;
    if (!this.r.acceptsVotes(view) || !this.r.inWindow(seq)) return;
    const slot = this.r.log.slot(view, seq);
    const previous = slot.commits.get(from);
    if (previous !== undefined) {
      if (conflicting(previous, commit)) this.r.reportEvidence(previous, commit);
      return;
    }
    slot.commits.set(from, commit);
    this.checkSlot(slot);
  }

  /**
   * PBFT-23  prepared(B, v, s, i) := accepted pre-prepare + q−1 matching PREPAREs from backups
   * PBFT-24  when prepared first holds, in the normal case of v: multicast COMMIT.
   * PBFT-25  committed-local(B, v, s, i) := prepared + q matching COMMITs, own included
   * PBFT-26  when committed-local first holds: B is committed at s.
   */
  checkSlot(slot: Slot): void {
    const pp = slot.prePrepare;
    if (pp === null) return;
    const q = this.r.cluster.quorum;
    if (!slot.prepared) {
      const prepares = this.r.log.matchingPrepares(slot, primaryOf(this.r.cluster, slot.view));
      if (prepares.length < q - 1) return;
      slot.prepared = true;
      if (slot.view === this.r.view && this.r.normal) this.sendCommit(slot, prepares);
    }
    if (!slot.committed) {
      const commits = this.r.log.matchingCommits(slot);
      if (commits.length < q) return;
      slot.committed = true;
      this.onCommitted(slot, commits.slice(0, q));
    }
  }

  /**
   * PBFT-24 multicast ⟨COMMIT, v, s, d, i⟩σi.
   * PBFT-56 when a replica sends its COMMIT it persists the prepared certificate.
   */
  private sendCommit(slot: Slot, prepares: PrepareEnvelope[]): void {
    const pp = slot.prePrepare as PrePrepareEnvelope;
    const { view, seq, digest } = pp.body;
    const voteSlot = { kind: 'commit', view, seq } as const;
    if (this.r.votes.get(voteSlot) === undefined) {
      const cert: PreparedCertificate = { prePrepare: pp, prepares };
      this.r.votes.keepCertificate(cert);
    }
    const commit = this.r.votes.sign(
      voteSlot,
      'COMMIT',
      { view, seq, digest },
      this.r.sameDigest(digest),
    );
    if (commit === null) return;
    slot.commits.set(this.r.self, commit as CommitEnvelope);
    this.r.broadcast(commit);
  }

  /** PBFT-26 B is committed at s: on disk with its certificate, then executed in order. */
  private onCommitted(slot: Slot, commits: CommitEnvelope[]): void {
    const pp = slot.prePrepare as PrePrepareEnvelope;
    const { view, seq, digest } = pp.body;
    this.r.ctx.note('commit', { view, seq, digest });
    if (!this.committed.has(seq) && seq > this.r.lastExecuted) {
      this.commit({ prePrepare: pp, commits });
    }
    this.executeReady();
  }

  /** PBFT-26, PBFT-51: a batch known committed, by its certificate — on disk before it executes. */
  commit(certificate: CommitCertificate): void {
    const batch = committedBatch(certificate);
    this.committed.set(batch.seq, batch);
    if (!this.r.options.unsafeVolatileState) persistBatch(this.r.ctx, batch.seq, certificate);
  }

  /** PBFT-33: the committed batches up to `seq` are covered by a stable checkpoint. */
  forgetCommitted(seq: number): void {
    for (const s of [...this.committed.keys()]) {
      if (s > seq) continue;
      this.committed.delete(s);
      persistBatch(this.r.ctx, s, null);
    }
  }

  /** PBFT-27 execute committed batches strictly in order of s, without gaps. */
  executeReady(): void {
    const before = this.r.lastExecuted;
    for (;;) {
      const next = this.r.lastExecuted + 1;
      if (next <= this.r.h) break; // we lack the state at the stable checkpoint: fetching it
      const batch = this.committed.get(next);
      if (batch === undefined) break;
      this.execute(batch);
    }
    // The pipeline drained a little: what waited for it can be proposed (maxInFlight).
    if (this.r.lastExecuted > before && this.r.options.maxInFlight > 0) this.r.proposer.cut(false);
  }

  /**
   * PBFT-28  if t is new for c: execute op, giving r; cache (t, r) as c's last reply;
   *          send ⟨REPLY, v, t, c, i, r⟩σi to c.
   * PBFT-29  if t is c's last executed request: re-send the cached reply; otherwise skip it.
   * PBFT-30  the pending request of c is done; the request timer restarts if others wait.
   * PBFT-31  after executing s with s mod K = 0: checkpoint.  LD-26: report progress.
   */
  private execute(committed: CommittedBatch): void {
    const fresh: RequestEnvelope[] = [];
    /** Clients with a request executed in this batch: their reply goes out after execution. */
    const inBatch = new Set<NodeId>();
    for (const request of committed.batch) {
      const { client, timestamp } = request.body;
      const verdict = this.r.sessions.check(client, timestamp);
      if (verdict.kind === 'new') {
        fresh.push(request);
        inBatch.add(client);
        // Recorded now (its result comes below), so that a copy later in the same batch is a
        // duplicate and is not executed twice.
        this.r.sessions.record(client, timestamp, null);
      } else if (verdict.kind === 'duplicate' && !inBatch.has(client)) {
        this.sendReply(client, timestamp, verdict.result);
      }
      this.clearPending(client, timestamp);
    }
    const requests: AppRequest[] = fresh.map((r) => ({
      client: r.body.client,
      command: r.body.command,
    }));
    const results = this.r.app.executeBatch(requests, committed.view, committed.seq);
    const executed: Json[] = [];
    fresh.forEach((request, i) => {
      const { client, timestamp } = request.body;
      const result = results[i] ?? null;
      this.r.sessions.record(client, timestamp, result);
      executed.push([client, timestamp]);
      this.sendReply(client, timestamp, result);
    });
    this.r.lastExecuted = committed.seq;
    this.r.ctx.note('execute', {
      seq: committed.seq,
      digest: committed.digest,
      requests: executed,
    });
    if (this.r.normal) this.r.detector.progress();
    if (committed.seq % this.r.options.checkpointInterval === 0)
      this.r.checkpoints.take(committed.seq);
    this.armRequestTimer(false);
  }

  private clearPending(client: NodeId, timestamp: number): void {
    this.r.proposer.dequeue(client, timestamp);
    const pending = this.pending.get(client);
    if (pending !== undefined && pending.body.timestamp <= timestamp) this.pending.delete(client);
  }

  /** PBFT-51, PBFT-30: requests a transferred state already holds are no longer pending. */
  dropExecuted(): void {
    for (const [client, request] of [...this.pending]) {
      if (this.r.sessions.check(client, request.body.timestamp).kind !== 'new') {
        this.pending.delete(client);
      }
    }
  }

  /** PBFT-28 ⟨REPLY, v, t, c, i, r⟩σi. */
  sendReply(client: NodeId, timestamp: number, result: Json): void {
    const reply = this.r.ctx.sign('REPLY', {
      view: this.r.view,
      timestamp,
      client,
      replica: this.r.self,
      result,
    });
    this.r.ctx.send(client, reply);
  }

  /**
   * PBFT-11, PBFT-30: the request timer runs at a backup while it has a request not executed.
   * It waits for one request (`awaited`): only when that one is executed (its client has
   * nothing pending any more) does it restart, for the oldest request still pending
   * (`pending` keeps arrival order). `restart`: a new view, every wait starts over.
   */
  armRequestTimer(restart: boolean): void {
    if (this.pending.size === 0 || !this.r.normal || this.r.isPrimary) {
      if (this.awaited !== null) {
        this.awaited = null;
        this.r.ctx.cancelTimer(TIMER.request);
      }
      return;
    }
    const waiting = this.awaited !== null && this.pending.has(this.awaited);
    if (!waiting || restart) {
      this.awaited = this.pending.keys().next().value as NodeId;
      this.r.ctx.setTimer(TIMER.request, this.r.detector.timeoutMs());
    }
  }

  /**
   * PBFT-35 backup, when its request timer fires while a request is pending, Complains about
   *         primary(v) — its VIEW-CHANGE for v+1.
   */
  onRequestTimer(): void {
    this.awaited = null;
    if (this.r.normal && !this.r.isPrimary && this.pending.size > 0) {
      this.r.complain(this.r.primary);
    }
  }
}
