/**
 * Raft's safety properties, checked over the notes of a finished run (never over live
 * objects). The notes a RaftNode makes:
 *
 *   'role'          {term, role, leader}         at start, and on any change of the three
 *   'became-leader' {term, logLength, runs}      runs: the log as [[first index, term], …]
 *   'commit'        {index, term, leaderTerm, digest}
 *                   index is 0-based; term is the entry's; leaderTerm the committing node's
 *                   currentTerm; digest identifies the whole prefix log[0..index]
 *   'apply'         {index, client, seq}         a request applied to the KV store (new only)
 *   'recovered'     {term, logLength, commitLength}
 *   'truncate-committed' {length, commitLength}  a committed entry was cut (safety broken)
 *
 * Notes of nodes the run marks Byzantine prove nothing and are skipped.
 */
import { z } from 'zod';
import type { NoteRecord, RunRecord, Violation } from '../core/kit.js';
import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';

const count = z.number().int().min(0);
const becameLeaderSchema = z.object({
  term: count,
  logLength: count,
  runs: z.array(z.tuple([count, count])),
});
const commitSchema = z.object({
  index: count,
  term: count,
  leaderTerm: count,
  digest: z.string(),
});
const applySchema = z.object({ index: count, client: z.string(), seq: count });
const roleSchema = z.object({ term: count, role: z.enum(['follower', 'candidate', 'leader']) });

/** At most this many violations per checker: one bug tends to repeat at every index. */
const MAX_VIOLATIONS = 10;

type Notes = Pick<RunRecord, 'notes' | 'byzantine'>;

interface Parsed<T> {
  note: NoteRecord;
  data: T;
}

function select<T>(
  run: Notes,
  event: string,
  schema: z.ZodType<T>,
  checker: string,
  violations: Violation[],
): Parsed<T>[] {
  const out: Parsed<T>[] = [];
  for (const note of run.notes) {
    if (note.event !== event || run.byzantine.has(note.node)) continue;
    const parsed = schema.safeParse(note.data);
    if (parsed.success) out.push({ note, data: parsed.data });
    else if (violations.length < MAX_VIOLATIONS) {
      violations.push({
        checker,
        message: `malformed '${event}' note from ${note.node} at ${note.time}`,
        evidence: { node: note.node, time: note.time, data: note.data },
      });
    }
  }
  return out;
}

/** Election safety: at most one leader per term. */
export function checkElectionSafety(run: Notes): Violation[] {
  const checker = 'raft-election-safety';
  const violations: Violation[] = [];
  const leaders = new Map<number, Set<NodeId>>();
  for (const { note, data } of select(
    run,
    'became-leader',
    becameLeaderSchema,
    checker,
    violations,
  )) {
    const set = leaders.get(data.term) ?? new Set<NodeId>();
    set.add(note.node);
    leaders.set(data.term, set);
  }
  for (const [term, set] of leaders) {
    if (set.size > 1 && violations.length < MAX_VIOLATIONS) {
      violations.push({
        checker,
        message: `term ${term} has ${set.size} leaders: ${[...set].sort().join(', ')}`,
        evidence: { term, leaders: [...set].sort() },
      });
    }
  }
  return violations;
}

/**
 * State-machine safety (and log matching on the committed prefix): no two nodes commit
 * different entries at one index — compared by the digest of the whole prefix up to it —
 * and no two nodes apply different requests at one index.
 */
export function checkStateMachineSafety(run: Notes): Violation[] {
  const checker = 'raft-state-machine-safety';
  const violations: Violation[] = [];
  const committed = new Map<number, { node: NodeId; digest: string; term: number }>();
  for (const { note, data } of select(run, 'commit', commitSchema, checker, violations)) {
    const first = committed.get(data.index);
    if (first === undefined) {
      committed.set(data.index, { node: note.node, digest: data.digest, term: data.term });
    } else if (first.digest !== data.digest && violations.length < MAX_VIOLATIONS) {
      violations.push({
        checker,
        message: `index ${data.index}: ${first.node} committed an entry of term ${first.term}, ${note.node} one of term ${data.term} (different logs)`,
        evidence: {
          index: data.index,
          commits: [
            { node: first.node, term: first.term, digest: first.digest },
            { node: note.node, term: data.term, digest: data.digest },
          ],
        },
      });
    }
  }
  const applied = new Map<number, { node: NodeId; request: string }>();
  for (const { note, data } of select(run, 'apply', applySchema, checker, violations)) {
    const request = `${data.client}#${data.seq}`;
    const first = applied.get(data.index);
    if (first === undefined) applied.set(data.index, { node: note.node, request });
    else if (first.request !== request && violations.length < MAX_VIOLATIONS) {
      violations.push({
        checker,
        message: `index ${data.index}: ${first.node} applied ${first.request}, ${note.node} applied ${request}`,
        evidence: { index: data.index, applied: [first, { node: note.node, request }] },
      });
    }
  }
  for (const note of run.notes) {
    if (note.event === 'truncate-committed' && !run.byzantine.has(note.node)) {
      if (violations.length < MAX_VIOLATIONS) {
        violations.push({
          checker,
          message: `${note.node} truncated committed entries at ${note.time}`,
          evidence: { node: note.node, time: note.time, data: note.data },
        });
      }
    }
  }
  return violations;
}

