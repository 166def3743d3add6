/**
 * Each Raft checker against a set of notes that breaks it (a checker that cannot fail is no
 * checker) and against one that does not.
 */
import { describe, expect, it } from 'vitest';
import type { NoteRecord } from '../../src/core/kit.js';
import type { Json } from '../../src/crypto/json.js';
import {
  checkElectionSafety,
  checkExactlyOnce,
  checkLeaderCompleteness,
  checkRaftInvariants,
  checkStateMachineSafety,
  currentLeader,
} from '../../src/raft/invariants.js';

let clock = 0;
const note = (node: string, event: string, data: Json): NoteRecord => ({
  time: clock++,
  node,
  instance: node,
  event,
  data,
});
const run = (notes: NoteRecord[], byzantine: string[] = []) => ({
  notes,
  byzantine: new Set(byzantine),
});

const leader = (node: string, term: number, runs: [number, number][] = [], logLength = 0) =>
  note(node, 'became-leader', { term, logLength, runs });
const commit = (node: string, index: number, term: number, leaderTerm: number, digest: string) =>
  note(node, 'commit', { index, term, leaderTerm, digest });
const apply = (node: string, index: number, client: string, seq: number) =>
  note(node, 'apply', { index, client, seq });

/** A healthy history: n0 leads term 1 and commits two entries everywhere; n1 leads term 2. */
const healthy = [
  leader('n0', 1),
  commit('n0', 0, 1, 1, 'a'),
  commit('n0', 1, 1, 1, 'b'),
  apply('n0', 1, 'c0', 1),
  commit('n1', 0, 1, 1, 'a'),
  commit('n1', 1, 1, 1, 'b'),
  apply('n1', 1, 'c0', 1),
  note('n0', 'role', { term: 2, role: 'follower' }),
  leader('n1', 2, [[0, 1]], 2),
  commit('n1', 2, 2, 2, 'c'),
];

describe('Raft invariants', () => {
  it('a healthy history passes every checker', () => {
    expect(checkRaftInvariants(run(healthy))).toEqual([]);
  });

  it('election safety: two leaders in one term', () => {
    const v = checkElectionSafety(run([leader('n0', 3), leader('n1', 3), leader('n2', 4)]));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      checker: 'raft-election-safety',
      evidence: { term: 3, leaders: ['n0', 'n1'] },
    });
    // One node noting twice (it cannot, but) is still one leader.
    expect(checkElectionSafety(run([leader('n0', 3), leader('n0', 3)]))).toEqual([]);
  });

  it('state-machine safety: two nodes commit different entries at one index', () => {
    const v = checkStateMachineSafety(
      run([commit('n0', 4, 2, 2, 'x'), commit('n1', 4, 3, 3, 'y'), commit('n2', 4, 2, 3, 'x')]),
    );
    expect(v).toHaveLength(1);
    expect(v[0]?.checker).toBe('raft-state-machine-safety');
    expect(v[0]?.message).toMatch(/index 4/);
  });

  it('state-machine safety: two nodes apply different requests at one index', () => {
    const v = checkStateMachineSafety(run([apply('n0', 2, 'c0', 5), apply('n1', 2, 'c1', 5)]));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      checker: 'raft-state-machine-safety',
      evidence: {
        index: 2,
        applied: [
          { node: 'n0', request: 'c0#5' },
          { node: 'n1', request: 'c1#5' },
        ],
      },
    });
  });

  it('state-machine safety: a node cutting committed entries is reported', () => {
    const v = checkStateMachineSafety(
      run([note('n2', 'truncate-committed', { length: 1, commitLength: 3 })]),
    );
    expect(v).toHaveLength(1);
  });

  it('exactly-once: one node applies one (client, seq) twice', () => {
    const v = checkExactlyOnce(run([apply('n0', 1, 'c0', 1), apply('n0', 3, 'c0', 1)]));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      checker: 'raft-exactly-once',
      evidence: { node: 'n0', client: 'c0', seq: 1, indices: [1, 3] },
    });
    // Different nodes applying the same request is what replication is.
    expect(checkExactlyOnce(run([apply('n0', 1, 'c0', 1), apply('n1', 1, 'c0', 1)]))).toEqual([]);
  });

  it('leader completeness: a leader of a later term lacks a committed entry', () => {
    // Entry (index 1, term 1) committed in term 1; the leader of term 2 holds term 2 there.
    const missing = [
      commit('n0', 1, 1, 1, 'b'),
      leader(
        'n2',
        2,
        [
          [0, 1],
          [1, 2],
        ],
        2,
      ),
    ];
    const v = checkLeaderCompleteness(run(missing));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      checker: 'raft-leader-completeness',
      evidence: { leader: 'n2', term: 2, index: 1, committed: { term: 1 }, leaderHas: 2 },
    });
    // Or whose log is too short.
    const short = [commit('n0', 1, 1, 1, 'b'), leader('n2', 2, [[0, 1]], 1)];
    expect(checkLeaderCompleteness(run(short))).toHaveLength(1);
    // A leader of the same or an earlier term is not bound by it.
    const earlier = [commit('n0', 1, 1, 3, 'b'), leader('n2', 3, [[0, 1]], 1)];
    expect(checkLeaderCompleteness(run(earlier))).toEqual([]);
  });

  it('notes of Byzantine nodes are ignored; malformed notes are reported', () => {
    expect(checkElectionSafety(run([leader('n0', 3), leader('n1', 3)], ['n1']))).toEqual([]);
    const v = checkElectionSafety(run([note('n0', 'became-leader', { term: 'x' })]));
    // A note that does not parse is reported with the note itself as evidence.
    expect(v).toEqual([
      {
        checker: 'raft-election-safety',
        message: expect.any(String),
        evidence: { node: 'n0', time: expect.any(Number), data: { term: 'x' } },
      },
    ]);
  });

  it('currentLeader: the latest leader that has not stepped down', () => {
    expect(currentLeader([])).toBeNull();
    expect(currentLeader(healthy)).toBe('n1');
    const stepped = [...healthy, note('n1', 'role', { term: 3, role: 'follower' })];
    expect(currentLeader(stepped)).toBeNull();
    // A leader of an earlier term noted late does not displace a later one.
    expect(currentLeader([leader('n1', 5), leader('n0', 4)])).toBe('n1');
  });
});
