/**
 * A PBFT replica (docs/reference/pbft.md) whose primary comes from the Byzantine eventual leader
 * detector (docs/reference/leader-detector.md): a complaint is the signed VIEW-CHANGE for the next
 * view, f+1 of them make a replica join, q of them depose the primary and are the V of the new
 * primary's NEW-VIEW. Sans-IO: every effect goes through the Context.
 *
 * This class holds what the parts share — the view and the replica's status, the message log,
 * the executed state — and routes each event to the part of the paper it belongs to:
 *
 *   normal-case.ts ............. requests, PRE-PREPARE / PREPARE / COMMIT, prepared,
 *                                committed-local, execution in order, replies, request timer
 *   proposer.ts ................ the primary's batches and its PRE-PREPAREs
 *   checkpoints.ts ............. CHECKPOINT, stable checkpoints, garbage collection
 *   view-change-protocol.ts .... VIEW-CHANGE (the complaint), Trust, NEW-VIEW, entering a view
 *   state-transfer.ts .......... FETCH-STATE, STATE, installing a checkpoint
 *   votes.ts ................... own votes and prepared certificates, persisted before sent
 *   recovery.ts ................ the store read back (parsed) after a restart
 *
 * The leader detector never calls back: it returns its decisions (Complain, Trust) and the
 * replica acts on each in turn (`follow`).
 */
import type { ClusterView } from '../core/cluster-view.js';
import { wasAdmitted } from '../core/envelope.js';
import type { Envelope } from '../core/envelope-types.js';
import { own } from '../core/own.js';
import type { Context, NodeId, Protocol, Recovered } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import type { ReplicatedApp } from '../smr/app.js';
import { SessionTable } from '../smr/sessions.js';
import { primaryOf, type Verifier } from './certificates.js';
import { CheckpointTracker } from './checkpoints.js';
import { conflicting, type Evidence, equivocation, evidenceJson } from './evidence.js';
import { type Decision, LeaderDetector } from './leader-detector.js';
import { MessageLog } from './log.js';
import {
  type CheckpointEnvelope,
  type CommitEnvelope,
  type EvidenceBody,
  type FetchStateBody,
  type NewViewEnvelope,
  type PbftKind,
  type PbftSchemas,
  type PrePrepareEnvelope,
  type PrepareEnvelope,
  pbftSchemas,
  type RequestEnvelope,
  type StateBody,
  type ViewChangeEnvelope,
} from './messages.js';
import { NormalCase } from './normal-case.js';
import { DEFAULT_PBFT_OPTIONS, type PbftOptions, TIMER, watermarkProblem } from './options.js';
import { Proposer } from './proposer.js';
import { parseRecovered, recover, restoreState } from './recovery.js';
import { type Refusal, type RefusalCode, refuse } from './refusal.js';
import { StateTransfer } from './state-transfer.js';
import { ViewChangeProtocol } from './view-change-protocol.js';
import { VoteStore } from './votes.js';

export { DEFAULT_PBFT_OPTIONS, type PbftOptions, watermarkProblem } from './options.js';

/**
 * Where a replica stands in its view (LD-20, PBFT-36, PBFT-47):
 * - `normal`: it entered view v, the detector's round is v, and it has not complained;
 * - `view-change`: it complained about the primary of its round (sent its VIEW-CHANGE) and
 *   takes no normal-case messages of that view until the detector moves on;
 * - `awaiting-new-view`: the detector moved to a round above the view and trusts its leader;
 *   the replica waits for (or, as that leader, builds) the NEW-VIEW.
 */
export type ReplicaStatus = 'normal' | 'view-change' | 'awaiting-new-view';

const MAX_EVIDENCE = 64;

export class PbftReplica implements Protocol<unknown> {
  // The fields below are shared with the parts of the replica in this folder (not an API).
  readonly cluster: ClusterView;
  readonly self: NodeId;
  readonly options: PbftOptions;
  readonly verifier: Verifier;
  readonly detector: LeaderDetector<ViewChangeEnvelope>;
  readonly schemas: PbftSchemas;
  readonly app: ReplicatedApp;
  readonly log = new MessageLog();
  readonly votes: VoteStore;
  readonly checkpoints: CheckpointTracker;
  readonly normalCase: NormalCase;
  readonly proposer: Proposer;
  readonly viewChange: ViewChangeProtocol;
  readonly transfer: StateTransfer;
  private readonly messages: Readonly<
    Record<string, { safeParse(v: unknown): { success: boolean } }>
  >;

  /** The view this replica last entered (by NEW-VIEW, or 0). */
  view = 0;
  /** Set at each decision of the detector and on entering a view (see ReplicaStatus). */
  status: ReplicaStatus = 'normal';
  sessions = new SessionTable<Json>();
  lastExecuted = 0;

  /** Rejected inputs by reason. */
  readonly rejected = new Map<RefusalCode, number>();
  readonly dropped = new Map<string, number>();
  /** Transferable evidence gathered so far (bounded). */
  readonly evidence: Evidence[] = [];

