/**
 * Reference solution of lab "raft-commit": the skeleton (labs/raft-commit/rules.ts) filled in
 * from the project's own rules, src/raft/rules.ts. CI grades it (test/labs/raft-commit.test.ts)
 * and expects full marks.
 */
import { type LeaderView, type LogView, majority } from 'bftkit';

/** RAFT-6.4 */
export function logOk(log: LogView, prefixLen: number, prefixTerm: number): boolean {
  return log.length >= prefixLen && (prefixLen === 0 || log.termAt(prefixLen - 1) === prefixTerm);
}

/** RC-2…RC-4 */
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

/** RAFT-9.1…9.5 */
export function commitLogEntries(leader: LeaderView): number {
  const minAcks = majority(leader.nodes.length);
  const acked = leader.nodes.map((n) => leader.ackedLength.get(n) ?? 0).sort((a, b) => b - a);
  const maxReady = acked[minAcks - 1] ?? 0;
  return maxReady > leader.commitLength && leader.log.termAt(maxReady - 1) === leader.currentTerm
    ? maxReady
    : leader.commitLength;
}
