/**
 * Raft in Kleppmann's formulation (seeds/004, "Raft (1/9)" … "Raft (9/9)"), as a sans-IO
 * core driving a replicated key-value store. Each slide's pseudocode is beside the method
 * that implements it; src/raft/README.md lists them side by side, together with the gaps a
 * service has to close and the traps of docs/reference/raft.md.
 *
 * Three parts of Ongaro's thesis ("Consensus: Bridging Theory and Practice", 2014) are added,
 * each quoted above its methods: Pre-Vote (§9.6), CheckQuorum (§6.2), and snapshots with log
 * compaction and InstallSnapshot (§5.1). PreVote and CheckQuorum are options, on by default.
 *
 * Stable storage (slide 1/9: what "on recovery from crash" does not reset): currentTerm,
 * votedFor, log and commitLength, written through ctx.persist as soon as they change — in the
 * same step as, and before, any message that depends on them. The host makes a step's
 * writes durable before the step's messages leave. The log is stored entry by entry
 * (`log/<index>` and `log.length`), so an append writes one entry, not the whole log.
 *
 * Indices are 0-based, as on the slides: log[0] is the first entry, and a "length" is the
 * number of entries in a prefix.
 */

import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, Protocol, Recovered } from '../core/protocol.js';
import { majority } from '../core/quorum.js';
import { canonical } from '../crypto/canonical.js';
import { sha256 } from '../crypto/hash-node.js';
import { toHex } from '../crypto/hex.js';
import type { Json } from '../crypto/json.js';
import { type KvResult, KvStore } from '../smr/kv.js';
import { SessionTable } from '../smr/sessions.js';
import { RaftLog } from './log.js';
import {
  type ClientReply,
  type ClientRequest,
  clientRequestSchema,
  type InstallSnapshot,
  type LogEntry,
  type LogRequest,
  type LogResponse,
  logEntrySchema,
  MAX_SUFFIX,
  type PreVoteRequest,
  type PreVoteResponse,
  type Redirect,
  type Snapshot,
  snapshotSchema,
  type VoteRequest,
  type VoteResponse,
} from './messages.js';
import { commitLogEntriesAnyTerm, type RaftRules, raftRules } from './rules.js';

export type Role = 'follower' | 'candidate' | 'leader';

export interface RaftOptions {
  /** The election timeout is drawn uniformly from [min, max) on every (re)arm. */
  electionTimeoutMs: readonly [number, number];
  /** "periodically at node nodeId do": how often a leader sends LogRequests. */
  heartbeatMs: number;
  /**
   * DANGER — for the negative test only: drop slide 9's condition
   * log[max(ready) − 1].term = currentTerm, so a leader commits earlier-term entries by
   * counting replicas (the Raft paper's Figure 8 trap).
   */
  unsafeCommitAnyTerm: boolean;
  /**
   * The log rules of slides 6/9, 7/9 and 9/9 (src/raft/rules.ts): the project's own unless
   * the lab `raft-commit` plugs in a student's.
   */
  rules: RaftRules;
  /** Most entries in one LogRequest (≤ MAX_SUFFIX); the rest follow on acknowledgement. */
  maxSuffix: number;
  /** Most client requests a replica buffers while it knows no leader. */
  maxBuffered: number;
  /**
   * A leader replicates a new client request at once only to followers with fewer than this
   * many LogRequests unanswered; the others get it with the next LogRequest, which the answer
   * to the last one triggers (slide 8/9) — so a burst of k requests costs a few LogRequests
   * per follower, not k of them each carrying the whole unacknowledged suffix.
   */
  maxInflight: number;
  /**
   * Thesis §9.6: stand for election only after a majority said it would vote (PreVote), so a
   * replica that cannot win — partitioned away, or restarted before it heard the leader —
   * never raises the term. Off: the slides' election, for the scenario that shows why.
   */
  preVote: boolean;
  /**
   * Thesis §6.2 (etcd-raft's CheckQuorum): a leader that has not heard from a majority for an
   * election timeout steps down, so clients stop waiting on a leader that cannot commit.
   */
  checkQuorum: boolean;
  /**
   * Thesis §5.1: snapshot the state machine once this many committed entries have piled up
   * after the last snapshot, and discard them from the log (in memory and in storage).
   */
  snapshotInterval: number;
}

export const defaultRaftOptions: RaftOptions = {
  electionTimeoutMs: [150, 300],
  heartbeatMs: 50,
  unsafeCommitAnyTerm: false,
  rules: raftRules,
  maxSuffix: 64,
  maxBuffered: 64,
  maxInflight: 2,
  preVote: true,
  checkQuorum: true,
  snapshotInterval: 1000,
};

/** Timer names (ctx.setTimer). */
export const ELECTION_TIMER = 'election';
export const HEARTBEAT_TIMER = 'heartbeat';
export const CHECK_QUORUM_TIMER = 'check-quorum';

/** Storage keys. */
export const KEY_TERM = 'currentTerm';
export const KEY_VOTED_FOR = 'votedFor';
export const KEY_COMMIT = 'commitLength';
export const KEY_LOG_LENGTH = 'log.length';
export const KEY_SNAPSHOT = 'snapshot';
export const logKey = (index: number): string => `log/${index}`;

/** Hex characters of a log digest kept in notes (128 bits). */
const DIGEST_HEX = 32;
const utf8 = new TextEncoder();

/**
 * The digest of the log prefix log[0..index]: H(digest of log[0..index−1] ‖ canonical(entry)).
 * Two nodes whose digests at one index agree hold the same prefix up to that index; the
 * checkers compare these digests, so they never need to see a node's log.
 */
export function chainDigest(previous: string, entry: LogEntry): string {
  return toHex(sha256(utf8.encode(previous + canonical(entry)))).slice(0, DIGEST_HEX);
}

export class RaftNode implements Protocol {
  // ── Slide 1/9: stable storage ──────────────────────────────────────────────────────────
  private currentTerm = 0;
  private votedFor: NodeId | null = null;
  private readonly log = new RaftLog(chainDigest);
  private commitLength = 0;
  // ── Slide 1/9: volatile state, reset on recovery from crash ────────────────────────────
  private currentRole: Role = 'follower';
  private currentLeader: NodeId | null = null;
  private votesReceived = new Set<NodeId>();
  private sentLength = new Map<NodeId, number>();
  private ackedLength = new Map<NodeId, number>();

