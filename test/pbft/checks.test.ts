import { describe, expect, it } from 'vitest';
import type { NoteRecord, RunRecord } from '../../src/core/kit.js';
import { Rng } from '../../src/core/rng.js';
import type { Json } from '../../src/crypto/json.js';
import {
  checkAgreement,
  checkExecutionAgreement,
  checkTotalOrder,
  checkValidity,
} from '../../src/pbft/checks.js';
import { leaderFromNotes, nextKvOperation, parsePbftParams, pbftKit } from '../../src/pbft/kit.js';
import { kvCommandSchema } from '../../src/smr/kv.js';

let time = 0;
function note(node: string, event: string, data: Json): NoteRecord {
  return { time: time++, node, instance: node, event, data };
}

function run(notes: NoteRecord[], byzantine: string[] = []): RunRecord {
  return {
    replicas: ['r0', 'r1', 'r2', 'r3'],
    clients: ['c0', 'c1'],
    byzantine: new Set(byzantine),
    history: [],
    notes,
    endTime: time,
  };
}

const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);

describe('execution agreement checker', () => {
  const execute = (node: string, requests: Json) =>
    note(node, 'execute', { seq: 1, digest: D1, requests });
  it('passes when correct replicas execute the same requests, in order, at each seq', () => {
    const same = [
      ['c0', 1],
      ['c1', 1],
    ];
    expect(checkExecutionAgreement(run([execute('r0', same), execute('r1', same)]))).toEqual([]);
  });

  it('fails on other requests, or the same in another order, under one digest', () => {
    const r = run([
      execute('r0', [
        ['c0', 1],
        ['c1', 1],
      ]),
      execute('r1', [
        ['c1', 1],
        ['c0', 1],
      ]),
      execute('r2', []),
    ]);
    const v = checkExecutionAgreement(r);
    expect(v).toHaveLength(2);
    expect(v[0]?.checker).toBe('pbft.agreement');
    expect(v[0]?.message).toMatch(/different requests executed at seq 1: r0 executed .* r1/);
  });

  it('ignores a Byzantine replica’s notes', () => {
    const r = run([execute('r0', [['c0', 1]]), execute('r3', [])], ['r3']);
    expect(checkExecutionAgreement(r)).toEqual([]);
  });
});

describe('agreement checker', () => {
  it('passes when correct replicas commit the same digest at each seq', () => {
    const r = run([
      note('r0', 'commit', { view: 0, seq: 1, digest: D1 }),
      note('r1', 'commit', { view: 0, seq: 1, digest: D1 }),
      note('r1', 'commit', { view: 1, seq: 1, digest: D1 }),
    ]);
    expect(checkAgreement(r)).toEqual([]);
  });

  it('fails on two different digests at one seq, reporting both commits', () => {
    const r = run([
      note('r0', 'commit', { view: 0, seq: 1, digest: D1 }),
      note('r2', 'commit', { view: 1, seq: 1, digest: D2 }),
    ]);
    const [v] = checkAgreement(r);
    expect(v?.checker).toBe('pbft.agreement');
    expect(v?.evidence).toHaveLength(2);
    expect(JSON.stringify(v?.evidence)).toContain(D1);
    expect(JSON.stringify(v?.evidence)).toContain(D2);
  });

  it('ignores what Byzantine replicas claim', () => {
    const r = run(
      [
        note('r0', 'commit', { view: 0, seq: 1, digest: D1 }),
        note('r3', 'commit', { view: 0, seq: 1, digest: D2 }),
      ],
      ['r3'],
    );
    expect(checkAgreement(r)).toEqual([]);
  });
});

