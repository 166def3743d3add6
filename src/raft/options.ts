/**
 * What a RaftNode can be told (RaftOptions) and the names of its timers. The defaults are
 * Kleppmann's slides with the three parts of Ongaro's thesis on (PreVote, CheckQuorum,
 * snapshots) and the service's bounds of src/raft/README.md ("Gaps of the pseudocode").
 */

import { MAX_SUFFIX } from './messages.js';
import { type RaftRules, raftRules } from './rules.js';

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

/** The defaults overridden by `options`; throws on a value no run could work with. */
export function raftOptions(options: Partial<RaftOptions>): RaftOptions {
  const resolved = { ...defaultRaftOptions, ...options };
  const [min, max] = resolved.electionTimeoutMs;
  if (!(min > 0 && max >= min)) throw new Error('electionTimeoutMs must be 0 < min ≤ max');
  if (!(resolved.heartbeatMs > 0)) throw new Error('heartbeatMs must be positive');
  if (!(Number.isInteger(resolved.snapshotInterval) && resolved.snapshotInterval >= 1)) {
    throw new Error('snapshotInterval must be a positive integer');
  }
  if (!(resolved.maxSuffix >= 1 && resolved.maxSuffix <= MAX_SUFFIX)) {
    throw new Error(`maxSuffix must be in [1, ${MAX_SUFFIX}]`);
  }
  return resolved;
}

/** Timer names (ctx.setTimer). */
export const ELECTION_TIMER = 'election';
export const HEARTBEAT_TIMER = 'heartbeat';
export const CHECK_QUORUM_TIMER = 'check-quorum';