  constructor(
    readonly ctx: Context,
    options: Partial<PbftOptions> = {},
  ) {
    this.cluster = ctx.cluster;
    this.self = ctx.self;
    this.options = { ...DEFAULT_PBFT_OPTIONS, ...options };
    const problem = watermarkProblem(this.options.checkpointInterval, this.options.watermarkWindow);
    if (problem !== null) throw new Error(problem);
    this.app = this.options.app.create(ctx);
    this.schemas = pbftSchemas(this.options.app);
    this.messages = { ...this.schemas.messages, ...this.options.app.messages };
    this.verifier = {
      cluster: this.cluster,
      verify: (m) => ctx.verify(m),
      window: this.options.watermarkWindow,
    };
    this.detector = new LeaderDetector<ViewChangeEnvelope>({
      self: this.self,
      replicas: this.cluster.replicas,
      f: this.cluster.f,
      quorum: this.cluster.quorum,
      baseTimeoutMs: this.options.viewChangeTimeoutMs,
    });
    this.votes = new VoteStore(ctx, (kind) =>
      this.reject(
        kind,
        this.self,
        refuse('contradicts-own-vote', 'refused to contradict an earlier vote'),
      ),
    );
    this.checkpoints = new CheckpointTracker(this);
    this.normalCase = new NormalCase(this);
    this.proposer = new Proposer(this);
    this.viewChange = new ViewChangeProtocol(this);
    this.transfer = new StateTransfer(this);
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
    return this.h;
  }
  get logSize(): number {
    return this.log.size;
  }
  get inViewChange(): boolean {
    return this.status !== 'normal';
  }
  /** The application's state as its snapshot (canonical JSON). */
  appState(): Json {
    return this.app.snapshot();
  }

  // ─── shared helpers ───────────────────────────────────────────────────────────────────────

  /** LD-20: in the normal case of its view. */
  get normal(): boolean {
    return this.status === 'normal';
  }
  /** PBFT-3: primary(v) := replicas[v mod n]. */
  get primary(): NodeId {
    return primaryOf(this.cluster, this.view);
  }
  get isPrimary(): boolean {
    return this.primary === this.self;
  }
  /** The low watermark: the stable checkpoint's sequence number. */
  get h(): number {
    return this.checkpoints.stable.seq;
  }
  /** PBFT-19: h < s ≤ h+L (the watermarks). */
  inWindow(seq: number): boolean {
    return seq > this.h && seq <= this.h + this.options.watermarkWindow;
  }
  /**
   * PBFT-17, PBFT-24: votes of the current view count in the normal case only (LD-20); those
   * of a view being entered are buffered, so that entering it finds them.
   */
  acceptsVotes(view: number): boolean {
    if (view === this.view) return this.normal;
    return view > this.view && view <= this.detector.round + 1;
  }

  /** Count and note an input refused as invalid (a sign of a faulty or Byzantine sender). */
  reject(kind: string, from: NodeId, { code, detail }: Refusal): void {
    this.rejected.set(code, (this.rejected.get(code) ?? 0) + 1);
    this.ctx.note('reject', { kind, from, reason: code, detail });
  }

