/**
 * A PBFT replica (docs/reference/pbft.md) whose primary comes from the Byzantine eventual leader
 * detector (docs/reference/leader-detector.md): a complaint is the signed VIEW-CHANGE for the next
 * view, f+1 of them make a replica join, q of them depose the primary and are the V of the new
 * primary's NEW-VIEW. Sans-IO: every effect goes through the Context.
 *
 * Section map (see README.md for the pseudocode side by side):
 *   normal case ........ onClientRequest, cutBatches/propose, onPrePrepare, onPrepare, onCommit,
 *                        checkSlot (prepared / committed-local), executeReady/execute
 *   checkpoints ........ takeCheckpoint, onCheckpoint, stabilize (garbage collection)
 *   view change ........ complainHook (VIEW-CHANGE), onViewChange, trustHook, buildNewView,
 *                        onNewView, enterView
 *   state transfer ..... fetchState, onFetchState, onState, install
 *   recovery ........... start(recovered), signVote (persist before send, never contradict)
 */
import type { ClusterView } from '../core/cluster-view.js';
import { wasAdmitted } from '../core/envelope.js';
import type { Envelope } from '../core/envelope-types.js';
import type { Json } from '../core/json.js';
import { own } from '../core/own.js';
import type { Context, NodeId, Protocol, Recovered } from '../core/protocol.js';
import {
  type AppDefinition,
  type AppRequest,
  commandWeight,
  fitsOneBatch,
  type ReplicatedApp,
} from '../smr/app.js';
import { kvApp } from '../smr/kv.js';
import { SessionTable } from '../smr/sessions.js';
import {
  checkCommitCertificate,
  checkPrePrepare,
  primaryOf,
  type Verifier,
} from './certificates.js';
import { digestOf } from './digest.js';
import { loadDurableState, persistBatch, persistSnapshot } from './durable.js';
import { conflicting, type Evidence, equivocation, evidenceJson } from './evidence.js';
import { LeaderDetector } from './leader-detector.js';
import { MessageLog, type Slot } from './log.js';
import {
  type CheckpointBody,
  type CheckpointEnvelope,
  type CommitCertificate,
  type CommitEnvelope,
  type EvidenceBody,
  type FetchStateBody,
  type NewViewEnvelope,
  type PbftKind,
  type PrePrepareEnvelope,
  type PreparedCertificate,
  type PrepareEnvelope,
  pbftSchemas,
  type RequestEnvelope,
  type Snapshot,
  type StateBody,
  type ViewChangeEnvelope,
} from './messages.js';
import {
  checkStateCheckpoint,
  restoreSnapshot,
  stateDigestOf,
  takeSnapshot,
} from './state-transfer.js';
import {
  checkNewView,
  type NewViewPlan,
  selectViewChanges,
  type ViewChangeRules,
  viewChangeRules,
} from './view-change.js';

export interface PbftOptions {
  /** Most requests per PRE-PREPARE. */
  readonly batchSize: number;
  /** How long the primary waits for a batch to fill (0: propose at once). */
  readonly batchTimeoutMs: number;
  /**
   * Propose a partial batch at once while fewer than this many of the primary's batches are
   * proposed but not executed (0: off — a batch waits until it is full or its timer fires).
   * Requests that arrive while the pipeline is busy accumulate into the next batch, so a
   * lone request is not held back by the batch timer and a busy primary still batches.
   */
  readonly maxInFlight: number;
  /** K: a checkpoint every K sequence numbers. */
  readonly checkpointInterval: number;
  /** L: sequence numbers s with h < s ≤ h + L are accepted. */
  readonly watermarkWindow: number;
  /** Base of the request / view-change timeout (doubles with every view change in a row). */
  readonly viewChangeTimeoutMs: number;
  /** Deliberately unsafe: accept a NEW-VIEW's O without recomputing it from V. */
  readonly unsafeSkipNewViewCheck: boolean;
  /**
   * Which VIEW-CHANGEs to accept and how O follows from V (src/pbft/view-change.ts): the
   * project's own unless the lab `pbft-view-change` plugs in a student's.
   */
  readonly viewChangeRules: ViewChangeRules;
  /**
   * Deliberately unsafe (a negative control): keep the state in memory only — no snapshot and
   * no committed batch on disk — and after a restart take the initial state for the state at
   * the stable checkpoint, as a replica that never made its state durable would.
   */
  readonly unsafeVolatileState: boolean;
  /** The replicated application (smr/app.ts). */
  readonly app: AppDefinition;
}

export const DEFAULT_PBFT_OPTIONS: PbftOptions = {
  batchSize: 8,
  batchTimeoutMs: 5,
  maxInFlight: 0,
  checkpointInterval: 16,
  watermarkWindow: 64,
  viewChangeTimeoutMs: 500,
  unsafeSkipNewViewCheck: false,
  viewChangeRules,
  unsafeVolatileState: false,
  app: kvApp,
};

/**
 * Why a checkpoint interval K and watermark window L do not go together (null: they do).
 * L ≥ 2K: a backup takes sequence numbers up to h + L, and the primary, whose checkpoint at
 * h + K became stable a little earlier, proposes up to h + K + L. With L = K the primary's
 * next PRE-PREPARE is above the window of every backup that has not yet collected q
 * CHECKPOINTs for h + K, is dropped there, and nearly every checkpoint costs a view change;
 * with L ≥ 2K the primary must first propose K more batches, time in which the CHECKPOINTs
 * arrive.
 */
export function watermarkProblem(
  checkpointInterval: number,
  watermarkWindow: number,
): string | null {
  if (watermarkWindow >= 2 * checkpointInterval) return null;
  return `watermarkWindow (L = ${watermarkWindow}) must be at least twice checkpointInterval (K = ${checkpointInterval}): with L < 2K a backup that has not yet seen the checkpoint at h + K become stable drops the primary's next PRE-PREPARE, and a view change follows at nearly every checkpoint`;
}

const TIMER_REQUEST = 'request';
const TIMER_VIEW_CHANGE = 'view-change';
const TIMER_BATCH = 'batch';
const TIMER_FETCH = 'fetch';
const MAX_FETCH_ATTEMPTS = 8;
const MAX_EVIDENCE = 64;

/** A batch known committed (committed-local here, or proven by a certificate in STATE). */
interface CommittedBatch {
  readonly view: number;
  readonly seq: number;
  readonly digest: string;
  readonly batch: readonly RequestEnvelope[];
  readonly certificate: CommitCertificate;
}

interface StableCheckpoint {
  readonly seq: number;
  readonly stateDigest: string;
  readonly proof: readonly CheckpointEnvelope[];
}

function asJson(value: unknown): Json {
  return value as Json;
}