  // ── Beyond the slides ──────────────────────────────────────────────────────────────────
  /** The latest snapshot (thesis §5.1): what the log's compacted prefix left; null: none yet. */
  private snapshot: Snapshot | null = null;
  /** The application: the KV store and its client sessions, fed by committed entries. */
  private kv = new KvStore();
  private sessions = new SessionTable<KvResult>();
  /** Requests that arrived while no leader was known, by client (bounded). */
  private readonly buffered = new Map<NodeId, ClientRequest>();
  /** Leader only: per client, the seq already appended in this term (no double append). */
  private readonly appendedThisTerm = new Map<NodeId, number>();
  /** Leader only: per follower, the log length the last LogRequest reached. */
  private readonly sentUpTo = new Map<NodeId, number>();
  /** Leader only: per follower, LogRequests sent and not answered yet (see maxInflight). */
  private readonly inflight = new Map<NodeId, number>();
  /** Pre-Vote (thesis §9.6): the pre-votes of the pre-election under way; null: none. */
  private preVotesReceived: Set<NodeId> | null = null;
  /** When this replica last accepted a LogRequest from the leader of its term. */
  private lastHeardFromLeader = Number.NEGATIVE_INFINITY;
  /** What the last 'role' note said (see announce). */
  private announced: { term: number; role: Role; leader: NodeId | null } | null = null;
  /** CheckQuorum (thesis §6.2), leader only: followers heard from since the last check. */
  private readonly heardFrom = new Set<NodeId>();

  private readonly options: RaftOptions;
  private readonly nodeId: NodeId;
  private readonly nodes: readonly NodeId[];

  constructor(
    private readonly ctx: Context,
    options: Partial<RaftOptions> = {},
  ) {
    this.options = { ...defaultRaftOptions, ...options };
    const [min, max] = this.options.electionTimeoutMs;
    if (!(min > 0 && max >= min)) throw new Error('electionTimeoutMs must be 0 < min ≤ max');
    if (!(this.options.heartbeatMs > 0)) throw new Error('heartbeatMs must be positive');
    if (!(Number.isInteger(this.options.snapshotInterval) && this.options.snapshotInterval >= 1)) {
      throw new Error('snapshotInterval must be a positive integer');
    }
    if (!(this.options.maxSuffix >= 1 && this.options.maxSuffix <= MAX_SUFFIX)) {
      throw new Error(`maxSuffix must be in [1, ${MAX_SUFFIX}]`);
    }
    this.nodeId = ctx.self;
    this.nodes = ctx.cluster.replicas;
  }

  // ══ Slide 1/9: initialisation, recovery, election timeout ══════════════════════════════

  /**
   * recovered = null: "on initialisation" — the field initialisers above are that slide's
   * assignments. Otherwise "on recovery from crash": currentTerm, votedFor, log and
   * commitLength come back from storage, everything else keeps its initial value (follower,
   * no leader, no votes, empty sentLength/ackedLength). The state machine is restored from
   * the latest snapshot (thesis §5.1) and rebuilt by re-applying the committed entries after
   * it, log[snapshot.length..commitLength−1].
   */
  start(recovered: Recovered | null): void {
    if (recovered !== null) this.recover(recovered);
    this.resetElectionTimer();
    this.announce();
  }

  private recover(stored: Recovered): void {
    const term = stored.get(KEY_TERM);
    this.currentTerm = typeof term === 'number' ? term : 0;
    const votedFor = stored.get(KEY_VOTED_FOR);
    this.votedFor = typeof votedFor === 'string' ? votedFor : null;
    // Thesis §5.1: recovery starts from the snapshot, then reads the entries after it.
    const snapshot = snapshotSchema.safeParse(stored.get(KEY_SNAPSHOT));
    if (snapshot.success) this.restoreSnapshot(snapshot.data);
    const storedLength = stored.get(KEY_LOG_LENGTH);
    const length = typeof storedLength === 'number' ? storedLength : 0;
    for (let i = this.log.length; i < length; i++) {
      const entry = logEntrySchema.safeParse(stored.get(logKey(i)));
      if (!entry.success) break; // never happens: an entry is written before log.length
      this.log.append(entry.data);
    }
    if (this.log.length !== length) this.ctx.persist(KEY_LOG_LENGTH, this.log.length);
    const commit = stored.get(KEY_COMMIT);
    const covered = this.log.snapshot.length;
    this.commitLength = Math.min(
      Math.max(typeof commit === 'number' ? commit : 0, covered),
      this.log.length,
    );
    for (let i = covered; i < this.commitLength; i++) this.deliver(i, false);
    this.ctx.note('recovered', {
      term: this.currentTerm,
      logLength: this.log.length,
      commitLength: this.commitLength,
      snapshotLength: covered,
    });
  }

  onTimer(name: string): void {
    if (name === ELECTION_TIMER) {
      if (this.currentRole === 'leader') return;
      if (this.options.preVote) this.startPreVote();
      else this.startElection();
    } else if (name === HEARTBEAT_TIMER) {
      this.periodically();
    } else if (name === CHECK_QUORUM_TIMER) {
      this.checkQuorum();
    }
    this.announce();
  }

  /**
   *   on node nodeId suspects leader has failed, or on election timeout do
   *     currentTerm := currentTerm + 1; currentRole := candidate
   *     votedFor := nodeId; votesReceived := {nodeId}; lastTerm := 0
   *     if log.length > 0 then lastTerm := log[log.length − 1].term; end if
   *     msg := (VoteRequest, nodeId, currentTerm, log.length, lastTerm)
   *     for each node ∈ nodes: send msg to node
   *     start election timer
   *
   * Our node sends to every other node: its own vote is already in votesReceived.
   */
  private startElection(): void {
    this.preVotesReceived = null;
    this.setCurrentTerm(this.currentTerm + 1);
    this.setRole('candidate');
    this.setVotedFor(this.nodeId);
    this.ctx.note('election', { term: this.currentTerm });
    this.votesReceived = new Set([this.nodeId]); // reset on every new election (trap 2)
    this.currentLeader = null;
    const lastTerm = this.lastLogTerm();
    const msg = this.ctx.sign('VoteRequest', {
      term: this.currentTerm,
      logLength: this.log.length,
      lastTerm,
    } satisfies VoteRequest);
    for (const node of this.others()) this.ctx.send(node, msg);
    this.resetElectionTimer();
    // A one-node cluster has its majority already.
    if (this.votesReceived.size >= majority(this.nodes.length)) this.becomeLeader();
  }

