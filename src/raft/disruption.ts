/**
 * Bounds on disruption, checked over the notes when a scenario asks for them (params
 * `maxTerm`, `maxStaleLeaderMs`). They are not safety properties — Raft is safe with any
 * number of terms — but they are what PreVote and CheckQuorum buy, so a scenario states them
 * and the run fails when they do not hold:
 *
 *   term-bound      no replica ever reaches a term above maxTerm. A partitioned or restarted
 *                   replica that raises its term at every election timeout breaks it (PreVote
 *                   off); with PreVote it stays where the cluster is.
 *   stale-leader    a replica that led term T and has not stepped down is a stale leader once
 *                   another replica leads a later term; it must step down (a 'role' note)
 *                   within maxStaleLeaderMs of that. A leader cut off from its majority keeps
 *                   leading — and keeps its clients waiting — until it hears the new term
 *                   (CheckQuorum off); with CheckQuorum it steps down within two checks.
 *                   A crash makes no note: use it in scenarios where leaders do not crash.
 */

import type { RunRecord, Violation } from '../core/kit.js';
import type { NodeId } from '../core/protocol.js';

export interface DisruptionBounds {
  maxTerm?: number | undefined;
  maxStaleLeaderMs?: number | undefined;
}

const termOf = (data: unknown): number | null => {
  const term = (data as { term?: unknown } | null)?.term;
  return typeof term === 'number' ? term : null;
};

export function checkDisruption(
  run: Pick<RunRecord, 'notes' | 'byzantine' | 'endTime'>,
  bounds: DisruptionBounds,
): Violation[] {
  const violations: Violation[] = [];
  const notes = run.notes.filter((n) => !run.byzantine.has(n.node));
  if (bounds.maxTerm !== undefined) {
    const highest = notes
      .filter((n) => n.event === 'role')
      .reduce<{ node: NodeId; term: number; time: number } | null>((best, n) => {
        const term = termOf(n.data);
        return term !== null && (best === null || term > best.term)
          ? { node: n.node, term, time: n.time }
          : best;
      }, null);
    if (highest !== null && highest.term > bounds.maxTerm) {
      violations.push({
        checker: 'raft-term-bound',
        message: `${highest.node} reached term ${highest.term} at ${highest.time} ms (bound ${bounds.maxTerm})`,
        evidence: highest,
      });
    }
  }
  if (bounds.maxStaleLeaderMs !== undefined) {
    // Who leads, per node, and since when a later term has had another leader.
    const leading = new Map<NodeId, { term: number; staleSince: number | null }>();
    const report = (node: NodeId, term: number, since: number, until: number) => {
      if (until - since > (bounds.maxStaleLeaderMs ?? 0)) {
        violations.push({
          checker: 'raft-stale-leader',
          message: `${node} still led term ${term} ${until - since} ms after a later term had a leader (bound ${bounds.maxStaleLeaderMs} ms)`,
          evidence: { node, term, since, until },
        });
      }
    };
    for (const n of notes) {
      if (n.event === 'became-leader') {
        const term = termOf(n.data) ?? 0;
        for (const [other, state] of leading) {
          if (other !== n.node && state.term < term && state.staleSince === null) {
            state.staleSince = n.time;
          }
        }
        leading.set(n.node, { term, staleSince: null });
      } else if (n.event === 'role' && (n.data as { role?: unknown } | null)?.role !== 'leader') {
        const state = leading.get(n.node);
        if (state?.staleSince != null) report(n.node, state.term, state.staleSince, n.time);
        leading.delete(n.node);
      }
    }
    for (const [node, state] of leading) {
      if (state.staleSince !== null) report(node, state.term, state.staleSince, run.endTime);
    }
  }
  return violations;
}