export class PbftReplica implements Protocol<unknown> {
  private readonly cluster: ClusterView;
  private readonly self: NodeId;
  private readonly options: PbftOptions;
  private readonly verifier: Verifier;
  private readonly detector: LeaderDetector<ViewChangeEnvelope>;

  /** The view this replica last entered (by NEW-VIEW, or 0). */
  private view = 0;
  private readonly log = new MessageLog();
  private readonly committed = new Map<number, CommittedBatch>();
  private readonly app: ReplicatedApp;
  private readonly messages: Readonly<
    Record<string, { safeParse(v: unknown): { success: boolean } }>
  >;
  private sessions = new SessionTable<Json>();
  private lastExecuted = 0;
  /** Primary: the highest sequence number it assigned in this view. */
  private lastAssigned = 0;

  /** Stable checkpoint: low watermark h = stable.seq. */
  private stable: StableCheckpoint;
  /** Our state at the stable checkpoint (null while we lack it: state transfer pending). */
  private stableSnapshot: Snapshot | null;
  /** The initial state: the implicit stable checkpoint at sequence number 0. */
  private readonly genesis: { snapshot: Snapshot; stateDigest: string };
  private readonly ownCheckpoints = new Map<number, { stateDigest: string; snapshot: Snapshot }>();
  private readonly checkpointVotes = new Map<number, Map<NodeId, CheckpointEnvelope>>();
  private readonly latestCheckpoint = new Map<NodeId, number>();

  /** Per client, its latest request not executed yet (what the request timer waits for). */
  private readonly pending = new Map<NodeId, RequestEnvelope>();
  /** Primary: requests waiting for a batch, at most one per client. */
  private queue: RequestEnvelope[] = [];
  /** Primary: client:timestamp of the requests in batches proposed in this view. */
  private readonly proposed = new Set<string>();
  private batchTimerArmed = false;
  private cutting = false;
  /**
   * The client whose pending request the request timer waits for (null: timer not running).
   * Castro–Liskov: the timer is stopped only when that request executes, and then restarted
   * for the oldest request still pending — not whenever any request executes, or a primary
   * that serves everyone else promptly could starve one client forever.
   */
  private awaited: NodeId | null = null;

  /** Every vote this replica signed and persisted, by slot ('prepare/3/17', 'vc/4', …). */
  private readonly myVotes = new Map<string, Envelope>();
  /** Persisted prepared certificates (keys 'cert/v/s'), so GC can delete them. */
  private readonly certKeys = new Set<string>();

  /** The first VIEW-CHANGE seen per (sender, view), to catch two different ones. */
  private readonly viewChangesSeen = new Map<string, ViewChangeEnvelope>();
  private newViewMessage: NewViewEnvelope | null = null;
  private readonly helped = new Set<string>();
  private adopting = false;

  private fetchTarget = 0;
  private fetchAttempts = 0;
  private fetching = false;
  private readonly lastServed = new Map<NodeId, number>();

  /** Rejected inputs by reason. */
  readonly rejected = new Map<string, number>();
  /** Transferable evidence gathered so far (bounded). */
  readonly evidence: Evidence[] = [];

  constructor(
    private readonly ctx: Context,
    options: Partial<PbftOptions> = {},
  ) {
    this.cluster = ctx.cluster;
    this.self = ctx.self;
    this.options = { ...DEFAULT_PBFT_OPTIONS, ...options };
    const problem = watermarkProblem(this.options.checkpointInterval, this.options.watermarkWindow);
    if (problem !== null) throw new Error(problem);
    this.app = this.options.app.create(ctx);
    this.messages = { ...pbftSchemas(this.options.app).messages, ...this.options.app.messages };
    const snapshot = takeSnapshot(this.app, this.sessions);
    this.genesis = { snapshot, stateDigest: stateDigestOf(snapshot) };
    this.stable = { seq: 0, stateDigest: this.genesis.stateDigest, proof: [] };
    this.stableSnapshot = snapshot;
    this.verifier = {
      cluster: this.cluster,
      verify: (m) => ctx.verify(m),
      window: this.options.watermarkWindow,
    };
    this.detector = new LeaderDetector<ViewChangeEnvelope>(
      {
        self: this.self,
        replicas: this.cluster.replicas,
        f: this.cluster.f,
        quorum: this.cluster.quorum,
        baseTimeoutMs: this.options.viewChangeTimeoutMs,
      },
      {
        complain: (round) => this.complainHook(round),
        trust: (leader, round) => this.trustHook(leader, round),
      },
    );
  }

  // ─── introspection (tests, status pages) ──────────────────────────────────────────────────

  get currentView(): number {
    return this.view;
  }
  get round(): number {
    return this.detector.round;
  }
  get executed(): number {
    return this.lastExecuted;
  }
  get lowWatermark(): number {
    return this.stable.seq;
  }
  get logSize(): number {
    return this.log.size;
  }
  get inViewChange(): boolean {
    return !this.normal;
  }
  /** The application's state as its snapshot (canonical JSON). */
  appState(): Json {
    return this.app.snapshot();
  }

  // ─── helpers ──────────────────────────────────────────────────────────────────────────────

  private get normal(): boolean {
    return this.detector.round === this.view && !this.detector.complained;
  }
  private get primary(): NodeId {
    return primaryOf(this.cluster, this.view);
  }
  private get isPrimary(): boolean {
    return this.primary === this.self;
  }
  private get h(): number {
    return this.stable.seq;
  }
  private inWindow(seq: number): boolean {
    return seq > this.h && seq <= this.h + this.options.watermarkWindow;
  }
  private isReplica(id: NodeId): boolean {
    return this.cluster.replicas.includes(id);
  }
  /** PREPARE/COMMIT are taken for the current view, and buffered for views being entered. */
  private acceptsVotes(view: number): boolean {
    if (view === this.view) return this.normal;
    return view > this.view && view <= this.detector.round + 1;
  }

  /** Count and note an input refused as invalid (a sign of a faulty or Byzantine sender). */
  private reject(kind: string, from: NodeId, reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
    this.ctx.note('reject', { kind, from, reason });
  }