  // ══ Thesis §9.6: Pre-Vote ══════════════════════════════════════════════════════════════

  /**
   * Thesis §9.6: "In the Pre-Vote algorithm, a candidate only increments its term if it first
   * learns from a majority of the cluster that they would be willing to grant the candidate
   * their votes (if the candidate's term were incremented)."
   *
   *   on election timeout at node nodeId do                       (preVote on)
   *     preVotesReceived := {nodeId}; currentLeader := null
   *     send (PreVoteRequest, nodeId, currentTerm + 1, log.length, lastTerm) to all others
   *     start election timer
   *
   * Nothing here is persisted: a pre-election changes no stable variable, which is the point.
   * If it fails, the next timeout starts another one at the same term.
   */
  private startPreVote(): void {
    this.preVotesReceived = new Set([this.nodeId]);
    this.currentLeader = null;
    this.ctx.note('pre-vote', { term: this.currentTerm + 1 });
    const msg = this.ctx.sign('PreVoteRequest', {
      term: this.currentTerm + 1,
      logLength: this.log.length,
      lastTerm: this.lastLogTerm(),
    } satisfies PreVoteRequest);
    for (const node of this.others()) this.ctx.send(node, msg);
    this.resetElectionTimer();
    if (this.preVotesReceived.size >= majority(this.nodes.length)) this.startElection();
  }

  /**
   *   on receiving (PreVoteRequest, cId, cTerm, cLogLength, cLogTerm) at node nodeId do
   *     logOk := as for a VoteRequest (slide 2/9)
   *     leaderAlive := currentRole = leader ∨
   *                    (heard from the leader less than the minimum election timeout ago)
   *     if cTerm > currentTerm ∧ logOk ∧ ¬leaderAlive then
   *       send (PreVoteResponse, nodeId, cTerm, true) to node cId
   *     else
   *       send (PreVoteResponse, nodeId, currentTerm, false) to node cId
   *
   * No state changes, not even the term. Besides an up-to-date log, the grant needs the
   * leader-stickiness rule of thesis §4.2.3 — "if a server receives a RequestVote request
   * within the minimum election timeout of hearing from a current leader, it does not update
   * its term or grant its vote" — as in etcd-raft: it keeps a replica that rejoins (or
   * restarts) with an up-to-date log from deposing a leader that everyone else still hears.
   */
  private onPreVoteRequest(cId: NodeId, request: PreVoteRequest): void {
    const { term: cTerm, logLength: cLogLength, lastTerm: cLogTerm } = request;
    const lastTerm = this.lastLogTerm();
    const logOk = cLogTerm > lastTerm || (cLogTerm === lastTerm && cLogLength >= this.log.length);
    const leaderAlive =
      this.currentRole === 'leader' ||
      this.ctx.now() - this.lastHeardFromLeader < this.options.electionTimeoutMs[0];
    const granted = cTerm > this.currentTerm && logOk && !leaderAlive;
    const body: PreVoteResponse = { term: granted ? cTerm : this.currentTerm, granted };
    this.ctx.send(cId, this.ctx.sign('PreVoteResponse', body));
  }

  /**
   *   on receiving (PreVoteResponse, voterId, term, granted) at node nodeId do
   *     if pre-election under way ∧ term = currentTerm + 1 ∧ granted then
   *       preVotesReceived := preVotesReceived ∪ {voterId}
   *       if |preVotesReceived| ≥ ⌈(|nodes| + 1)/2⌉ then start the election (slide 1/9)
   *     else if ¬granted ∧ term > currentTerm then step down to term
   */
  private onPreVoteResponse(voterId: NodeId, response: PreVoteResponse): void {
    const { term, granted } = response;
    if (this.preVotesReceived !== null && term === this.currentTerm + 1 && granted) {
      this.preVotesReceived.add(voterId);
      if (this.preVotesReceived.size >= majority(this.nodes.length)) this.startElection();
    } else if (!granted && term > this.currentTerm) {
      this.stepDown(term);
    }
  }

  // ══ Slide 2/9: voting on a new leader ══════════════════════════════════════════════════

  /**
   *   on receiving (VoteRequest, cId, cTerm, cLogLength, cLogTerm) at node nodeId do
   *     if cTerm > currentTerm then
   *       currentTerm := cTerm; currentRole := follower; votedFor := null
   *     end if
   *     lastTerm := 0
   *     if log.length > 0 then lastTerm := log[log.length − 1].term; end if
   *     logOk := (cLogTerm > lastTerm) ∨ (cLogTerm = lastTerm ∧ cLogLength ≥ log.length)
   *     if cTerm = currentTerm ∧ logOk ∧ votedFor ∈ {cId, null} then
   *       votedFor := cId
   *       send (VoteResponse, nodeId, currentTerm, true) to node cId
   *     else
   *       send (VoteResponse, nodeId, currentTerm, false) to node cId
   *     end if
   */
  private onVoteRequest(cId: NodeId, request: VoteRequest): void {
    const { term: cTerm, logLength: cLogLength, lastTerm: cLogTerm } = request;
    if (cTerm > this.currentTerm) this.stepDown(cTerm);
    const lastTerm = this.lastLogTerm();
    const logOk = cLogTerm > lastTerm || (cLogTerm === lastTerm && cLogLength >= this.log.length);
    if (cTerm === this.currentTerm && logOk && (this.votedFor === cId || this.votedFor === null)) {
      this.setVotedFor(cId); // persisted in this step, before the response leaves (trap 4)
      this.resetElectionTimer();
      this.sendVoteResponse(cId, true);
    } else {
      this.sendVoteResponse(cId, false);
    }
  }

  private sendVoteResponse(cId: NodeId, granted: boolean): void {
    const body: VoteResponse = { term: this.currentTerm, granted };
    this.ctx.send(cId, this.ctx.sign('VoteResponse', body));
  }

  // ══ Slide 3/9: collecting votes ════════════════════════════════════════════════════════

