/**
 * Lab "raft-commit": Raft's three log rules (README.md). Write the functions marked TODO; the
 * labels (RAFT-n.m, RC-n) are those of the pseudocode in README.md. Every replica of the
 * grader's scenarios runs bftkit's Raft with these three functions.
 * Grade with: npx bftkit lab grade raft-commit .
 */
import type { LeaderView, LogView } from 'bftkit';

/**
 * RAFT-6.4: whether a follower whose log is `log` can take a LogRequest whose suffix starts
 * at index prefixLen, after an entry of term prefixTerm (prefixTerm is 0 when prefixLen = 0).
 * `log.termAt(i)` is log[i].term; `log.length` counts entries.
 */
export function logOk(log: LogView, prefixLen: number, prefixTerm: number): boolean {
  // TODO RAFT-6.4 (and RC-1: why one term is enough).
  throw new Error(
    `TODO: logOk(prefixLen ${prefixLen}, prefixTerm ${prefixTerm}, log ${log.length})`,
  );
}

/**
 * RC-2…RC-4 (RAFT-7.2…7.4, bounded): called only when logOk holds. The suffix's entry i
 * belongs at index prefixLen + i. Return how many entries of the follower's log to keep before
 * bftkit appends what the suffix adds: log.length when nothing conflicts.
 */
export function truncateTo(
  log: LogView,
  prefixLen: number,
  suffix: readonly { term: number }[],
): number {
  // TODO RC-2…RC-4: find the first index where log and suffix disagree on the term.
  throw new Error(
    `TODO: truncateTo(prefixLen ${prefixLen}, ${suffix.length} entries, log ${log.length})`,
  );
}

/**
 * RAFT-9.1…9.5: the leader's new commitLength — leader.commitLength when nothing more can
 * commit. leader.ackedLength.get(n) is the prefix node n acknowledged (the leader's own is its
 * log length); leader.nodes lists every node, the leader included. bftkit delivers
 * log[commitLength..new − 1] to the application and tells the followers.
 */
export function commitLogEntries(leader: LeaderView): number {
  // TODO RAFT-9.3 (minAcks), RAFT-9.4 (max(ready)), RAFT-9.5 (both conditions: Figure 8).
  throw new Error(
    `TODO: commitLogEntries(term ${leader.currentTerm}, commitLength ${leader.commitLength})`,
  );
}
