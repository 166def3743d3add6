/**
 * Slide 1/9: the state of a Raft node, shared by the modules that implement the other slides
 * (election.ts, replication.ts, follower.ts, requests.ts, state-machine.ts), and the changes
 * they share — each stable variable is written through its setter here, which persists it.
 *
 * Stable storage (what "on recovery from crash" does not reset): currentTerm, votedFor, log
 * and commitLength, written through ctx.persist as soon as they change — in the same step as,
 * and before, any message that depends on them. The host makes a step's writes durable
 * before the step's messages leave (the keys: storage.ts).
 */

import type { Context, NodeId } from '../core/protocol.js';
import { type KvResult, KvStore } from '../smr/kv.js';
import { SessionTable } from '../smr/sessions.js';
import { chainDigest, RaftLog } from './log.js';
import type { ClientRequest, LogEntry, Snapshot } from './messages.js';
import {
  CHECK_QUORUM_TIMER,
  ELECTION_TIMER,
  HEARTBEAT_TIMER,
  type RaftOptions,
  type Role,
} from './options.js';
import { Progress } from './progress.js';
import { takeSnapshot } from './state-machine.js';
import { KEY_COMMIT, KEY_LOG_LENGTH, KEY_TERM, KEY_VOTED_FOR, logKey } from './storage.js';

export class RaftState {
  // ── Slide 1/9: stable storage (set below, where it is persisted; recovery aside) ──────
  currentTerm = 0;
  votedFor: NodeId | null = null;
  readonly log = new RaftLog(chainDigest);
  commitLength = 0;
  // ── Slide 1/9: volatile state, reset on recovery from crash ────────────────────────────
  currentRole: Role = 'follower';
  currentLeader: NodeId | null = null;
  votesReceived = new Set<NodeId>();
  /** sentLength and ackedLength, with what pipelining adds (leader only). */
  readonly progress = new Progress();

  // ── Beyond the slides ──────────────────────────────────────────────────────────────────
  /** The latest snapshot (thesis §5.1): what the log's compacted prefix left; null: none yet. */
  snapshot: Snapshot | null = null;
  /** The application: the KV store and its client sessions, fed by committed entries. */
  kv = new KvStore();
  sessions = new SessionTable<KvResult>();
  /** Requests that arrived while no leader was known, by client (bounded). */
  readonly buffered = new Map<NodeId, ClientRequest>();
  /** Leader only: per client, the seq already appended in this term (no double append). */
  readonly appendedThisTerm = new Map<NodeId, number>();
  /** Pre-Vote (thesis §9.6): the pre-votes of the pre-election under way; null: none. */
  preVotesReceived: Set<NodeId> | null = null;
  /** When this replica last accepted a LogRequest from the leader of its term. */
  lastHeardFromLeader = Number.NEGATIVE_INFINITY;
  /** CheckQuorum (thesis §6.2), leader only: followers heard from since the last check. */
  readonly heardFrom = new Set<NodeId>();

  readonly nodeId: NodeId;
  readonly nodes: readonly NodeId[];

  constructor(
    readonly ctx: Context,
    readonly options: RaftOptions,
  ) {
    this.nodeId = ctx.self;
    this.nodes = ctx.cluster.replicas;
  }

  /** nodes \ {nodeId}. */
  others(): NodeId[] {
    return this.nodes.filter((n) => n !== this.nodeId);
  }

  // ══ State changes (each persisted where the slides call it stable) ═════════════════════

  /** The shared step-down of slides 2/9, 3/9 and 8/9 (currentLeader is unknown in a new term). */
  stepDown(term: number): void {
    const wasFollower = this.currentRole === 'follower';
    this.setCurrentTerm(term);
    this.setRole('follower');
    this.setVotedFor(null);
    this.currentLeader = null;
    this.preVotesReceived = null;
    // "cancel election timer" ends a candidate's election; as a follower the same timer
    // keeps watching for a leader. A follower's own timer is already running.
    if (!wasFollower) this.resetElectionTimer();
  }

  setCurrentTerm(term: number): void {
    if (term === this.currentTerm) return;
    this.currentTerm = term;
    this.ctx.persist(KEY_TERM, term);
  }

  setVotedFor(votedFor: NodeId | null): void {
    if (votedFor === this.votedFor) return;
    this.votedFor = votedFor;
    this.ctx.persist(KEY_VOTED_FOR, votedFor);
  }

  setCommitLength(length: number): void {
    this.commitLength = length;
    this.ctx.persist(KEY_COMMIT, length);
    if (length - this.log.snapshot.length >= this.options.snapshotInterval) takeSnapshot(this);
  }

  setRole(role: Role): void {
    if (role === this.currentRole) return;
    if (this.currentRole === 'leader') {
      this.ctx.cancelTimer(HEARTBEAT_TIMER);
      this.ctx.cancelTimer(CHECK_QUORUM_TIMER);
    }
    this.currentRole = role;
  }

  /** Append entries, persisting each one and then the new length. */
  appendToLog(entries: readonly LogEntry[]): void {
    if (entries.length === 0) return;
    for (const entry of entries) {
      const index = this.log.length;
      this.log.append(entry);
      this.ctx.persist(logKey(index), entry);
    }
    this.ctx.persist(KEY_LOG_LENGTH, this.log.length);
  }

  /** log := ⟨log[0], …, log[length − 1]⟩: persist the new length first, then drop entries. */
  truncateLog(length: number): void {
    if (length >= this.log.length) return;
    if (length < this.commitLength) {
      // Impossible unless safety is broken (unsafeCommitAnyTerm): say so in the trace.
      this.ctx.note('truncate-committed', { length, commitLength: this.commitLength });
    }
    // Compacted entries are committed and cannot be cut, even by an unsafe leader.
    const keep = Math.max(length, this.log.snapshot.length);
    this.ctx.persist(KEY_LOG_LENGTH, keep);
    for (let i = keep; i < this.log.length; i++) this.ctx.persist(logKey(i), null);
    this.log.truncate(keep);
  }

  /** "start election timer", with a fresh random timeout in [min, max). */
  resetElectionTimer(): void {
    const [min, max] = this.options.electionTimeoutMs;
    this.ctx.setTimer(ELECTION_TIMER, Math.floor(min + this.ctx.random() * (max - min)));
  }
}