  /**
   *   on receiving (VoteResponse, voterId, term, granted) at nodeId do
   *     if currentRole = candidate ∧ term = currentTerm ∧ granted then
   *       votesReceived := votesReceived ∪ {voterId}
   *       if |votesReceived| ≥ ⌈(|nodes| + 1)/2⌉ then … (becomeLeader)
   *     else if term > currentTerm then
   *       currentTerm := term; currentRole := follower; votedFor := null
   *       cancel election timer
   *     end if
   *
   * The step-down branch belongs to the outer `if` (trap 3): a candidate that hears of a
   * higher term steps down whatever its role.
   */
  private onVoteResponse(voterId: NodeId, response: VoteResponse): void {
    const { term, granted } = response;
    if (this.currentRole === 'candidate' && term === this.currentTerm && granted) {
      this.votesReceived.add(voterId);
      if (this.votesReceived.size >= majority(this.nodes.length)) this.becomeLeader();
    } else if (term > this.currentTerm) {
      this.stepDown(term);
    }
  }

  /**
   *       currentRole := leader; currentLeader := nodeId
   *       cancel election timer
   *       for each follower ∈ nodes \ {nodeId} do
   *         sentLength[follower] := log.length
   *         ackedLength[follower] := 0
   *         ReplicateLog(nodeId, follower)
   *       end for
   *
   * Gap closed: before replicating, the new leader appends a no-op entry of its own term, so
   * that slide 9's term condition can be met — and earlier-term entries committed — without
   * waiting for a client request. Requests buffered while no leader was known follow it.
   */
  private becomeLeader(): void {
    this.setRole('leader');
    this.currentLeader = this.nodeId;
    this.ctx.cancelTimer(ELECTION_TIMER);
    if (this.options.checkQuorum) {
      this.heardFrom.clear();
      this.ctx.setTimer(CHECK_QUORUM_TIMER, this.options.electionTimeoutMs[1]);
    }
    this.ctx.note('became-leader', {
      term: this.currentTerm,
      logLength: this.log.length,
      runs: this.termRuns(),
    });
    for (const follower of this.others()) {
      this.sentLength.set(follower, this.log.length);
      this.ackedLength.set(follower, 0);
      this.inflight.set(follower, 0);
    }
    this.appendedThisTerm.clear();
    // What the log held before the no-op is durable: it was persisted before this node's
    // VoteRequests left, and the votes came back after.
    this.ackedLength.set(this.nodeId, this.log.length);
    this.appendToLog([{ msg: { type: 'noop' }, term: this.currentTerm }]);
    this.ackOwnLog();
    for (const request of this.takeBuffered()) {
      if (this.isNewRequest(request)) this.appendRequest(request);
    }
    for (const follower of this.others()) this.replicateLog(follower);
    this.ctx.setTimer(HEARTBEAT_TIMER, this.options.heartbeatMs);
    this.commitLogEntries(); // a one-node cluster commits alone
  }

  // ══ Slide 4/9: broadcasting messages ═══════════════════════════════════════════════════

  /**
   *   on request to broadcast msg at node nodeId do
   *     if currentRole = leader then
   *       append the record (msg: msg, term: currentTerm) to log
   *       ackedLength[nodeId] := log.length
   *       for each follower ∈ nodes \ {nodeId} do ReplicateLog(nodeId, follower) end for
   *     else
   *       forward the request to currentLeader via a FIFO link
   *     end if
   *
   * Around it, the service's part: a retried (client, seq) that was already applied is
   * answered from the session table; the leader appends a request once per term; a
   * follower forwards only when it knows a leader (trap 7) and otherwise buffers the
   * request (bounded) until it learns one, or answers "no leader, retry" when the buffer is
   * full. A forwarded request that reaches a non-leader is not forwarded again: the client
   * gets a redirect instead, so requests cannot circle between replicas.
   */
  private onClientRequest(request: ClientRequest, forwarded: boolean): void {
    if (!this.isNewRequest(request)) return;
    if (this.currentRole === 'leader') {
      if (!this.appendRequest(request)) return;
      for (const follower of this.others()) {
        // Pipelined: a follower busy with earlier LogRequests gets this entry with the next
        // one, sent when it answers (onLogResponse).
        if ((this.inflight.get(follower) ?? 0) < this.options.maxInflight) {
          this.replicateLog(follower);
        }
      }
      this.commitLogEntries(); // a one-node cluster commits alone
    } else if (this.currentLeader !== null) {
      if (forwarded) this.sendRedirect(request, this.currentLeader);
      else this.ctx.send(this.currentLeader, this.ctx.sign('ForwardRequest', { ...request }));
    } else if (this.buffered.has(request.client) || this.buffered.size < this.options.maxBuffered) {
      this.buffered.set(request.client, request);
    } else {
      this.sendRedirect(request, null);
    }
  }

  /**
   * Exactly-once, before anything else: a request already applied is answered from the
   * session table (its result is committed), an older one is dropped (its client has moved
   * on). Only a new request goes on.
   */
  private isNewRequest(request: ClientRequest): boolean {
    const verdict = this.sessions.check(request.client, request.seq);
    if (verdict.kind === 'duplicate') {
      this.sendReply(request.client, { seq: request.seq, result: verdict.result });
    }
    return verdict.kind === 'new';
  }

  /**
   * "append the record (msg: msg, term: currentTerm) to log; ackedLength[nodeId] := log.length"
   * — unless this leader already appended the same (client, seq) in this term.
   */
  private appendRequest(request: ClientRequest): boolean {
    if (this.appendedThisTerm.get(request.client) === request.seq) return false;
    this.appendedThisTerm.set(request.client, request.seq);
    const { client, seq, command } = request;
    this.appendToLog([{ msg: { type: 'request', client, seq, command }, term: this.currentTerm }]);
    this.ackOwnLog();
    return true;
  }

  /**
   * "ackedLength[nodeId] := log.length" — once the leader's own write is durable (thesis
   * §10.2.1): its LogRequests leave while the disk works (ctx.sendAhead), and its copy counts
   * toward a commit quorum only when it would survive a crash. Hosts without the runtime's
   * afterDurable (unit-test contexts) count it at once, as the slide does.
   */
  private ackOwnLog(): void {
    const length = this.log.length;
    if (this.ctx.afterDurable === undefined) {
      this.ackedLength.set(this.nodeId, length);
      return;
    }
    const term = this.currentTerm;
    this.ctx.afterDurable(() => {
      if (this.currentRole !== 'leader' || this.currentTerm !== term) return;
      if ((this.ackedLength.get(this.nodeId) ?? 0) >= length) return;
      this.ackedLength.set(this.nodeId, length);
      this.commitLogEntries();
    });
  }

