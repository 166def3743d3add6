/**
 * Raft in Kleppmann's formulation (seeds/004, "Raft (1/9)" … "Raft (9/9)"), as a sans-IO
 * core driving a replicated key-value store. Each slide's pseudocode is beside the function
 * that implements it; src/raft/README.md lists them side by side, together with the gaps a
 * service has to close and the traps of docs/reference/raft.md.
 *
 * Three parts of Ongaro's thesis ("Consensus: Bridging Theory and Practice", 2014) are added,
 * each quoted above its functions: Pre-Vote (§9.6), CheckQuorum (§6.2), and snapshots with log
 * compaction and InstallSnapshot (§5.1). PreVote and CheckQuorum are options, on by default.
 *
 * RaftNode is the entry point: it starts and recovers a node (slide 1/9) and routes each
 * timer and message to the part of Raft it belongs to:
 *
 *   state.ts ............ slide 1/9's variables, and the changes that persist them
 *   election.ts ......... election timeout (1/9), votes (2/9, 3/9), becoming leader, Pre-Vote
 *   requests.ts ......... client requests (4/9): sessions, forwarding, buffering
 *   replication.ts ...... the leader: heartbeat (4/9), ReplicateLog (5/9), acknowledgements
 *                         (8/9), CommitLogEntries (9/9), CheckQuorum, sending a snapshot
 *   progress.ts ......... the leader's sentLength and ackedLength per follower
 *   follower.ts ......... the follower: LogRequest (6/9), AppendEntries (7/9), InstallSnapshot
 *   state-machine.ts .... "deliver log[i].msg to the application", snapshots taken, restored
 *   options.ts, storage.ts, log.ts, rules.ts, messages.ts: what the parts are built from
 *
 * Indices are 0-based, as on the slides: log[0] is the first entry, and a "length" is the
 * number of entries in a prefix.
 */

import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, Protocol, Recovered } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import {
  onPreVoteRequest,
  onPreVoteResponse,
  onVoteRequest,
  onVoteResponse,
  startElection,
  startPreVote,
} from './election.js';
import { onInstallSnapshot, onLogRequest } from './follower.js';
import {
  type ClientRequest,
  clientRequestSchema,
  type LogEntry,
  logEntrySchema,
  snapshotSchema,
} from './messages.js';
import {
  CHECK_QUORUM_TIMER,
  ELECTION_TIMER,
  HEARTBEAT_TIMER,
  type RaftOptions,
  type Role,
  raftOptions,
} from './options.js';
import { checkQuorum, onLogResponse, periodically } from './replication.js';
import { onClientRequest } from './requests.js';
import { RaftState } from './state.js';
import { deliver, restoreSnapshot } from './state-machine.js';
import {
  KEY_COMMIT,
  KEY_LOG_LENGTH,
  KEY_SNAPSHOT,
  KEY_TERM,
  KEY_VOTED_FOR,
  logKey,
} from './storage.js';

export class RaftNode implements Protocol {
  private readonly s: RaftState;
  /** What the last 'role' note said (see announce). */
  private announced: { term: number; role: Role; leader: NodeId | null } | null = null;

  constructor(ctx: Context, options: Partial<RaftOptions> = {}) {
    this.s = new RaftState(ctx, raftOptions(options));
  }

  // ══ Slide 1/9: initialisation, recovery, election timeout ══════════════════════════════

  /**
   * recovered = null: "on initialisation" — the field initialisers of RaftState are that
   * slide's assignments. Otherwise "on recovery from crash": currentTerm, votedFor, log and
   * commitLength come back from storage, everything else keeps its initial value (follower,
   * no leader, no votes, empty sentLength/ackedLength). The state machine is restored from
   * the latest snapshot (thesis §5.1) and rebuilt by re-applying the committed entries after
   * it, log[snapshot.length..commitLength−1].
   */
  start(recovered: Recovered | null): void {
    if (recovered !== null) this.recover(recovered);
    this.s.resetElectionTimer();
    this.announce();
  }