/** Exactly-once: no node applies one (client, seq) twice (a restart's replay is not noted). */
export function checkExactlyOnce(run: Notes): Violation[] {
  const checker = 'raft-exactly-once';
  const violations: Violation[] = [];
  const seen = new Map<string, number>();
  for (const { note, data } of select(run, 'apply', applySchema, checker, violations)) {
    const key = `${note.instance}\u0000${data.client}#${data.seq}`;
    const index = seen.get(key);
    if (index === undefined) seen.set(key, data.index);
    else if (violations.length < MAX_VIOLATIONS) {
      violations.push({
        checker,
        message: `${note.node} applied ${data.client}#${data.seq} twice (indices ${index} and ${data.index})`,
        evidence: {
          node: note.node,
          client: data.client,
          seq: data.seq,
          indices: [index, data.index],
        },
      });
    }
  }
  return violations;
}

/** The term of index `i` in a log described by its runs, or null past its end. */
function termAt(runs: readonly (readonly [number, number])[], logLength: number, i: number) {
  if (i >= logLength) return null;
  let term: number | null = null;
  for (const [first, t] of runs) {
    if (first > i) break;
    term = t;
  }
  return term;
}

/**
 * Leader completeness: an entry committed in term T is in the log of every leader of a term
 * above T. Approximation through notes: a new leader notes its log as runs of terms, and an
 * entry counts as present when the leader's log holds an entry of the same term at the same
 * index — which by the log matching property is the same entry (the state-machine-safety
 * check compares the committed entries themselves). "Committed in term T" takes the lowest
 * leaderTerm among the commit notes of that index.
 */
export function checkLeaderCompleteness(run: Notes): Violation[] {
  const checker = 'raft-leader-completeness';
  const violations: Violation[] = [];
  const committed = new Map<number, { term: number; leaderTerm: number; node: NodeId }>();
  for (const { note, data } of select(run, 'commit', commitSchema, checker, violations)) {
    const first = committed.get(data.index);
    if (first === undefined || data.leaderTerm < first.leaderTerm) {
      committed.set(data.index, { term: data.term, leaderTerm: data.leaderTerm, node: note.node });
    }
  }
  const leaders = select(run, 'became-leader', becameLeaderSchema, checker, violations);
  for (const { note, data } of leaders) {
    for (const [index, c] of committed) {
      if (c.leaderTerm >= data.term) continue;
      const term = termAt(data.runs, data.logLength, index);
      if (term !== c.term && violations.length < MAX_VIOLATIONS) {
        violations.push({
          checker,
          message: `${note.node} became leader of term ${data.term} without the entry of term ${c.term} at index ${index}, committed in term ${c.leaderTerm}`,
          evidence: {
            leader: note.node,
            term: data.term,
            index,
            committed: { term: c.term, leaderTerm: c.leaderTerm, node: c.node },
            leaderHas: term as Json,
          },
        });
      }
    }
  }
  return violations;
}

/** Every Raft invariant. */
export function checkRaftInvariants(run: Notes): Violation[] {
  return [
    ...checkElectionSafety(run),
    ...checkStateMachineSafety(run),
    ...checkExactlyOnce(run),
    ...checkLeaderCompleteness(run),
  ];
}

/**
 * Who leads now, judged from the notes: the node with the highest-term 'became-leader' note
 * that has not noted a role change since (a crash is not in the notes: a crashed leader
 * stays the answer until it restarts or a later leader appears).
 */
export function currentLeader(notes: readonly NoteRecord[]): NodeId | null {
  let best: { node: NodeId; term: number } | null = null;
  for (const note of notes) {
    if (note.event === 'became-leader') {
      const parsed = becameLeaderSchema.safeParse(note.data);
      if (parsed.success && (best === null || parsed.data.term >= best.term)) {
        best = { node: note.node, term: parsed.data.term };
      }
    } else if (note.event === 'role' && best !== null && note.node === best.node) {
      const parsed = roleSchema.safeParse(note.data);
      if (parsed.success && parsed.data.role !== 'leader') best = null;
    }
  }
  return best?.node ?? null;
}