  /** Take the requests buffered while no leader was known. */
  private takeBuffered(): ClientRequest[] {
    const requests = [...this.buffered.values()];
    this.buffered.clear();
    return requests;
  }

  /** A follower that learns its leader forwards what it buffered. */
  private flushBuffered(): void {
    if (this.currentLeader === null) return;
    for (const request of this.takeBuffered()) this.onClientRequest(request, false);
  }

  /**
   *   periodically at node nodeId do
   *     if currentRole = leader then
   *       for each follower ∈ nodes \ {nodeId} do ReplicateLog(nodeId, follower) end for
   *     end if
   */
  private periodically(): void {
    if (this.currentRole !== 'leader') return;
    for (const follower of this.others()) this.replicateLog(follower);
    this.ctx.setTimer(HEARTBEAT_TIMER, this.options.heartbeatMs);
  }

  /**
   * Thesis §6.2 (CheckQuorum): "a leader steps down if an election timeout elapses without a
   * successful round of heartbeats to a majority of its cluster; this allows clients to retry
   * their requests with another server."
   *
   *   every election timeout at the leader do
   *     if |{nodeId} ∪ {f | a LogResponse of currentTerm came from f since the last check}|
   *         < ⌈(|nodes| + 1)/2⌉ then currentRole := follower; currentLeader := null
   *
   * The check runs at the longest election timeout, so a leader that is merely slow to hear
   * back is not deposed before a follower would have given up on it. It keeps its term and
   * its vote: stepping down in the same term raises nothing.
   */
  private checkQuorum(): void {
    if (!this.options.checkQuorum || this.currentRole !== 'leader') return;
    if (this.heardFrom.size + 1 < majority(this.nodes.length)) {
      this.ctx.note('check-quorum-lost', { term: this.currentTerm, heard: [...this.heardFrom] });
      this.setRole('follower');
      this.currentLeader = null;
      this.resetElectionTimer();
      return;
    }
    this.heardFrom.clear();
    this.ctx.setTimer(CHECK_QUORUM_TIMER, this.options.electionTimeoutMs[1]);
  }

  // ══ Slide 5/9: replicating from leader to followers ════════════════════════════════════

  /**
   *   function ReplicateLog(leaderId, followerId)
   *     prefixLen := sentLength[followerId]
   *     suffix := ⟨log[prefixLen], log[prefixLen + 1], …, log[log.length − 1]⟩
   *     prefixTerm := 0
   *     if prefixLen > 0 then prefixTerm := log[prefixLen − 1].term end if
   *     send (LogRequest, leaderId, currentTerm, prefixLen, prefixTerm, commitLength, suffix)
   *       to followerId
   *
   * The suffix is cut at maxSuffix entries to bound the message; the rest is sent as soon as
   * this part is acknowledged (slide 8/9).
   */
  private replicateLog(followerId: NodeId): void {
    const prefixLen = Math.min(this.sentLength.get(followerId) ?? 0, this.log.length);
    if (prefixLen < this.log.snapshot.length) {
      this.sendSnapshot(followerId); // the entries it needs next are compacted
      return;
    }
    const end = Math.min(this.log.length, prefixLen + this.options.maxSuffix);
    const suffix = this.log.slice(prefixLen, end);
    let prefixTerm = 0;
    if (prefixLen > 0) prefixTerm = this.log.termAt(prefixLen - 1);
    this.sentUpTo.set(followerId, end);
    this.inflight.set(followerId, (this.inflight.get(followerId) ?? 0) + 1);
    const body: LogRequest = {
      term: this.currentTerm,
      prefixLen,
      prefixTerm,
      leaderCommit: this.commitLength,
      suffix,
    };
    // Replicated while the leader's own write of the suffix is still in progress (§10.2.1).
    const message = this.ctx.sign('LogRequest', body);
    if (this.ctx.sendAhead === undefined) this.ctx.send(followerId, message);
    else this.ctx.sendAhead(followerId, message);
  }

  // ══ Slide 6/9: followers receiving messages ════════════════════════════════════════════

  /**
   *   on receiving (LogRequest, leaderId, term, prefixLen, prefixTerm, leaderCommit, suffix)
   *       at node nodeId do
   *     if term > currentTerm then
   *       currentTerm := term; votedFor := null
   *       cancel election timer
   *     end if
   *     if term = currentTerm then
   *       currentRole := follower; currentLeader := leaderId
   *     end if
   *     logOk := (log.length ≥ prefixLen) ∧
   *              (prefixLen = 0 ∨ log[prefixLen − 1].term = prefixTerm)
   *     if term = currentTerm ∧ logOk then
   *       AppendEntries(prefixLen, leaderCommit, suffix)
   *       ack := prefixLen + suffix.length
   *       send (LogResponse, nodeId, currentTerm, ack, true) to leaderId
   *     else
   *       send (LogResponse, nodeId, currentTerm, 0, false) to leaderId
   *     end if
   *
   * "cancel election timer": our one election timer is also the follower's failure
   * detector, so a follower that hears its leader re-arms it with a fresh random timeout.
   * A failed response carries a hint (back-off gap): see backOffHint.
   */
  private onLogRequest(leaderId: NodeId, request: LogRequest): void {
    const { term, leaderCommit } = request;
    // A leader of term `term` never holds entries of later terms: drop a malformed request.
    if (request.prefixTerm > term || request.suffix.some((e) => e.term > term)) return;
    // Entries our snapshot covers are committed, so they are in every later leader's log
    // (leader completeness): skip the part of the suffix they cover and check from there.
    const covered = this.log.snapshot.length;
    const skip = Math.max(0, covered - request.prefixLen);
    const prefixLen = request.prefixLen + skip;
    const prefixTerm = skip > 0 ? this.log.snapshot.term : request.prefixTerm;
    const suffix = request.suffix.slice(skip);
    if (term > this.currentTerm) {
      this.setCurrentTerm(term);
      this.setVotedFor(null);
    }
    if (term === this.currentTerm) this.followLeader(leaderId);
    const logOk = this.options.rules.logOk(this.log, prefixLen, prefixTerm);
    if (term === this.currentTerm && logOk) {
      this.appendEntries(prefixLen, leaderCommit, suffix);
      const ack = prefixLen + suffix.length;
      this.sendLogResponse(leaderId, { term: this.currentTerm, ack, success: true });
    } else {
      this.sendLogResponse(leaderId, {
        term: this.currentTerm,
        ack: 0,
        success: false,
        hint: this.backOffHint(prefixLen),
      });
    }
    this.flushBuffered();
  }