  /** Count an input ignored as out of date or out of reach (normal for a lagging replica). */
  drop(reason: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  broadcast(message: Envelope): void {
    this.ctx.broadcast(message, { includeSelf: false });
  }

  sameDigest(digest: string): (previous: Envelope) => boolean {
    return (previous) => (previous.body as { digest?: string }).digest === digest;
  }

  // ─── the leader detector's decisions ──────────────────────────────────────────────────────

  /**
   * LD-25 the replica calls Complain(primary) when its request timer fires (PBFT-35), when the
   *       primary signs an invalid pre-prepare (PBFT-21), on evidence of equivocation …
   * Returns whether a complaint went out.
   */
  complain(p: NodeId): boolean {
    const decision = this.detector.complain(p);
    if (decision === null) return false;
    this.follow(decision);
    return true;
  }

  /**
   * LD-9  repeat until nothing changes: act on each decision of the detector, then ask for the
   *       next. LD-21: a complaint is our VIEW-CHANGE; LD-23: Trust(p) makes p build NEW-VIEW
   *       and the others wait. `adopting` (LD-24): the round was reached through a NEW-VIEW's
   *       V, whose view the replica enters at once — nothing to build or wait for.
   */
  follow(first: Decision | null, adopting = false): void {
    for (let d = first; d !== null; d = this.detector.next()) {
      if (d.kind === 'complain') {
        this.status = 'view-change';
        this.detector.countOwn(d.round, this.viewChange.complain(d.round));
      } else {
        this.status = 'awaiting-new-view';
        this.viewChange.trust(d.leader, d.round, adopting);
      }
    }
  }

  // ─── evidence (PBFT-52 … 54) ──────────────────────────────────────────────────────────────

  /**
   * PBFT-52 two messages signed by one replica for one slot that differ … are evidence.
   * PBFT-53 evidence against the trusted primary: Complain at once; if it is two PRE-PREPAREs,
   *         multicast ⟨EVIDENCE, a, b⟩σi.
   */
  reportEvidence(a: Envelope, b: Envelope): void {
    const evidence = equivocation(a, b);
    if (this.evidence.length < MAX_EVIDENCE) this.evidence.push(evidence);
    this.ctx.note('evidence', evidenceJson(evidence));
    // An equivocating primary shows each replica only one of its proposals, and one complaint
    // alone (f+1 are needed) moves no one else: hand the transferable proof to the others.
    if (!this.complain(a.from)) return;
    if (a.kind === 'PRE-PREPARE')
      this.ctx.broadcast(this.ctx.sign('EVIDENCE', { a, b } as unknown as Json), {
        includeSelf: false,
      });
  }

  /**
   * PBFT-54 on ⟨EVIDENCE, a, b⟩: if a and b are two conflicting pre-prepares, both validly
   *         signed by the trusted primary, record the evidence and Complain.
   */
  private onEvidence(from: NodeId, { a, b }: EvidenceBody): void {
    if (a.from !== this.detector.leader || this.status === 'view-change') return;
    if (!conflicting(a, b) || !this.verifier.verify(a) || !this.verifier.verify(b)) {
      this.reject(
        'EVIDENCE',
        from,
        refuse('bad-evidence', 'not two conflicting pre-prepares signed by the primary'),
      );
      return;
    }
    this.reportEvidence(a, b);
  }

  // ─── events ───────────────────────────────────────────────────────────────────────────────

  /** PBFT-57 restart: reload what was persisted, then fetch the state (PBFT-49). */
  start(recovered: Recovered | null): void {
    const stored = recovered === null ? null : parseRecovered(recovered, this.schemas);
    if (stored !== null) recover(this, stored);
    this.ctx.note('start', { recovered: recovered !== null });
    this.ctx.note('view', { view: this.view, primary: this.primary });
    if (stored === null) return;
    restoreState(this, stored.durable);
    // Whatever the others did meanwhile (or what we lack: a stable state from elsewhere).
    this.transfer.fetch(Math.max(1, this.h, this.lastExecuted));
  }

  onRequest(_request: unknown): void {
    // Replicas take requests from clients over the network only.
  }

  /** PBFT-4: a message whose sender, kind or shape is wrong is dropped before any state. */
  onMessage(from: NodeId, message: Envelope): void {
    if (message.from !== from) {
      this.reject(
        message.kind,
        from,
        refuse('sender-mismatch', 'sender does not match the envelope'),
      );
      return;
    }
    const schema = own(this.messages, message.kind);
    if (schema === undefined) {
      this.reject(message.kind, from, refuse('unknown-kind', 'unknown message kind'));
      return;
    }
    if (!wasAdmitted(message) && !schema.safeParse(message.body).success) {
      this.reject(message.kind, from, refuse('bad-shape', 'malformed body'));
      return;
    }
    if (message.kind === 'REQUEST') {
      this.normalCase.onRequest(from, message as RequestEnvelope);
      return;
    }
    if (!this.cluster.replicas.includes(from)) {
      this.reject(
        message.kind,
        from,
        refuse('not-a-replica', 'replica message from a non-replica'),
      );
      return;
    }
    if (own(this.options.app.messages, message.kind) !== undefined) {
      this.app.onMessage?.(from, message);
      return;
    }
    this.dispatch(from, message);
  }

  /** Each admitted message to the part of the paper it belongs to. */
  private dispatch(from: NodeId, message: Envelope): void {
    switch (message.kind as PbftKind) {
      case 'PRE-PREPARE':
        this.normalCase.onPrePrepare(from, message as PrePrepareEnvelope);
        return;
      case 'PREPARE':
        this.normalCase.onPrepare(from, message as PrepareEnvelope);
        return;
      case 'COMMIT':
        this.normalCase.onCommit(from, message as CommitEnvelope);
        return;
      case 'CHECKPOINT':
        this.checkpoints.onCheckpoint(from, message as CheckpointEnvelope);
        return;
      case 'VIEW-CHANGE':
        this.viewChange.onViewChange(from, message as ViewChangeEnvelope);
        return;
      case 'NEW-VIEW':
        this.viewChange.onNewView(message as NewViewEnvelope);
        return;
      case 'FETCH-STATE':
        this.transfer.onFetchState(from, message.body as FetchStateBody);
        return;
      case 'STATE':
        this.transfer.onState(from, message.body as StateBody);
        return;
      case 'EVIDENCE':
        this.onEvidence(from, message.body as EvidenceBody);
        return;
      default:
        this.reject(message.kind, from, refuse('not-for-replicas', 'not a message for replicas'));
    }
  }

  /** `request`: PBFT-35; `view-change`: PBFT-47; `batch`: PBFT-13; `fetch`: PBFT-49. */
  onTimer(name: string): void {
    switch (name) {
      case TIMER.request:
        this.normalCase.onRequestTimer();
        return;
      case TIMER.viewChange:
        this.viewChange.onNewViewTimer();
        return;
      case TIMER.batch:
        this.proposer.onBatchTimer();
        return;
      case TIMER.fetch:
        this.transfer.onFetchTimer();
        return;
    }
  }
}
