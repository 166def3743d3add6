import { describe, expect, it } from 'vitest';
import type { HistoryEntry, RunRecord } from '../../src/core/kit.js';
import { Rng } from '../../src/core/rng.js';
import { raftKit, replicaOptions } from '../../src/raft/kit.js';
import { kvCommandSchema } from '../../src/smr/kv.js';

describe('raftKit', () => {
  it('is the crash-model protocol "raft"', () => {
    expect(raftKit.name).toBe('raft');
    expect(raftKit.definition).toMatchObject({ name: 'raft', model: 'crash' });
    expect(Object.keys(raftKit.definition.messages).sort()).toEqual([
      'ClientReply',
      'ClientRequest',
      'ForwardRequest',
      'InstallSnapshot',
      'LogRequest',
      'LogResponse',
      'PreVoteRequest',
      'PreVoteResponse',
      'Redirect',
      'VoteRequest',
      'VoteResponse',
    ]);
  });

  it('nextOperation: valid KV commands over k0..k3 with unique put values, all three ops', () => {
    const rng = new Rng(1);
    const ops = Array.from({ length: 300 }, (_, i) => raftKit.nextOperation(rng, 'c0', i, {}));
    const commands = ops.map((op) => kvCommandSchema.parse(op));
    expect(new Set(commands.map((c) => c.op))).toEqual(new Set(['put', 'get', 'cas']));
    expect(new Set(commands.map((c) => c.key))).toEqual(new Set(['k0', 'k1', 'k2', 'k3']));
    const values = commands.flatMap((c) => (c.op === 'put' ? [c.value] : []));
    expect(new Set(values).size).toBe(values.length);
    // Deterministic for a seed.
    const again = new Rng(1);
    expect(
      Array.from({ length: 300 }, (_, i) => raftKit.nextOperation(again, 'c0', i, {})),
    ).toEqual(ops);
  });

  it('params: parsed, checked, and passed to the replicas', () => {
    expect(
      replicaOptions({ electionTimeoutMs: [100, 200], heartbeatMs: 20, unsafeCommitAnyTerm: true }),
    ).toEqual({ electionTimeoutMs: [100, 200], heartbeatMs: 20, unsafeCommitAnyTerm: true });
    expect(() => replicaOptions({ electionTimeoutMs: [300, 100] })).toThrow();
    expect(() => replicaOptions({ heartbeatMs: -1 })).toThrow();
  });

  it('check: invariants and linearizability both report', () => {
    const history: HistoryEntry[] = [
      {
        client: 'c0',
        index: 0,
        op: { op: 'put', key: 'k0', value: 'a' },
        invokedAt: 0,
        result: { ok: true, value: 'a' },
        respondedAt: 1,
      },
      {
        client: 'c0',
        index: 1,
        op: { op: 'get', key: 'k0' },
        invokedAt: 2,
        result: { ok: true, value: 'stale' },
        respondedAt: 3,
      },
    ];
    const run: RunRecord = {
      replicas: ['n0', 'n1', 'n2'],
      clients: ['c0'],
      byzantine: new Set(),
      history,
      notes: [
        {
          time: 0,
          node: 'n0',
          instance: 'n0',
          event: 'became-leader',
          data: { term: 1, logLength: 0, runs: [] },
        },
        {
          time: 0,
          node: 'n1',
          instance: 'n1',
          event: 'became-leader',
          data: { term: 1, logLength: 0, runs: [] },
        },
      ],
      endTime: 10,
    };
    const checkers = raftKit.check(run, {}).map((v) => v.checker);
    expect(checkers).toContain('raft-election-safety');
    expect(checkers).toContain('linearizability');
  });
});