  private sendLogResponse(leaderId: NodeId, body: LogResponse): void {
    this.ctx.send(leaderId, this.ctx.sign('LogResponse', body));
  }

  /**
   * Gap closed — fast back-off. Slide 8/9 backs sentLength off by one entry per round trip.
   * A follower that rejects prefixLen instead suggests where to retry: its own log length
   * if it is shorter than prefixLen, otherwise the first index of the term it holds at
   * prefixLen − 1 (every entry of that term from there on is suspect), so the leader skips
   * a whole term per round trip.
   */
  private backOffHint(prefixLen: number): number {
    if (this.log.length < prefixLen) return this.log.length;
    if (prefixLen === 0) return 0;
    const conflictTerm = this.log.termAt(prefixLen - 1);
    let first = prefixLen - 1;
    const covered = this.log.snapshot.length; // committed: never in conflict
    while (first > covered && this.log.termAt(first - 1) === conflictTerm) first--;
    return first;
  }

  // ══ Slide 7/9: updating followers' logs ════════════════════════════════════════════════

  /**
   *   function AppendEntries(prefixLen, leaderCommit, suffix)
   *     if suffix.length > 0 ∧ log.length > prefixLen then
   *       index := min(log.length, prefixLen + suffix.length) − 1
   *       if log[index].term ≠ suffix[index − prefixLen].term then
   *         log := ⟨log[0], log[1], …, log[prefixLen − 1]⟩
   *       end if
   *     end if
   *     if prefixLen + suffix.length > log.length then
   *       for i := log.length − prefixLen to suffix.length − 1 do append suffix[i] to log
   *     end if
   *     if leaderCommit > commitLength then
   *       for i := commitLength to leaderCommit − 1 do deliver log[i].msg to the application
   *       commitLength := leaderCommit
   *     end if
   *
   * Two changes, both forced by the bounded suffix (on the slides the suffix always runs to
   * the end of the leader's log; here it stops after maxSuffix entries):
   *  - On a conflict the log is cut at the first index whose term differs from the suffix's,
   *    not at prefixLen (rules.truncateTo, src/raft/rules.ts). The entries in between equal
   *    the suffix's (log matching), so the resulting log is the same as the slide's — but a
   *    committed entry is never removed, even for a moment, and entries past the end of a
   *    short suffix are not lost.
   *  - The follower commits only up to min(leaderCommit, prefixLen + suffix.length): entries
   *    past the suffix are not known to match the leader's and must not be committed.
   */
  private appendEntries(prefixLen: number, leaderCommit: number, suffix: readonly LogEntry[]) {
    this.truncateLog(this.options.rules.truncateTo(this.log, prefixLen, suffix));
    if (prefixLen + suffix.length > this.log.length) {
      this.appendToLog(suffix.slice(this.log.length - prefixLen));
    }
    const verified = Math.min(leaderCommit, prefixLen + suffix.length);
    if (verified > this.commitLength) {
      for (let i = this.commitLength; i < verified; i++) this.deliver(i, true);
      this.setCommitLength(verified);
    }
  }

  // ══ Slide 8/9: leader receiving log acknowledgements ═══════════════════════════════════

  /**
   *   on receiving (LogResponse, follower, term, ack, success) at nodeId do
   *     if term = currentTerm ∧ currentRole = leader then
   *       if success = true ∧ ack ≥ ackedLength[follower] then
   *         sentLength[follower] := ack
   *         ackedLength[follower] := ack
   *         CommitLogEntries()
   *       else if sentLength[follower] > 0 then
   *         sentLength[follower] := sentLength[follower] − 1
   *         ReplicateLog(nodeId, follower)
   *       end if
   *     else if term > currentTerm then
   *       currentTerm := term; currentRole := follower; votedFor := null
   *       cancel election timer
   *     end if
   *
   * Changes: (1) back-off jumps to the follower's hint, never below ackedLength[follower]
   * (that prefix is known to match); (2) a late success for an already-acknowledged prefix
   * is ignored rather than taken as a failure; (3) if the last LogRequest was cut at
   * maxSuffix, the next part is sent at once.
   */
  private onLogResponse(follower: NodeId, response: LogResponse): void {
    const { term, ack, success, hint } = response;
    if (term === this.currentTerm && this.currentRole === 'leader') {
      this.heardFrom.add(follower);
      this.inflight.set(follower, Math.max(0, (this.inflight.get(follower) ?? 0) - 1));
      if (ack > this.log.length) return; // cannot acknowledge what was never sent
      const acked = this.ackedLength.get(follower) ?? 0;
      const sent = this.sentLength.get(follower) ?? 0;
      if (success && ack >= acked) {
        this.sentLength.set(follower, ack);
        this.ackedLength.set(follower, ack);
        this.commitLogEntries();
        // The follower has everything sent so far: send it what was appended since (the
        // next part of a long suffix, or requests held back by maxInflight).
        if (ack < this.log.length && ack >= (this.sentUpTo.get(follower) ?? 0)) {
          this.replicateLog(follower);
        }
      } else if (!success && sent > 0) {
        const next = Math.min(sent - 1, hint ?? sent - 1);
        this.sentLength.set(follower, Math.max(acked, next));
        this.replicateLog(follower);
      }
    } else if (term > this.currentTerm) {
      this.stepDown(term);
    }
  }

  // ══ Slide 9/9: leader committing log entries ═══════════════════════════════════════════

