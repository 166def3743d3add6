/**
 * The Raft paper's Figure 8, scripted on five nodes. A leader that commits an entry of an
 * earlier term by counting replicas (slide 9/9 without `log[max(ready)−1].term =
 * currentTerm`) lets a later leader overwrite a committed entry; the real rule does not.
 *
 *   (a) s1 leads term 1, replicates A (term 1, index 1) to s2 only, crashes.
 *   (b) s5 leads term 2 with s3, s4; appends its no-op N2 at index 1; crashes.
 *   (c) s1 restarts, leads term 3 with s2, s3; appends its no-op N3 and gets it to s2;
 *       replicates A (not yet N3) to s3: A is on a majority.
 *       The unsafe leader commits it now; the safe one waits for its term-3 no-op.
 *   (d) s1 crashes before the no-op reaches a majority; s5 restarts and leads term 4 with
 *       s3, s4 (its last term 2 beats their 1), and overwrites index 1 with N2.
 */
import { describe, expect, it } from 'vitest';
import type { Json } from '../../src/crypto/json.js';
import {
  checkLeaderCompleteness,
  checkRaftInvariants,
  checkStateMachineSafety,
} from '../../src/raft/invariants.js';
import { ELECTION_TIMER } from '../../src/raft/options.js';
import { RaftNode } from '../../src/raft/raft.js';
import { between, both, from, Harness, kind, to } from './harness.js';

const S = ['s1', 's2', 's3', 's4', 's5'];
const votes = kind('VoteRequest', 'VoteResponse');

function commitsAt(h: Harness, node: string, index: number): Json[] {
  return h.notes
    .filter((n) => n.node === node && n.event === 'commit')
    .map((n) => n.data as { index: number; digest: string })
    .filter((d) => d.index === index);
}

function figure8(unsafeCommitAnyTerm: boolean) {
  const h = new Harness(
    S,
    [],
    () => (ctx) =>
      new RaftNode(ctx, {
        unsafeCommitAnyTerm,
        maxSuffix: 1,
        // The paper's Figure 8 is plain Raft: each election is the slides' one.
        preVote: false,
        checkQuorum: false,
      }),
  );
  const node = (id: string) => h.protocol<RaftNode>(id).inspect();
  h.start();

  // (a) s1 leads term 1; everyone gets its no-op N1.
  h.fire('s1', ELECTION_TIMER);
  h.deliverAll();
  expect(node('s1').currentRole).toBe('leader');
  expect(node('s1').commitLength).toBe(1);
  h.request('s1', { client: 'c', seq: 1, command: { op: 'put', key: 'x', value: 'A' } });
  h.deliverAll(between(['s1'], ['s2']));
  h.crash('s1');
  h.drop(from('s1'));
  expect(node('s2').log.map((e) => e.term)).toEqual([1, 1]);
  expect(node('s3').log.map((e) => e.term)).toEqual([1]);

  // (b) s5 leads term 2 with s3 and s4, appends N2, and crashes before sending it.
  h.fire('s5', ELECTION_TIMER);
  h.deliverAll(both(votes, between(['s5'], ['s3', 's4'])));
  expect(node('s5').currentRole).toBe('leader');
  expect(node('s5').log.map((e) => e.term)).toEqual([1, 2]);
  h.crash('s5');
  h.drop(from('s5'));

  // (c) s1 restarts; term 2 is taken (s3, s4 voted for s5), so it wins term 3 with s2, s3.
  h.restart('s1');
  h.fire('s1', ELECTION_TIMER);
  h.deliverAll(both(votes, between(['s1'], ['s2', 's3', 's4'])));
  expect(node('s1').currentRole).toBe('candidate');
  h.fire('s1', ELECTION_TIMER);
  h.deliverAll(both(votes, between(['s1'], ['s2', 's3'])));
  expect(node('s1').currentRole).toBe('leader');
  expect(node('s1').currentTerm).toBe(3);
  expect(node('s1').log.map((e) => e.term)).toEqual([1, 1, 3]);
  h.deliverAll(between(['s1'], ['s2'])); // s2 takes the no-op N3: acked 3
  // s3 lacks index 1: it refuses prefixLen 2, the leader backs off and sends A alone.
  const toS3 = both(from('s1'), to('s3'), kind('LogRequest'));
  const fromS3 = both(from('s3'), to('s1'), kind('LogResponse'));
  for (const step of [toS3, fromS3, toS3, fromS3]) expect(h.deliverOne(step)).toBe(true);
  expect(node('s3').log.map((e) => e.term)).toEqual([1, 1]);
  expect(node('s1').ackedLength.get('s3')).toBe(2);
  // A (index 1, term 1) is now on s1, s2, s3: a majority, but not of the current term.
  const s1Commit = node('s1').commitLength;

  // (d) s1 crashes before its no-op N3 reaches a majority; s5 restarts and wins term 4.
  h.crash('s1');
  h.drop(from('s1'));
  h.restart('s5');
  h.fire('s5', ELECTION_TIMER);
  h.deliverAll(both(votes, between(['s5'], ['s2', 's3', 's4'])));
  expect(node('s5').currentRole).toBe('candidate'); // s3 voted for s1 in term 3
  h.fire('s5', ELECTION_TIMER);
  h.deliverAll(both(votes, between(['s5'], ['s2', 's3', 's4'])));
  expect(node('s5').currentRole).toBe('leader');
  expect(node('s5').currentTerm).toBe(4);
  h.deliverAll(between(['s5'], ['s2', 's3', 's4']));
  expect(node('s5').commitLength).toBe(3);
  expect(node('s3').log.map((e) => e.term)).toEqual([1, 2, 4]);

  const run = { notes: h.notes, byzantine: new Set<string>() };
  return { h, s1Commit, run };
}

describe('Figure 8 (earlier-term entries are not committed by counting replicas)', () => {
  it('with unsafeCommitAnyTerm the scenario commits A, then a later leader overwrites it', () => {
    const { h, s1Commit, run } = figure8(true);
    expect(s1Commit).toBe(2); // s1 committed A at index 1 in term 3
    expect(commitsAt(h, 's1', 1)).toHaveLength(1);
    expect(commitsAt(h, 's5', 1)).toHaveLength(1);
    const safety = checkStateMachineSafety(run);
    expect(safety.length).toBeGreaterThan(0);
    expect(safety[0]?.message).toMatch(/index 1/);
    expect(checkLeaderCompleteness(run).length).toBeGreaterThan(0);
  });

  it('with slide 9/9 as written nothing committed is lost and every invariant holds', () => {
    const { h, s1Commit, run } = figure8(false);
    expect(s1Commit).toBe(1); // A waited for a term-3 entry after it
    expect(commitsAt(h, 's1', 1)).toHaveLength(0);
    expect(checkRaftInvariants(run)).toEqual([]);
  });
});