  private recover(stored: Recovered): void {
    const s = this.s;
    const term = stored.get(KEY_TERM);
    s.currentTerm = typeof term === 'number' ? term : 0;
    const votedFor = stored.get(KEY_VOTED_FOR);
    s.votedFor = typeof votedFor === 'string' ? votedFor : null;
    // Thesis §5.1: recovery starts from the snapshot, then reads the entries after it.
    const snapshot = snapshotSchema.safeParse(stored.get(KEY_SNAPSHOT));
    if (snapshot.success) restoreSnapshot(s, snapshot.data);
    const storedLength = stored.get(KEY_LOG_LENGTH);
    const length = typeof storedLength === 'number' ? storedLength : 0;
    for (let i = s.log.length; i < length; i++) {
      const entry = logEntrySchema.safeParse(stored.get(logKey(i)));
      if (!entry.success) break; // never happens: an entry is written before log.length
      s.log.append(entry.data);
    }
    if (s.log.length !== length) s.ctx.persist(KEY_LOG_LENGTH, s.log.length);
    const commit = stored.get(KEY_COMMIT);
    const covered = s.log.snapshot.length;
    s.commitLength = Math.min(
      Math.max(typeof commit === 'number' ? commit : 0, covered),
      s.log.length,
    );
    for (let i = covered; i < s.commitLength; i++) deliver(s, i, false);
    s.ctx.note('recovered', {
      term: s.currentTerm,
      logLength: s.log.length,
      commitLength: s.commitLength,
      snapshotLength: covered,
    });
  }

  /**
   * The election timeout starts slide 1/9's election (election.ts), after a pre-election
   * when PreVote is on; the heartbeat and the CheckQuorum check are the leader's
   * (replication.ts).
   */
  onTimer(name: string): void {
    if (name === ELECTION_TIMER) {
      if (this.s.currentRole === 'leader') return;
      if (this.s.options.preVote) startPreVote(this.s);
      else startElection(this.s);
    } else if (name === HEARTBEAT_TIMER) {
      periodically(this.s);
    } else if (name === CHECK_QUORUM_TIMER) {
      checkQuorum(this.s);
    }
    this.announce();
  }

  // ══ Events ═════════════════════════════════════════════════════════════════════════════

  onMessage(from: NodeId, message: Envelope): void {
    const s = this.s;
    const fromReplica = s.nodes.includes(from);
    const body = message.body as never;
    switch (message.kind) {
      case 'VoteRequest':
        if (fromReplica) onVoteRequest(s, from, body);
        break;
      case 'VoteResponse':
        if (fromReplica) onVoteResponse(s, from, body);
        break;
      case 'PreVoteRequest':
        if (fromReplica) onPreVoteRequest(s, from, body);
        break;
      case 'PreVoteResponse':
        if (fromReplica) onPreVoteResponse(s, from, body);
        break;
      case 'LogRequest':
        if (fromReplica) onLogRequest(s, from, body);
        break;
      case 'LogResponse':
        if (fromReplica) onLogResponse(s, from, body);
        break;
      case 'InstallSnapshot':
        if (fromReplica) onInstallSnapshot(s, from, body);
        break;
      case 'ClientRequest': {
        // A client speaks only for its own session.
        const request = body as ClientRequest;
        if (request.client === from && s.ctx.cluster.clients.includes(from)) {
          onClientRequest(s, request, false);
        }
        break;
      }
      case 'ForwardRequest':
        if (fromReplica) onClientRequest(s, body, true);
        break;
      default:
        break;
    }
    this.announce();
  }

  /** A request handed to this replica by the layer above, as if a client had sent it. */
  onRequest(request: unknown): void {
    const parsed = clientRequestSchema.safeParse(request);
    if (parsed.success) onClientRequest(this.s, parsed.data, false);
    this.announce();
  }

  /**
   * The 'role' note {term, role, leader}, once per event in which any of the three changed
   * (and at start). A follower that adopts a later term or a new leader makes one too, so an
   * operator's /status and the disruption checks see the term a replica is really in.
   */
  private announce(): void {
    const { currentTerm: term, currentRole: role, currentLeader: leader } = this.s;
    const last = this.announced;
    if (last !== null && last.term === term && last.role === role && last.leader === leader) return;
    this.announced = { term, role, leader };
    this.s.ctx.note('role', { term, role, leader });
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
    const s = this.s;
    return {
      currentTerm: s.currentTerm,
      votedFor: s.votedFor,
      log: s.log.held(),
      snapshotLength: s.log.snapshot.length,
      commitLength: s.commitLength,
      currentRole: s.currentRole,
      currentLeader: s.currentLeader,
      votesReceived: s.votesReceived,
      sentLength: s.progress.sentLength,
      ackedLength: s.progress.ackedLength,
      kv: s.kv.snapshot(),
      buffered: s.buffered.size,
    };
  }
}