  /**
   *   define acks(length) = |{n ∈ nodes | ackedLength[n] ≥ length}|
   *   function CommitLogEntries
   *     minAcks := ⌈(|nodes| + 1)/2⌉
   *     ready := {len ∈ {1, …, log.length} | acks(len) ≥ minAcks}
   *     if ready ≠ {} ∧ max(ready) > commitLength ∧ log[max(ready) − 1].term = currentTerm then
   *       for i := commitLength to max(ready) − 1 do deliver log[i].msg to the application
   *       commitLength := max(ready)
   *     end if
   *
   * The rule is rules.commitLogEntries (src/raft/rules.ts), which returns the new
   * commitLength; here the entries up to it are delivered. Its term condition is the Raft
   * paper's Figure 8 rule (trap 1), which unsafeCommitAnyTerm drops.
   */
  private commitLogEntries(): void {
    const rule = this.options.unsafeCommitAnyTerm
      ? commitLogEntriesAnyTerm
      : this.options.rules.commitLogEntries;
    const next = rule({
      log: this.log,
      currentTerm: this.currentTerm,
      commitLength: this.commitLength,
      nodes: this.nodes,
      ackedLength: this.ackedLength,
    });
    if (next > this.commitLength) {
      for (let i = this.commitLength; i < next; i++) this.deliver(i, true);
      this.setCommitLength(next);
    }
  }

  // ══ The application: "deliver log[i].msg to the application" ══════════════════════════

  /**
   * Apply a committed entry to the KV store, exactly once per (client, seq): the session
   * table answers a retried request with the cached result and skips a stale one. The
   * leader replies only now, after commit and apply (trap 6). `live` is false while the
   * committed prefix is replayed on recovery: no notes, no replies.
   */
  private deliver(index: number, live: boolean): void {
    const entry = this.entry(index);
    if (live) {
      this.ctx.note('commit', {
        index,
        term: entry.term,
        leaderTerm: this.currentTerm,
        digest: this.log.digestAt(index),
      });
    }
    const { msg } = entry;
    if (msg.type === 'noop') return;
    const verdict = this.sessions.check(msg.client, msg.seq);
    let result: KvResult;
    if (verdict.kind === 'new') {
      result = this.kv.apply(msg.command);
      this.sessions.record(msg.client, msg.seq, result);
      if (live) this.ctx.note('apply', { index, client: msg.client, seq: msg.seq });
    } else if (verdict.kind === 'duplicate') {
      result = verdict.result;
    } else {
      return;
    }
    if (live && this.currentRole === 'leader') {
      this.sendReply(msg.client, { seq: msg.seq, result });
    }
  }

  private sendReply(client: NodeId, reply: { seq: number; result: KvResult }): void {
    const body: ClientReply = { ...reply, leaderHint: this.currentLeader };
    this.ctx.send(client, this.ctx.sign('ClientReply', body));
  }

  private sendRedirect(request: ClientRequest, leaderHint: NodeId | null): void {
    const body: Redirect = { seq: request.seq, leaderHint };
    this.ctx.send(request.client, this.ctx.sign('Redirect', body));
  }

  // ══ Thesis §5.1: snapshots and log compaction ═══════════════════════════════════════════

  /**
   * Thesis §5.1: "each server takes snapshots independently, covering just the committed
   * entries in its log" — the state machine's state after log[0..commitLength − 1] and the
   * term of its last entry; then "the server deletes all log entries up through the last
   * included index". The snapshot is persisted before the entries are deleted, in the same
   * step, so storage always holds one or the other.
   */
  private takeSnapshot(): void {
    const length = this.commitLength;
    const covered = this.log.snapshot.length;
    const snapshot: Snapshot = {
      length,
      term: this.log.termAt(length - 1),
      digest: this.log.digestAt(length - 1),
      runs: this.log.runs().filter(([first]) => first < length),
      kv: this.kv.snapshot() as Snapshot['kv'],
      sessions: this.sessions.snapshot() as Snapshot['sessions'],
    };
    this.snapshot = snapshot;
    this.ctx.persist(KEY_SNAPSHOT, snapshot);
    for (let i = covered; i < length; i++) this.ctx.persist(logKey(i), null);
    this.log.compact(snapshot);
    this.ctx.note('snapshot', { length, term: snapshot.term });
  }

