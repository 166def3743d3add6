/**
 * Raft's three log rules as pure functions — the consistency check a follower applies to a
 * LogRequest (slide 6/9), the repair of its log before it appends the suffix (slide 7/9), and
 * the leader's commit rule (slide 9/9) — so that a RaftNode can be given other ones: the lab
 * `raft-commit` runs the cluster with a student's (option `rules` of RaftOptions). They read
 * the log through a LogView and change nothing; the core does the truncating, appending,
 * persisting and delivering around them.
 */

import type { NodeId } from '../core/protocol.js';
import { majority } from '../core/quorum.js';

/** What the rules read of a log: its length and its entries' terms (0-based, as on the slides). */
export interface LogView {
  readonly length: number;
  /** log[index].term; 0 for index −1 (before the first entry). */
  termAt(index: number): number;
}

/** What the leader's commit rule reads of the leader's state. */
export interface LeaderView {
  readonly log: LogView;
  readonly currentTerm: number;
  readonly commitLength: number;
  readonly nodes: readonly NodeId[];
  /** Per node, the log prefix it acknowledged (the leader's own entry is log.length). */
  readonly ackedLength: ReadonlyMap<NodeId, number>;
}

export interface RaftRules {
  /** Slide 6/9: whether the follower's log holds the leader's prefix, so the suffix fits. */
  logOk(log: LogView, prefixLen: number, prefixTerm: number): boolean;
  /**
   * Slide 7/9: how many entries of the follower's log to keep before the suffix (starting at
   * index prefixLen) is appended — log.length when nothing conflicts. Called only when logOk.
   */
  truncateTo(log: LogView, prefixLen: number, suffix: readonly { term: number }[]): number;
  /** Slide 9/9: the leader's new commitLength (its current one when nothing more commits). */
  commitLogEntries(leader: LeaderView): number;
}

/**
 *   logOk := (log.length ≥ prefixLen) ∧ (prefixLen = 0 ∨ log[prefixLen − 1].term = prefixTerm)
 *
 * Log matching: two logs holding an entry of the same term at one index are equal up to it,
 * so the term of the last entry of the prefix vouches for the whole prefix.
 */
export function logOk(log: LogView, prefixLen: number, prefixTerm: number): boolean {
  return log.length >= prefixLen && (prefixLen === 0 || log.termAt(prefixLen - 1) === prefixTerm);
}

/**
 * The Raft paper's rule (Figure 2, AppendEntries 3): "if an existing entry conflicts with a
 * new one (same index but different terms), delete the existing entry and all that follow it".
 * The slides cut at prefixLen instead; with a bounded suffix that could cut entries already
 * committed (those before the conflict equal the suffix's, and are then appended again), so
 * the log is cut at the first conflicting index — the same log in the end, and a committed
 * entry is never removed. No conflict within the suffix: keep the whole log, even past the
 * suffix's end (a late, shorter LogRequest must not undo a longer one).
 */
export function truncateTo(
  log: LogView,
  prefixLen: number,
  suffix: readonly { term: number }[],
): number {
  const overlap = Math.min(log.length, prefixLen + suffix.length);
  for (let i = prefixLen; i < overlap; i++)
    if (log.termAt(i) !== suffix[i - prefixLen]?.term) return i;
  return log.length;
}

/**
 * The longest prefix a majority acknowledged: slide 9/9's max(ready), 0 when ready = {}.
 * acks(len) only decreases as len grows, so ready = {1, …, max(ready)} and max(ready) is the
 * minAcks-th largest acknowledged length. minAcks := ⌈(|nodes| + 1)/2⌉.
 */
export function majorityAcked(leader: LeaderView): number {
  const minAcks = majority(leader.nodes.length);
  const acked = leader.nodes
    .map((n) => Math.min(leader.ackedLength.get(n) ?? 0, leader.log.length))
    .sort((a, b) => b - a);
  return acked[minAcks - 1] ?? 0;
}

/**
 *   if ready ≠ {} ∧ max(ready) > commitLength ∧ log[max(ready) − 1].term = currentTerm then
 *     commitLength := max(ready)
 *
 * The term condition is the Raft paper's Figure 8: an entry of an earlier term on a majority
 * can still be overwritten by a leader that never saw it, so it is committed only with an
 * entry of the leader's own term after it (hence the no-op a new leader appends).
 */
export function commitLogEntries(leader: LeaderView): number {
  const maxReady = majorityAcked(leader);
  return maxReady > leader.commitLength && leader.log.termAt(maxReady - 1) === leader.currentTerm
    ? maxReady
    : leader.commitLength;
}

/**
 * DANGER — negative tests only (option unsafeCommitAnyTerm): slide 9/9 without its term
 * condition, so a leader commits earlier-term entries by counting replicas (Figure 8's trap).
 */
export function commitLogEntriesAnyTerm(leader: LeaderView): number {
  return Math.max(majorityAcked(leader), leader.commitLength);
}

/** The project's rules: the ones every RaftNode uses unless told otherwise. */
export const raftRules: RaftRules = { logOk, truncateTo, commitLogEntries };
