/**
 * The disruption bounds (src/raft/disruption.ts) over hand-made notes: each bound is met by a
 * run that stays inside it and reported for one that leaves it.
 */
import { describe, expect, it } from 'vitest';
import type { NoteRecord } from '../../src/core/kit.js';
import type { Json } from '../../src/crypto/json.js';
import { checkDisruption } from '../../src/raft/disruption.js';

const note = (time: number, node: string, event: string, data: Json): NoteRecord => ({
  time,
  node,
  instance: node,
  event,
  data,
});
const run = (notes: NoteRecord[], endTime = 10_000) => ({
  notes,
  byzantine: new Set<string>(),
  endTime,
});

describe('raft-term-bound', () => {
  const notes = [
    note(0, 'n0', 'role', { term: 0, role: 'follower' }),
    note(200, 'n0', 'role', { term: 1, role: 'candidate' }),
    note(3000, 'n4', 'role', { term: 7, role: 'candidate' }),
  ];

  it('passes when no term exceeds maxTerm, and reports the highest one otherwise', () => {
    expect(checkDisruption(run(notes), { maxTerm: 7 })).toEqual([]);
    const violations = checkDisruption(run(notes), { maxTerm: 2 });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({
      checker: 'raft-term-bound',
      evidence: { node: 'n4', term: 7 },
    });
  });

  it('checks nothing without a bound', () => {
    expect(checkDisruption(run(notes), {})).toEqual([]);
  });
});

describe('raft-stale-leader', () => {
  const leads = (time: number, node: string, term: number) =>
    note(time, node, 'became-leader', { term, logLength: 0, runs: [] });
  const steps = (time: number, node: string, term: number) =>
    note(time, node, 'role', { term, role: 'follower' });

  it('a deposed leader that steps down within the bound passes', () => {
    const notes = [leads(100, 'n0', 1), leads(2000, 'n1', 2), steps(2400, 'n0', 1)];
    expect(checkDisruption(run(notes), { maxStaleLeaderMs: 1000 })).toEqual([]);
  });

  it('one that goes on leading past the bound is reported, also when it never steps down', () => {
    const late = [leads(100, 'n0', 1), leads(2000, 'n1', 2), steps(5000, 'n0', 2)];
    expect(checkDisruption(run(late), { maxStaleLeaderMs: 1000 })).toMatchObject([
      { checker: 'raft-stale-leader', evidence: { node: 'n0', term: 1, since: 2000, until: 5000 } },
    ]);
    const never = [leads(100, 'n0', 1), leads(2000, 'n1', 2)];
    expect(checkDisruption(run(never, 9000), { maxStaleLeaderMs: 1000 })).toMatchObject([
      { checker: 'raft-stale-leader', evidence: { node: 'n0', since: 2000, until: 9000 } },
    ]);
  });

  it('a leader re-elected in a later term is not stale', () => {
    const notes = [leads(100, 'n0', 1), leads(2000, 'n0', 3)];
    expect(checkDisruption(run(notes), { maxStaleLeaderMs: 10 })).toEqual([]);
  });
});