  /** The state machine and the log's base from a snapshot (recovery, InstallSnapshot). */
  private restoreSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.kv = KvStore.restore(snapshot.kv);
    this.sessions = SessionTable.restore<KvResult>(snapshot.sessions);
    if (
      this.log.length >= snapshot.length &&
      this.log.termAt(snapshot.length - 1) === snapshot.term
    ) {
      this.log.compact(snapshot);
    } else {
      this.log.reset(snapshot);
    }
  }

  /**
   * Thesis §5.1: when a follower needs entries the leader has compacted, "the leader must
   * occasionally send snapshots to followers that lag behind" (InstallSnapshot).
   */
  private sendSnapshot(followerId: NodeId): void {
    if (this.snapshot === null) return; // never: the log is compacted only by a snapshot
    this.sentUpTo.set(followerId, this.snapshot.length);
    this.inflight.set(followerId, (this.inflight.get(followerId) ?? 0) + 1);
    const body: InstallSnapshot = { term: this.currentTerm, snapshot: this.snapshot };
    this.ctx.send(followerId, this.ctx.sign('InstallSnapshot', body as unknown as Json));
  }

  /**
   * Thesis §5.1 (Figure 5.3, InstallSnapshot RPC, receiver):
   *   1. reply immediately if term < currentTerm
   *   6. if an existing log entry has the same index and term as the snapshot's last included
   *      entry, retain log entries following it and reply
   *   7. discard the entire log
   *   8. reset the state machine using the snapshot contents
   * A snapshot that covers no more than this follower has committed changes nothing. The
   * reply is slide 8/9's LogResponse acknowledging the prefix the snapshot covers, so the
   * leader goes on with ReplicateLog from there. Order of the writes: the snapshot, the log's
   * new length, commitLength, then the deletion of what it replaced.
   */
  private onInstallSnapshot(leaderId: NodeId, request: InstallSnapshot): void {
    const { term, snapshot } = request;
    if (snapshot.term > term) return; // a leader of `term` never holds later terms
    if (term > this.currentTerm) {
      this.setCurrentTerm(term);
      this.setVotedFor(null);
    }
    if (term < this.currentTerm) {
      this.sendLogResponse(leaderId, { term: this.currentTerm, ack: 0, success: false });
      return;
    }
    this.followLeader(leaderId);
    if (snapshot.length > this.commitLength) {
      const from = this.log.snapshot.length;
      const to = this.log.length;
      this.ctx.persist(KEY_SNAPSHOT, snapshot);
      this.restoreSnapshot(snapshot);
      this.ctx.persist(KEY_LOG_LENGTH, this.log.length);
      this.setCommitLength(snapshot.length);
      for (let i = from; i < Math.min(to, this.log.snapshot.length); i++) {
        this.ctx.persist(logKey(i), null);
      }
      for (let i = this.log.length; i < to; i++) this.ctx.persist(logKey(i), null);
      this.ctx.note('install-snapshot', { length: snapshot.length, term: snapshot.term });
    }
    this.sendLogResponse(leaderId, { term: this.currentTerm, ack: snapshot.length, success: true });
    this.flushBuffered();
  }

  /** Slide 6/9's "currentRole := follower; currentLeader := leaderId" for the current term. */
  private followLeader(leaderId: NodeId): void {
    this.setRole('follower');
    this.currentLeader = leaderId;
    this.lastHeardFromLeader = this.ctx.now();
    this.preVotesReceived = null;
    this.resetElectionTimer();
  }

  // ══ Events ═════════════════════════════════════════════════════════════════════════════

  onMessage(from: NodeId, message: Envelope): void {
    const fromReplica = this.nodes.includes(from);
    const body = message.body as never;
    switch (message.kind) {
      case 'VoteRequest':
        if (fromReplica) this.onVoteRequest(from, body);
        break;
      case 'VoteResponse':
        if (fromReplica) this.onVoteResponse(from, body);
        break;
      case 'PreVoteRequest':
        if (fromReplica) this.onPreVoteRequest(from, body);
        break;
      case 'PreVoteResponse':
        if (fromReplica) this.onPreVoteResponse(from, body);
        break;
      case 'LogRequest':
        if (fromReplica) this.onLogRequest(from, body);
        break;
      case 'LogResponse':
        if (fromReplica) this.onLogResponse(from, body);
        break;
      case 'InstallSnapshot':
        if (fromReplica) this.onInstallSnapshot(from, body);
        break;
      case 'ClientRequest': {
        // A client speaks only for its own session.
        const request = body as ClientRequest;
        if (request.client === from && this.ctx.cluster.clients.includes(from)) {
          this.onClientRequest(request, false);
        }
        break;
      }
      case 'ForwardRequest':
        if (fromReplica) this.onClientRequest(body, true);
        break;
      default:
        break;
    }
    this.announce();
  }

  /** A request handed to this replica by the layer above, as if a client had sent it. */
  onRequest(request: unknown): void {
    const parsed = clientRequestSchema.safeParse(request);
    if (parsed.success) this.onClientRequest(parsed.data, false);
    this.announce();
  }

  // ══ State changes (each persisted where the slides call it stable) ═════════════════════

  /** The shared step-down of slides 2/9, 3/9 and 8/9 (currentLeader is unknown in a new term). */
  private stepDown(term: number): void {
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

  private setCurrentTerm(term: number): void {
    if (term === this.currentTerm) return;
    this.currentTerm = term;
    this.ctx.persist(KEY_TERM, term);
  }

  private setVotedFor(votedFor: NodeId | null): void {
    if (votedFor === this.votedFor) return;
    this.votedFor = votedFor;
    this.ctx.persist(KEY_VOTED_FOR, votedFor);
  }

  private setCommitLength(length: number): void {
    this.commitLength = length;
    this.ctx.persist(KEY_COMMIT, length);
    if (length - this.log.snapshot.length >= this.options.snapshotInterval) this.takeSnapshot();
  }

  private setRole(role: Role): void {
    if (role === this.currentRole) return;
    if (this.currentRole === 'leader') {
      this.ctx.cancelTimer(HEARTBEAT_TIMER);
      this.ctx.cancelTimer(CHECK_QUORUM_TIMER);
    }
    this.currentRole = role;
  }

  /**
   * The 'role' note {term, role, leader}, once per event in which any of the three changed
   * (and at start). A follower that adopts a later term or a new leader makes one too, so an
   * operator's /status and the disruption checks see the term a replica is really in.
   */
  private announce(): void {
    const { currentTerm: term, currentRole: role, currentLeader: leader } = this;
    const last = this.announced;
    if (last !== null && last.term === term && last.role === role && last.leader === leader) return;
    this.announced = { term, role, leader };
    this.ctx.note('role', { term, role, leader });
  }

  /** Append entries, persisting each one and then the new length. */
  private appendToLog(entries: readonly LogEntry[]): void {
    if (entries.length === 0) return;
    for (const entry of entries) {
      const index = this.log.length;
      this.log.append(entry);
      this.ctx.persist(logKey(index), entry);
    }
    this.ctx.persist(KEY_LOG_LENGTH, this.log.length);
  }

  /** log := ⟨log[0], …, log[length − 1]⟩: persist the new length first, then drop entries. */
  private truncateLog(length: number): void {
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

  private resetElectionTimer(): void {
    const [min, max] = this.options.electionTimeoutMs;
    this.ctx.setTimer(ELECTION_TIMER, Math.floor(min + this.ctx.random() * (max - min)));
  }

  // ══ Helpers ════════════════════════════════════════════════════════════════════════════

  private entry(index: number): LogEntry {
    return this.log.entry(index);
  }

  private lastLogTerm(): number {
    return this.log.lastTerm();
  }

  private others(): NodeId[] {
    return this.nodes.filter((n) => n !== this.nodeId);
  }

  /** The log as runs of one term: [[first index, term], …] (for the leader-completeness check). */
  private termRuns(): Json {
    return this.log.runs();
  }

  /** Read-only view for tests and tools (never used by checkers). */
  inspect(): {
    currentTerm: number;
    votedFor: NodeId | null;
    /** The entries held, after the snapshot (all of them while nothing is compacted). */
    log: readonly LogEntry[];
    snapshotLength: number;
    commitLength: number;
    currentRole: Role;
    currentLeader: NodeId | null;
    votesReceived: ReadonlySet<NodeId>;
    sentLength: ReadonlyMap<NodeId, number>;
    ackedLength: ReadonlyMap<NodeId, number>;
    kv: Json;
    buffered: number;
  } {
    return {
      currentTerm: this.currentTerm,
      votedFor: this.votedFor,
      log: this.log.held(),
      snapshotLength: this.log.snapshot.length,
      commitLength: this.commitLength,
      currentRole: this.currentRole,
      currentLeader: this.currentLeader,
      votesReceived: this.votesReceived,
      sentLength: this.sentLength,
      ackedLength: this.ackedLength,
      kv: this.kv.snapshot(),
      buffered: this.buffered.size,
    };
  }
}