  /** Count an input ignored as out of date or out of reach (normal for a lagging replica). */
  private drop(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  private broadcast(message: Envelope): void {
    this.ctx.broadcast(message, { includeSelf: false });
  }

  /**
   * Sign a vote for a slot — persisted before it is sent (the host makes a step's persists
   * durable before its sends leave). A replica never signs two different votes for one slot,
   * across restarts too: if it already voted there, the old vote is returned when it says the
   * same (`same`), and null (refusal) when it would contradict it.
   */
  private signVote<K extends string, B extends Json>(
    slot: string,
    kind: K,
    body: B,
    same: (previous: Envelope) => boolean,
  ): Envelope<K, B> | null {
    const previous = this.myVotes.get(slot);
    if (previous !== undefined) {
      if (same(previous)) return previous as Envelope<K, B>;
      this.reject(kind, this.self, 'refused to contradict an earlier vote');
      return null;
    }
    const vote = this.ctx.sign(kind, body);
    this.myVotes.set(slot, vote);
    this.ctx.persist(`vote/${slot}`, asJson(vote));
    return vote;
  }

  private forgetVote(slot: string): void {
    if (this.myVotes.delete(slot)) this.ctx.persist(`vote/${slot}`, null);
  }

  private sameDigest(digest: string): (previous: Envelope) => boolean {
    return (previous) => (previous.body as { digest?: string }).digest === digest;
  }

  private reportEvidence(a: Envelope, b: Envelope): void {
    const evidence = equivocation(a, b);
    if (this.evidence.length < MAX_EVIDENCE) this.evidence.push(evidence);
    this.ctx.note('evidence', evidenceJson(evidence));
    // Proof that the primary misbehaved: complain at once (docs/reference/leader-detector.md) and,
    // since the proof is transferable, hand it to the others so that they need not wait for
    // their timers. An equivocating primary shows each replica only one of its proposals,
    // and one complaint alone (f+1 are needed) does not move anyone else.
    if (!this.detector.complain(a.from)) return;
    if (a.kind === 'PRE-PREPARE')
      this.ctx.broadcast(this.ctx.sign('EVIDENCE', { a, b } as unknown as Json), {
        includeSelf: false,
      });
  }

  /** A peer's proof that the primary equivocated: checked here, signatures included. */
  private onEvidence(from: NodeId, { a, b }: EvidenceBody): void {
    if (a.from !== this.detector.leader || this.detector.complained) return;
    if (!conflicting(a, b) || !this.verifier.verify(a) || !this.verifier.verify(b)) {
      this.reject('EVIDENCE', from, 'not two conflicting pre-prepares signed by the primary');
      return;
    }
    this.reportEvidence(a, b);
  }

  // ─── events ───────────────────────────────────────────────────────────────────────────────

  start(recovered: Recovered | null): void {
    if (recovered !== null) this.recover(recovered);
    this.ctx.note('start', { recovered: recovered !== null });
    this.ctx.note('view', { view: this.view, primary: this.primary });
    if (recovered === null) return;
    this.restoreState(recovered);
    // Whatever the others did meanwhile (or what we lack: a stable state from elsewhere).
    this.fetchState(Math.max(1, this.h, this.lastExecuted));
  }

  onRequest(_request: unknown): void {
    // Replicas take requests from clients over the network only.
  }

  onMessage(from: NodeId, message: Envelope): void {
    if (message.from !== from) {
      this.reject(message.kind, from, 'sender does not match the envelope');
      return;
    }
    const schema = own(this.messages, message.kind);
    if (schema === undefined) {
      this.reject(message.kind, from, 'unknown message kind');
      return;
    }
    if (!wasAdmitted(message) && !schema.safeParse(message.body).success) {
      this.reject(message.kind, from, 'malformed body');
      return;
    }
    if (message.kind === 'REQUEST') {
      this.onClientRequest(from, message as RequestEnvelope);
      return;
    }
    if (!this.isReplica(from)) {
      this.reject(message.kind, from, 'replica message from a non-replica');
      return;
    }
    if (own(this.options.app.messages, message.kind) !== undefined) {
      this.app.onMessage?.(from, message);
      return;
    }
    switch (message.kind as PbftKind) {
      case 'PRE-PREPARE':
        this.onPrePrepare(from, message as PrePrepareEnvelope);
        return;
      case 'PREPARE':
        this.onPrepare(from, message as PrepareEnvelope);
        return;
      case 'COMMIT':
        this.onCommit(from, message as CommitEnvelope);
        return;
      case 'CHECKPOINT':
        this.onCheckpoint(from, message as CheckpointEnvelope);
        return;
      case 'VIEW-CHANGE':
        this.onViewChange(from, message as ViewChangeEnvelope);
        return;
      case 'NEW-VIEW':
        this.onNewView(message as NewViewEnvelope);
        return;
      case 'FETCH-STATE':
        this.onFetchState(from, message.body as FetchStateBody);
        return;
      case 'STATE':
        this.onState(from, message.body as StateBody);
        return;
      case 'EVIDENCE':
        this.onEvidence(from, message.body as EvidenceBody);
        return;
      default:
        this.reject(message.kind, from, 'not a message for replicas');
    }
  }

  onTimer(name: string): void {
    switch (name) {
      case TIMER_REQUEST:
        this.awaited = null;
        // A request waited too long: Complain(primary) — our VIEW-CHANGE for view + 1.
        if (this.normal && !this.isPrimary && this.pending.size > 0) {
          this.detector.complain(this.primary);
        }
        return;
      case TIMER_VIEW_CHANGE:
        // Trusted the new primary, but its NEW-VIEW did not come in time: complain about it.
        if (this.detector.round > this.view && !this.detector.complained) {
          this.detector.complain(this.detector.leader);
        }
        return;
      case TIMER_BATCH:
        this.batchTimerArmed = false;
        this.cutBatches(true);
        return;
      case TIMER_FETCH:
        if (this.fetching && this.lastExecuted < this.fetchTarget) {
          if (this.fetchAttempts < MAX_FETCH_ATTEMPTS) {
            this.fetchAttempts++;
            this.sendFetch();
            return;
          }
        }
        this.fetching = false;
        return;
    }
  }

  // ─── normal case ──────────────────────────────────────────────────────────────────────────

  /** ⟨REQUEST, op, t, c⟩σc from the client itself. */
  private onClientRequest(from: NodeId, request: RequestEnvelope): void {
    const { client, timestamp } = request.body;
    if (client !== from || !this.cluster.clients.includes(from)) {
      this.reject('REQUEST', from, 'request not from its client');
      return;
    }
    const verdict = this.sessions.check(client, timestamp);
    if (verdict.kind === 'duplicate') {
      // Exactly-once: an old request gets the cached reply, and is not executed again.
      this.sendReply(client, timestamp, verdict.result);
      return;
    }
    if (verdict.kind === 'stale') return;
    const known = this.pending.get(client);
    if (known !== undefined && known.body.timestamp > timestamp) return;
    if (known === undefined || known.body.timestamp < timestamp) this.pending.set(client, request);
    if (this.normal && this.isPrimary) this.enqueue(request);
    this.armRequestTimer(false);
  }

  private requestKey(request: RequestEnvelope): string {
    return `${request.body.client}:${request.body.timestamp}`;
  }

  private enqueue(request: RequestEnvelope): void {
    if (this.proposed.has(this.requestKey(request))) return;
    const { client, timestamp } = request.body;
    const i = this.queue.findIndex((r) => r.body.client === client);
    const queued = this.queue[i];
    if (queued !== undefined) {
      if (queued.body.timestamp >= timestamp) return;
      this.queue.splice(i, 1);
    }
    this.queue.push(request);
    this.cutBatches(false);
  }

  /** Primary: cut batches from the queue while the window has room. */
  private cutBatches(force: boolean): void {
    if (!this.normal || !this.isPrimary || this.cutting) return;
    const { batchSize, batchTimeoutMs, watermarkWindow, maxInFlight } = this.options;
    this.cutting = true;
    try {
      while (this.queue.length > 0) {
        // Pipeline not full (maxInFlight): a partial batch goes now rather than waiting.
        const idle = maxInFlight > 0 && this.lastAssigned - this.lastExecuted < maxInFlight;
        if (!force && !idle && this.queue.length < batchSize && batchTimeoutMs > 0) break;
        if (this.lastAssigned + 1 > this.h + watermarkWindow) return; // window full: wait for GC
        const batch = this.takeBatch(batchSize).filter(
          (r) => this.sessions.check(r.body.client, r.body.timestamp).kind === 'new',
        );
        if (batch.length > 0) this.propose(batch);
      }
    } finally {
      this.cutting = false;
    }
    if (this.queue.length > 0 && !this.batchTimerArmed) {
      this.batchTimerArmed = true;
      this.ctx.setTimer(TIMER_BATCH, batchTimeoutMs);
    }
  }

  /**
   * Primary: the next batch from the queue — at most `batchSize` requests, and within the
   * application's batch weight (a request too heavy on its own goes alone, and backups will
   * refuse it: no correct client sends one).
   */
  private takeBatch(batchSize: number): RequestEnvelope[] {
    const { app } = this.options;
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

  /** Primary: multicast ⟨PRE-PREPARE, v, s, d = digest(B)⟩σp with B, for s = next number. */
  private propose(batch: RequestEnvelope[]): void {
    const seq = Math.max(this.lastAssigned, this.h) + 1;
    this.lastAssigned = seq;
    const digest = digestOf(batch);
    const slotKey = `pp/${this.view}/${seq}`;
    const pp = this.signVote(
      slotKey,
      'PRE-PREPARE',
      { view: this.view, seq, digest, batch },
      this.sameDigest(digest),
    );
    if (pp === null) {
      // Already proposed something else for (v, s) before a restart: keep to it.
      const previous = this.myVotes.get(slotKey) as PrePrepareEnvelope;
      this.log.slot(this.view, seq).prePrepare = previous;
      this.broadcast(previous);
      this.queue.unshift(...batch);
      return;
    }
    for (const r of batch) this.proposed.add(this.requestKey(r));
    const slot = this.log.slot(this.view, seq);
    slot.prePrepare = pp as PrePrepareEnvelope;
    this.broadcast(pp);
    this.checkSlot(slot);
  }

  /** Backup: accept a pre-prepare, then multicast ⟨PREPARE, v, s, d, i⟩σi. */
  private onPrePrepare(from: NodeId, pp: PrePrepareEnvelope): void {
    const { view, seq } = pp.body;
    if (view !== this.view || !this.normal) {
      this.drop('pre-prepare outside the current view');
      return;
    }
    if (from !== this.primary) {
      this.reject('PRE-PREPARE', from, 'pre-prepare not from the primary');
      return;
    }
    const slot = this.log.get(view, seq);
    if (slot?.prePrepare != null) {
      // No other pre-prepare for (v, s) with a different digest: two are evidence.
      if (conflicting(slot.prePrepare, pp)) this.reportEvidence(slot.prePrepare, pp);
      return;
    }
    if (!this.inWindow(seq)) {
      this.drop('sequence number outside the watermarks');
      return;
    }
    const voted = this.myVotes.get(`prepare/${view}/${seq}`);
    if (voted !== undefined && !this.sameDigest(pp.body.digest)(voted)) {
      // Before a restart we prepared another batch for (v, s): the primary equivocates.
      this.reject('PRE-PREPARE', from, 'refused to contradict an earlier vote');
      return;
    }
    const commands = pp.body.batch.map((r) => r.body.command);
    const reason =
      checkPrePrepare(this.verifier, pp) ??
      (fitsOneBatch(this.options.app, commands)
        ? null
        : 'batch heavier than the application allows');
    if (reason !== null) {
      // The primary signed a proposal no correct primary would: complain at once.
      this.reject('PRE-PREPARE', from, reason);
      this.detector.complain(from);
      return;
    }
    const accepted = this.log.slot(view, seq);
    accepted.prePrepare = pp;
    if (!this.isPrimary) this.sendPrepare(accepted);
    this.checkSlot(accepted);
  }

  private sendPrepare(slot: Slot): void {
    const pp = slot.prePrepare as PrePrepareEnvelope;
    const { view, seq, digest } = pp.body;
    const prepare = this.signVote(
      `prepare/${view}/${seq}`,
      'PREPARE',
      { view, seq, digest },
      this.sameDigest(digest),
    );
    if (prepare === null) return;
    slot.prepares.set(this.self, prepare as PrepareEnvelope);
    this.broadcast(prepare);
  }

  private onPrepare(from: NodeId, prepare: PrepareEnvelope): void {
    const { view, seq } = prepare.body;
    if (!this.acceptsVotes(view) || !this.inWindow(seq)) return;
    if (from === primaryOf(this.cluster, view)) {
      this.reject('PREPARE', from, 'prepare from the primary');
      return;
    }
    const slot = this.log.slot(view, seq);
    const previous = slot.prepares.get(from);
    if (previous !== undefined) {
      if (conflicting(previous, prepare)) this.reportEvidence(previous, prepare);
      return;
    }
    slot.prepares.set(from, prepare);
    this.checkSlot(slot);
  }

  private onCommit(from: NodeId, commit: CommitEnvelope): void {
    const { view, seq } = commit.body;
    if (!this.acceptsVotes(view) || !this.inWindow(seq)) return;
    const slot = this.log.slot(view, seq);
    const previous = slot.commits.get(from);
    if (previous !== undefined) {
      if (conflicting(previous, commit)) this.reportEvidence(previous, commit);
      return;
    }
    slot.commits.set(from, commit);
    this.checkSlot(slot);
  }

  /** prepared → multicast COMMIT; committed-local → execute in order. */
  private checkSlot(slot: Slot): void {
    const pp = slot.prePrepare;
    if (pp === null) return;
    const q = this.cluster.quorum;
    if (!slot.prepared) {
      const prepares = this.log.matchingPrepares(slot, primaryOf(this.cluster, slot.view));
      if (prepares.length < q - 1) return;
      slot.prepared = true;
      if (slot.view === this.view && this.normal) this.sendCommit(slot, prepares);
    }
    if (!slot.committed) {
      const commits = this.log.matchingCommits(slot);
      if (commits.length < q) return;
      slot.committed = true;
      this.onCommitted(slot, commits.slice(0, q));
    }
  }

  private sendCommit(slot: Slot, prepares: PrepareEnvelope[]): void {
    const pp = slot.prePrepare as PrePrepareEnvelope;
    const { view, seq, digest } = pp.body;
    const voteKey = `commit/${view}/${seq}`;
    if (!this.myVotes.has(voteKey)) {
      // The prepared certificate survives a crash: a restarted replica still reports it in P.
      const certKey = `cert/${view}/${seq}`;
      const cert: PreparedCertificate = { prePrepare: pp, prepares };
      this.certKeys.add(certKey);
      this.ctx.persist(certKey, asJson(cert));
    }
    const commit = this.signVote(voteKey, 'COMMIT', { view, seq, digest }, this.sameDigest(digest));
    if (commit === null) return;
    slot.commits.set(this.self, commit as CommitEnvelope);
    this.broadcast(commit);
  }

  private onCommitted(slot: Slot, commits: CommitEnvelope[]): void {
    const pp = slot.prePrepare as PrePrepareEnvelope;
    const { view, seq, digest, batch } = pp.body;
    this.ctx.note('commit', { view, seq, digest });
    if (!this.committed.has(seq) && seq > this.lastExecuted) {
      const certificate = { prePrepare: pp, commits };
      this.committed.set(seq, { view, seq, digest, batch, certificate });
      this.persistCommitted(seq, certificate);
    }
    this.executeReady();
  }

  /** Execute committed batches strictly in sequence order. */
  private executeReady(): void {
    const before = this.lastExecuted;
    for (;;) {
      const next = this.lastExecuted + 1;
      if (next <= this.h) break; // we lack the state at the stable checkpoint: fetching it
      const batch = this.committed.get(next);
      if (batch === undefined) break;
      this.execute(batch);
    }
    // The pipeline drained a little: what waited for it can be proposed (maxInFlight).
    if (this.lastExecuted > before && this.options.maxInFlight > 0) this.cutBatches(false);
  }

  private execute(committed: CommittedBatch): void {
    const fresh: RequestEnvelope[] = [];
    /** Clients with a request executed in this batch: their reply goes out after execution. */
    const inBatch = new Set<NodeId>();
    for (const request of committed.batch) {
      const { client, timestamp } = request.body;
      const verdict = this.sessions.check(client, timestamp);
      if (verdict.kind === 'new') {
        fresh.push(request);
        inBatch.add(client);
        // Recorded now (its result comes below), so that a copy later in the same batch is a
        // duplicate and is not executed twice.
        this.sessions.record(client, timestamp, null);
      } else if (verdict.kind === 'duplicate' && !inBatch.has(client)) {
        this.sendReply(client, timestamp, verdict.result);
      }
      this.clearPending(client, timestamp);
    }
    const requests: AppRequest[] = fresh.map((r) => ({
      client: r.body.client,
      command: r.body.command,
    }));
    const results = this.app.executeBatch(requests, committed.view, committed.seq);
    const executed: Json[] = [];
    fresh.forEach((request, i) => {
      const { client, timestamp } = request.body;
      const result = results[i] ?? null;
      this.sessions.record(client, timestamp, result);
      executed.push([client, timestamp]);
      this.sendReply(client, timestamp, result);
    });
    this.lastExecuted = committed.seq;
    this.ctx.note('execute', {
      seq: committed.seq,
      digest: committed.digest,
      requests: executed,
    });
    if (this.normal) this.detector.progress();
    if (committed.seq % this.options.checkpointInterval === 0) this.takeCheckpoint(committed.seq);
    this.armRequestTimer(false);
  }

  private clearPending(client: NodeId, timestamp: number): void {
    this.queue = this.queue.filter((r) => r.body.client !== client || r.body.timestamp > timestamp);
    const pending = this.pending.get(client);
    if (pending !== undefined && pending.body.timestamp <= timestamp) this.pending.delete(client);
  }

  private sendReply(client: NodeId, timestamp: number, result: Json): void {
    const reply = this.ctx.sign('REPLY', {
      view: this.view,
      timestamp,
      client,
      replica: this.self,
      result,
    });
    this.ctx.send(client, reply);
  }

  /**
   * The request timer runs at a backup while it has a request not executed. It waits for one
   * request (`awaited`): only when that one is executed (its client has nothing pending any
   * more) does it restart, for the oldest request still pending (`pending` keeps arrival
   * order). `restart`: a new view, every wait starts over.
   */
  private armRequestTimer(restart: boolean): void {
    if (this.pending.size === 0 || !this.normal || this.isPrimary) {
      if (this.awaited !== null) {
        this.awaited = null;
        this.ctx.cancelTimer(TIMER_REQUEST);
      }
      return;
    }
    const waiting = this.awaited !== null && this.pending.has(this.awaited);
    if (!waiting || restart) {
      this.awaited = this.pending.keys().next().value as NodeId;
      this.ctx.setTimer(TIMER_REQUEST, this.detector.timeoutMs());
    }
  }

  // ─── checkpoints and garbage collection ───────────────────────────────────────────────────

  /** Every K: multicast ⟨CHECKPOINT, s, digest(state after s), i⟩σi. */
  private takeCheckpoint(seq: number): void {
    if (seq < this.h) return;
    const snapshot = takeSnapshot(this.app, this.sessions);
    const stateDigest = stateDigestOf(snapshot);
    // On disk before CHECKPOINT leaves (same step): a stable checkpoint's snapshot survives.
    this.keepSnapshot(seq, stateDigest, snapshot);
    if (seq === this.h) {
      // We reached the stable checkpoint by executing (after a state transfer of batches).
      if (stateDigest === this.stable.stateDigest) this.stableSnapshot = snapshot;
      return;
    }
    const body: CheckpointBody = { seq, stateDigest };
    const vote = this.signVote(`cp/${seq}`, 'CHECKPOINT', body, (previous) => {
      return (previous.body as CheckpointBody).stateDigest === stateDigest;
    });
    if (vote === null) return;
    this.broadcast(vote);
    this.recordCheckpoint(this.self, vote as CheckpointEnvelope);
  }

  private onCheckpoint(from: NodeId, checkpoint: CheckpointEnvelope): void {
    const { seq } = checkpoint.body;
    if (seq === 0 || seq % this.options.checkpointInterval !== 0) {
      this.reject('CHECKPOINT', from, 'not a checkpoint sequence number');
      return;
    }
    if (seq <= this.h) return;
    this.latestCheckpoint.set(from, Math.max(seq, this.latestCheckpoint.get(from) ?? 0));
    if (seq <= this.h + this.options.watermarkWindow) {
      this.recordCheckpoint(from, checkpoint);
      return;
    }
    // f+1 replicas checkpointed beyond our high watermark: we fell behind, fetch the state.
    const beyond = [...this.latestCheckpoint.values()]
      .filter((s) => s > this.h + this.options.watermarkWindow)
      .sort((a, b) => b - a);
    const target = beyond[this.cluster.f];
    if (target !== undefined) this.fetchState(target);
  }

  private recordCheckpoint(from: NodeId, checkpoint: CheckpointEnvelope): void {
    const { seq, stateDigest } = checkpoint.body;
    let votes = this.checkpointVotes.get(seq);
    if (votes === undefined) {
      votes = new Map();
      this.checkpointVotes.set(seq, votes);
    }
    const previous = votes.get(from);
    if (previous !== undefined) {
      if (conflicting(previous, checkpoint)) this.reportEvidence(previous, checkpoint);
      return;
    }
    votes.set(from, checkpoint);
    const matching = this.cluster.replicas.flatMap((r) => {
      const v = votes.get(r);
      return v !== undefined && v.body.stateDigest === stateDigest ? [v] : [];
    });
    if (matching.length >= this.cluster.quorum) {
      this.stabilize({ seq, stateDigest, proof: matching.slice(0, this.cluster.quorum) });
    }
  }

  /** q matching checkpoints: stable; discard the log up to it, h := s. */
  private stabilize(checkpoint: StableCheckpoint): void {
    const { seq, stateDigest } = checkpoint;
    if (seq <= this.h) return;
    this.stable = checkpoint;
    this.ctx.persist('stable', asJson(checkpoint));
    const own = this.ownCheckpoints.get(seq);
    this.stableSnapshot =
      own !== undefined && own.stateDigest === stateDigest ? own.snapshot : null;
    this.ctx.note('checkpoint', { seq, stateDigest });
    if (this.stableSnapshot === null) {
      if (this.lastExecuted >= seq) this.ctx.note('divergence', { seq, stateDigest });
      this.fetchState(seq);
    }
    // Garbage collection below the stable checkpoint.
    this.log.collectGarbage(seq);
    this.forgetCommitted(seq);
    for (const s of [...this.ownCheckpoints.keys()]) {
      if (s >= seq) continue;
      this.ownCheckpoints.delete(s);
      persistSnapshot(this.ctx, s, null);
    }
    for (const s of [...this.checkpointVotes.keys()]) if (s <= seq) this.checkpointVotes.delete(s);
    for (const slot of [...this.myVotes.keys()]) {
      const parts = slot.split('/');
      const kind = parts[0];
      const s = Number(kind === 'cp' ? parts[1] : parts[2]);
      if ((kind === 'pp' || kind === 'prepare' || kind === 'commit' || kind === 'cp') && s <= seq) {
        this.forgetVote(slot);
      }
    }
    for (const key of [...this.certKeys]) {
      if (Number(key.split('/')[2]) <= seq) {
        this.certKeys.delete(key);
        this.ctx.persist(key, null);
      }
    }
    this.cutBatches(false);
  }

  // ─── view change, driven by the leader detector ───────────────────────────────────────────

  /**
   * Complain about round r = our VIEW-CHANGE for view r+1, carrying C (the stable checkpoint's
   * proof) and P (for each s > h prepared here, its certificate of the highest view).
   */
  private complainHook(round: number): ViewChangeEnvelope {
    const newView = round + 1;
    const slot = `vc/${newView}`;
    let vc = this.myVotes.get(slot) as ViewChangeEnvelope | undefined;
    if (vc === undefined) {
      const body = {
        newView,
        stableSeq: this.h,
        checkpointProof: [...this.stable.proof],
        prepared: this.log.preparedCertificates(
          this.h,
          this.h + this.options.watermarkWindow,
          (v) => primaryOf(this.cluster, v),
        ),
      };
      vc = this.signVote(slot, 'VIEW-CHANGE', body, () => true) as ViewChangeEnvelope;
      for (const other of [...this.myVotes.keys()]) {
        if (other.startsWith('vc/') && Number(other.slice(3)) < newView) this.forgetVote(other);
      }
    }
    this.ctx.note('view-change', { newView, from: this.self });
    this.broadcast(vc);
    this.armRequestTimer(false);
    if (this.batchTimerArmed) {
      this.batchTimerArmed = false;
      this.ctx.cancelTimer(TIMER_BATCH);
    }
    this.ctx.cancelTimer(TIMER_VIEW_CHANGE);
    return vc;
  }

  /** Trust(p) for round w: the new primary builds NEW-VIEW; backups wait for it, with a timer. */
  private trustHook(leader: NodeId, round: number): void {
    this.ctx.note('trust', { round, leader });
    if (this.adopting) return;
    if (leader === this.self) {
      this.buildNewView(round);
      return;
    }
    this.ctx.setTimer(TIMER_VIEW_CHANGE, this.detector.timeoutMs());
  }

  private onViewChange(from: NodeId, vc: ViewChangeEnvelope): void {
    const newView = vc.body.newView;
    if (newView <= this.view) {
      // A replica still in an older view: show it how we got here.
      const key = `${from}/${this.view}`;
      if (newView < this.view && this.newViewMessage !== null && !this.helped.has(key)) {
        this.helped.add(key);
        this.ctx.send(from, this.newViewMessage);
      }
      return;
    }
    const seenKey = `${from}/${newView}`;
    const seen = this.viewChangesSeen.get(seenKey);
    if (seen !== undefined) {
      if (conflicting(seen, vc)) this.reportEvidence(seen, vc);
      return;
    }
    if (newView - 1 < this.detector.round) return; // about a round we already left
    const reason = this.options.viewChangeRules.checkViewChange(this.verifier, vc);
    if (reason !== null) {
      this.reject('VIEW-CHANGE', from, reason);
      return;
    }
    this.viewChangesSeen.set(seenKey, vc);
    this.boundViewChangesSeen(from);
    this.detector.onComplaint(from, newView - 1, vc);
  }

  private boundViewChangesSeen(from: NodeId): void {
    const mine = [...this.viewChangesSeen.keys()]
      .filter((k) => k.startsWith(`${from}/`))
      .sort((a, b) => Number(a.split('/').at(-1)) - Number(b.split('/').at(-1)));
    for (const k of mine.slice(0, Math.max(0, mine.length - 4))) this.viewChangesSeen.delete(k);
  }

  /** New primary: ⟨NEW-VIEW, v+1, V, O⟩ from the q VIEW-CHANGEs that deposed the old one. */
  private buildNewView(view: number): void {
    const slot = `nv/${view}`;
    let nv = this.myVotes.get(slot) as NewViewEnvelope | undefined;
    if (nv === undefined) {
      const viewChanges = selectViewChanges(this.verifier, this.detector.complaintsFor(view - 1));
      if (viewChanges.length < this.cluster.quorum) return;
      const plan = this.options.viewChangeRules.computeNewView(
        view,
        viewChanges.map((vc) => vc.body),
      );
      const prePrepares: PrePrepareEnvelope[] = [];
      for (const entry of plan.entries) {
        const body = { view, seq: entry.seq, digest: entry.digest, batch: [...entry.batch] };
        const pp = this.signVote(
          `pp/${view}/${entry.seq}`,
          'PRE-PREPARE',
          body,
          this.sameDigest(entry.digest),
        );
        if (pp === null) return;
        prePrepares.push(pp as PrePrepareEnvelope);
      }
      nv = this.signVote(slot, 'NEW-VIEW', { view, viewChanges, prePrepares }, () => true) as
        | NewViewEnvelope
        | undefined;
      for (const other of [...this.myVotes.keys()]) {
        if (other.startsWith('nv/') && Number(other.slice(3)) < view) this.forgetVote(other);
      }
    }
    if (nv === undefined) return;
    this.broadcast(nv);
    const plan = this.options.viewChangeRules.computeNewView(
      view,
      nv.body.viewChanges.map((vc) => vc.body),
    );
    this.enterView(nv, plan);
  }

  /** Backup: accept NEW-VIEW only if O recomputed from V matches; otherwise complain. */
  private onNewView(nv: NewViewEnvelope): void {
    const view = nv.body.view;
    const current = this.newViewMessage;
    if (view === this.view && current !== null && conflicting(current, nv)) {
      // Two different NEW-VIEWs of one primary for one view (e.g. twins): evidence.
      if (!this.verifier.verify(nv)) return;
      this.reportEvidence(current, nv);
      return;
    }
    if (view <= this.view || view < this.detector.round) return;
    const verdict = checkNewView(this.verifier, nv, {
      unsafeSkipCheck: this.options.unsafeSkipNewViewCheck,
      rules: this.options.viewChangeRules,
    });
    if (!verdict.ok) {
      this.reject('NEW-VIEW', nv.from, verdict.reason);
      if (view === this.detector.round && nv.from === this.detector.leader) {
        this.detector.complain(nv.from);
      }
      return;
    }
    if (this.detector.round < view) {
      // V proves that q replicas complained about round view−1: move the detector there.
      this.adopting = true;
      try {
        this.detector.onComplaints(
          nv.body.viewChanges.map((vc) => [vc.from, view - 1, vc] as const),
        );
      } finally {
        this.adopting = false;
      }
    }
    if (this.detector.round !== view) {
      this.reject('NEW-VIEW', nv.from, 'new view not reached by the leader detector');
      return;
    }
    this.enterView(nv, verdict.plan);
  }

  private enterView(nv: NewViewEnvelope, plan: NewViewPlan): void {
    const view = plan.view;
    this.view = view;
    this.ctx.persist('view', view);
    this.newViewMessage = nv;
    this.ctx.cancelTimer(TIMER_VIEW_CHANGE);
    this.ctx.note('view', { view, primary: this.primary });
    for (const key of [...this.viewChangesSeen.keys()]) {
      if (Number(key.split('/').at(-1)) <= view) this.viewChangesSeen.delete(key);
    }
    this.helped.clear();

    if (plan.checkpoint !== null && plan.checkpoint.seq > this.h) this.stabilize(plan.checkpoint);
    this.log.compact(view);

    this.proposed.clear();
    this.queue = [];
    this.lastAssigned = Math.max(plan.maxS, this.h);
    const signed = new Map(nv.body.prePrepares.map((pp) => [pp.body.seq, pp]));
    for (const entry of plan.entries) {
      if (!this.inWindow(entry.seq)) continue;
      const pp = signed.get(entry.seq);
      if (pp === undefined) continue;
      const slot = this.log.slot(view, entry.seq);
      slot.prePrepare = pp;
      if (this.isPrimary) {
        for (const r of pp.body.batch) this.proposed.add(this.requestKey(r));
      } else {
        this.sendPrepare(slot);
      }
      this.checkSlot(slot);
    }
    if (this.isPrimary) {
      for (const request of this.pending.values()) this.enqueue(request);
      this.cutBatches(false);
    }
    this.armRequestTimer(true);
  }

  // ─── state transfer ───────────────────────────────────────────────────────────────────────

  private fetchState(target: number): void {
    this.fetchTarget = Math.max(this.fetchTarget, target);
    if (this.fetching) return;
    this.fetching = true;
    this.fetchAttempts = 0;
    this.sendFetch();
  }

  private sendFetch(): void {
    this.broadcast(
      this.ctx.sign('FETCH-STATE', { lastExecuted: this.lastExecuted, view: this.view }),
    );
    this.ctx.setTimer(TIMER_FETCH, this.options.viewChangeTimeoutMs);
  }

  private onFetchState(from: NodeId, request: FetchStateBody): void {
    if (from === this.self) return;
    const now = this.ctx.now();
    const last = this.lastServed.get(from);
    if (last !== undefined && now - last < this.options.viewChangeTimeoutMs / 2) return;
    const theirs = request.lastExecuted;
    let checkpoint: StateBody['checkpoint'] = null;
    if (this.h > theirs && this.stableSnapshot !== null && this.lastExecuted >= this.h) {
      checkpoint = {
        seq: this.h,
        stateDigest: this.stable.stateDigest,
        proof: [...this.stable.proof],
        snapshot: this.stableSnapshot,
      };
    }
    const batches: CommitCertificate[] = [];
    if (checkpoint !== null || theirs >= this.h) {
      const from_ = checkpoint !== null ? this.h : theirs;
      for (let s = from_ + 1; s <= this.lastExecuted; s++) {
        const c = this.committed.get(s);
        if (c === undefined || batches.length >= this.options.watermarkWindow) break;
        batches.push(c.certificate);
      }
    }
    const newView = this.view > request.view ? this.newViewMessage : null;
    if (checkpoint === null && batches.length === 0 && newView === null) return;
    this.lastServed.set(from, now);
    this.ctx.send(from, this.ctx.sign('STATE', asJson({ checkpoint, batches, newView })));
  }

  /** Verify every piece — checkpoint proof, then each batch's commit certificate — then use it. */
  private onState(from: NodeId, state: StateBody): void {
    if (state.newView !== null && state.newView.body.view > this.view) {
      this.onNewView(state.newView);
    }
    const cp = state.checkpoint;
    if (cp !== null && cp.seq > this.lastExecuted && cp.seq >= this.h) {
      const reason = checkStateCheckpoint(this.verifier, cp);
      if (reason !== null) {
        this.reject('STATE', from, reason);
        return;
      }
      this.install(cp);
    }
    for (const certificate of state.batches) {
      const { view, seq, digest, batch } = certificate.prePrepare.body;
      if (seq <= this.lastExecuted) continue;
      if (seq !== this.lastExecuted + 1 || this.lastExecuted < this.h) break;
      const reason = checkCommitCertificate(this.verifier, certificate);
      if (reason !== null) {
        this.reject('STATE', from, `batch ${seq}: ${reason}`);
        return;
      }
      if (!this.committed.has(seq)) {
        this.committed.set(seq, { view, seq, digest, batch, certificate });
        this.persistCommitted(seq, certificate);
        this.ctx.note('commit', { view, seq, digest });
      }
      this.executeReady();
    }
  }

  private install(cp: NonNullable<StateBody['checkpoint']>): void {
    this.sessions = restoreSnapshot(this.app, cp.snapshot);
    this.lastExecuted = cp.seq;
    this.keepSnapshot(cp.seq, cp.stateDigest, cp.snapshot);
    this.ctx.note('state', { seq: cp.seq, stateDigest: cp.stateDigest });
    if (cp.seq > this.h) {
      this.stabilize({ seq: cp.seq, stateDigest: cp.stateDigest, proof: cp.proof });
    } else if (cp.stateDigest === this.stable.stateDigest) {
      this.stableSnapshot = cp.snapshot;
    }
    this.forgetCommitted(cp.seq);
    for (const [client, request] of [...this.pending]) {
      if (this.sessions.check(client, request.body.timestamp).kind !== 'new') {
        this.pending.delete(client);
      }
    }
    this.executeReady();
    this.armRequestTimer(false);
  }

  // ─── durable state (durable.ts) ───────────────────────────────────────────────────────────

  /** Our own state after `seq`: kept for the checkpoint, and on disk in the same step. */
  private keepSnapshot(seq: number, stateDigest: string, snapshot: Snapshot): void {
    this.ownCheckpoints.set(seq, { stateDigest, snapshot });
    if (!this.options.unsafeVolatileState) persistSnapshot(this.ctx, seq, snapshot);
  }

  /** A committed batch goes to disk before it is executed (and anyone is answered). */
  private persistCommitted(seq: number, certificate: CommitCertificate): void {
    if (!this.options.unsafeVolatileState) persistBatch(this.ctx, seq, certificate);
  }

  /** The committed batches up to `seq` are covered by a stable checkpoint: forget them. */
  private forgetCommitted(seq: number): void {
    for (const s of [...this.committed.keys()]) {
      if (s > seq) continue;
      this.committed.delete(s);
      persistBatch(this.ctx, s, null);
    }
  }

  // ─── recovery ─────────────────────────────────────────────────────────────────────────────

  /**
   * The replicated state from disk: the snapshot of the stable checkpoint, then every batch
   * committed after it executed again, in order (replies go out again; the sessions inside
   * the snapshot keep each request applied once). Without the snapshot — the checkpoint became
   * stable here on the others' proof before we had its state — the state comes by transfer.
   */
  private restoreState(recovered: Recovered): void {
    if (this.options.unsafeVolatileState) {
      // The mutant: the initial state stands in for the one at the stable checkpoint.
      this.stableSnapshot = takeSnapshot(this.app, this.sessions);
      this.lastExecuted = this.h;
      this.ctx.note('restore', { seq: this.h, stateDigest: this.stable.stateDigest, batches: 0 });
      return;
    }
    const { snapshots, batches } = loadDurableState(recovered);
    for (const [seq, snapshot] of snapshots) {
      this.ownCheckpoints.set(seq, { stateDigest: stateDigestOf(snapshot), snapshot });
    }
    for (const [seq, certificate] of batches) {
      if (seq <= this.h) continue;
      const { view, digest, batch } = certificate.prePrepare.body;
      this.committed.set(seq, { view, seq, digest, batch, certificate });
    }
    const own = this.h === 0 ? this.genesis : this.ownCheckpoints.get(this.h);
    if (own === undefined || own.stateDigest !== this.stable.stateDigest) return;
    if (this.h > 0) this.sessions = restoreSnapshot(this.app, own.snapshot);
    this.stableSnapshot = own.snapshot;
    this.lastExecuted = this.h;
    this.ctx.note('restore', {
      seq: this.h,
      stateDigest: own.stateDigest,
      batches: this.committed.size,
    });
    this.executeReady();
  }

  /**
   * Restart: the persisted votes come back, so this replica never signs a different digest
   * for a slot it voted on; its prepared certificates and stable checkpoint come back so its
   * next VIEW-CHANGE still reports them; the state comes from disk (`restoreState`).
   */
  private recover(recovered: Recovered): void {
    const certs: PreparedCertificate[] = [];
    for (const [key, value] of recovered) {
      if (key === 'view' && typeof value === 'number') this.view = value;
      else if (key === 'stable') this.stable = value as unknown as StableCheckpoint;
      else if (key.startsWith('vote/'))
        this.myVotes.set(key.slice(5), value as unknown as Envelope);
      else if (key.startsWith('cert/')) {
        this.certKeys.add(key);
        certs.push(value as unknown as PreparedCertificate);
      }
    }
    this.stableSnapshot = this.stable.seq === 0 ? this.genesis.snapshot : null;
    this.lastExecuted = 0;
    // The highest VIEW-CHANGE we signed: we complained about round newView−1.
    let complaint: ViewChangeEnvelope | null = null;
    for (const [slot, vote] of this.myVotes) {
      if (!slot.startsWith('vc/')) continue;
      const vc = vote as ViewChangeEnvelope;
      if (complaint === null || vc.body.newView > complaint.body.newView) complaint = vc;
    }
    if (complaint !== null && complaint.body.newView > this.view) {
      this.detector.restore(complaint.body.newView - 1, complaint);
      this.broadcast(complaint);
    } else {
      this.detector.restore(this.view, null);
    }
    for (const [slot, vote] of this.myVotes) {
      const [kind, v, s] = slot.split('/');
      if (kind === 'pp' && Number(v) === this.view && vote !== undefined) {
        this.lastAssigned = Math.max(this.lastAssigned, Number(s));
      }
    }
    this.lastAssigned = Math.max(this.lastAssigned, this.h);
    for (const cert of certs) {
      const { view, seq } = cert.prePrepare.body;
      if (seq <= this.h) continue;
      const slot = this.log.slot(view, seq);
      slot.prePrepare = cert.prePrepare;
      for (const p of cert.prepares) slot.prepares.set(p.from, p);
      slot.prepared = true;
      const commit = this.myVotes.get(`commit/${view}/${seq}`);
      if (commit !== undefined) slot.commits.set(this.self, commit as CommitEnvelope);
    }
  }
}