describe('total order checker', () => {
  const exec = (node: string, seq: number) =>
    note(node, 'execute', { seq, digest: D1, requests: [] });

  it('passes on 1, 2, 3 …, a state transfer jump, and a restart', () => {
    const r = run([
      exec('r0', 1),
      exec('r0', 2),
      note('r1', 'state', { seq: 16, stateDigest: D1 }),
      exec('r1', 17),
      note('r0', 'start', { recovered: true }),
      exec('r0', 1),
    ]);
    expect(checkTotalOrder(r)).toEqual([]);
  });

  it('fails on a gap', () => {
    const [v] = checkTotalOrder(run([exec('r0', 1), exec('r0', 3)]));
    expect(v).toMatchObject({
      checker: 'pbft.total-order',
      evidence: [{ node: 'r0', event: 'execute', data: { seq: 3 } }],
    });
  });

  it('fails on going back', () => {
    expect(checkTotalOrder(run([exec('r0', 1), exec('r0', 2), exec('r0', 2)]))).toHaveLength(1);
  });
});

describe('validity checker', () => {
  const exec = (node: string, seq: number, requests: Json) =>
    note(node, 'execute', { seq, digest: D1, requests });

  it('passes when every executed request was signed by its client, once', () => {
    const r = run([
      note('c0', 'request', { timestamp: 1 }),
      note('c1', 'request', { timestamp: 1 }),
      exec('r0', 1, [
        ['c0', 1],
        ['c1', 1],
      ]),
      exec('r1', 1, [['c0', 1]]),
    ]);
    expect(checkValidity(r)).toEqual([]);
  });

  it('fails when a replica executes a request its client never signed', () => {
    const r = run([note('c0', 'request', { timestamp: 1 }), exec('r0', 1, [['c0', 2]])]);
    const v = checkValidity(r);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      checker: 'pbft.validity',
      evidence: [{ node: 'r0', data: { requests: [['c0', 2]] } }],
    });
  });

  it('fails when a replica executes one request twice', () => {
    const r = run([
      note('c0', 'request', { timestamp: 1 }),
      exec('r0', 1, [['c0', 1]]),
      exec('r0', 2, [['c0', 1]]),
    ]);
    const v = checkValidity(r);
    // Signed, so the only fault is the second execution: the one the evidence shows.
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      checker: 'pbft.validity',
      evidence: [{ node: 'r0', data: { seq: 2 } }],
    });
  });

  it('a Byzantine client may sign anything', () => {
    expect(checkValidity(run([exec('r0', 1, [['c1', 7]])], ['c1']))).toEqual([]);
  });
});

describe('pbft kit', () => {
  it('parses params with defaults and refuses nonsense', () => {
    expect(parsePbftParams({}).batchSize).toBeGreaterThan(0);
    expect(parsePbftParams({ batchSize: 4, checkpointInterval: 8 })).toMatchObject({
      batchSize: 4,
      checkpointInterval: 8,
    });
    expect(() => parsePbftParams({ batchSize: -1 })).toThrow();
    expect(() => parsePbftParams({ checkpointInterval: 64, watermarkWindow: 16 })).toThrow();
  });

  it('generates valid KV commands with unique written values', () => {
    const rng = new Rng(7);
    const values = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const op = nextKvOperation(rng, 'c0', i);
      const cmd = kvCommandSchema.parse(op);
      expect(['k0', 'k1', 'k2', 'k3']).toContain(cmd.key);
      const written = cmd.op === 'put' ? cmd.value : cmd.op === 'cas' ? cmd.to : null;
      if (written !== null) {
        expect(values.has(written)).toBe(false);
        values.add(written);
      }
    }
  });

  it('leader(notes) is the primary of the highest view entered', () => {
    const notes = [
      note('r0', 'view', { view: 0, primary: 'r0' }),
      note('r1', 'view', { view: 2, primary: 'r2' }),
      note('r2', 'view', { view: 1, primary: 'r1' }),
    ];
    expect(leaderFromNotes(notes)).toBe('r2');
    expect(pbftKit.leader?.([])).toBeNull();
  });

  it('check() runs all three checkers', () => {
    const r = run([
      note('r0', 'commit', { view: 0, seq: 1, digest: D1 }),
      note('r1', 'commit', { view: 0, seq: 1, digest: D2 }),
      note('r0', 'execute', { seq: 2, digest: D1, requests: [['c0', 9]] }),
    ]);
    const checkers = pbftKit.check(r, {}).map((v) => v.checker);
    expect(checkers.sort()).toEqual(['pbft.agreement', 'pbft.total-order', 'pbft.validity']);
  });
});
