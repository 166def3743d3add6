import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizability } from '../../src/check/linearizability.js';
import type { HistoryEntry } from '../../src/core/kit.js';
import type { Json } from '../../src/crypto/json.js';
import { type KvCommand, KvStore } from '../../src/smr/kv.js';

let counter = 0;
/** One history entry; `respondedAt` null makes it incomplete (result null). */
function op(
  client: string,
  command: KvCommand,
  result: { ok: boolean; value: string | null } | null,
  invokedAt: number,
  respondedAt: number | null,
): HistoryEntry {
  return {
    client,
    index: counter++,
    op: command as Json,
    invokedAt,
    result: respondedAt === null ? null : (result as Json),
    respondedAt,
  };
}
const get = (key: string) => ({ op: 'get', key }) as const;
const put = (key: string, value: string) => ({ op: 'put', key, value }) as const;
const cas = (key: string, from: string | null, to: string) =>
  ({ op: 'cas', key, from, to }) as const;
const ok = (value: string | null) => ({ ok: true, value });
const fail = (value: string | null) => ({ ok: false, value });

describe('checkLinearizability', () => {
  it('accepts a sequential correct history', () => {
    const h = [
      op('c1', get('x'), ok(null), 0, 1),
      op('c1', put('x', 'a'), ok('a'), 2, 3),
      op('c2', get('x'), ok('a'), 4, 5),
      op('c2', cas('x', 'a', 'b'), ok('b'), 6, 7),
      op('c1', cas('x', 'a', 'c'), fail('b'), 8, 9),
      op('c1', put('y', 'z'), ok('z'), 8, 9),
      op('c3', get('x'), ok('b'), 10, 11),
      op('c3', cas('y', null, 'q'), fail('z'), 12, 13),
      op('c3', cas('w', null, 'q'), ok('q'), 12, 13),
    ];
    expect(checkLinearizability(h)).toEqual([]);
  });

  it('accepts concurrent writes with a read returning either value', () => {
    for (const seen of ['a', 'b']) {
      const h = [
        op('c1', put('x', 'a'), ok('a'), 0, 10),
        op('c2', put('x', 'b'), ok('b'), 1, 9),
        op('c3', get('x'), ok(seen), 5, 15),
        op('c3', get('x'), ok(seen), 16, 17),
      ];
      expect(checkLinearizability(h)).toEqual([]);
    }
    // …but once a later read saw one, a read after it cannot see the other.
    const flip = [
      op('c1', put('x', 'a'), ok('a'), 0, 10),
      op('c2', put('x', 'b'), ok('b'), 1, 9),
      op('c3', get('x'), ok('a'), 11, 12),
      op('c3', get('x'), ok('b'), 13, 14),
    ];
    expect(checkLinearizability(flip)).toHaveLength(1);
  });

  it('catches a stale read', () => {
    const h = [
      op('c1', put('x', 'a'), ok('a'), 0, 1),
      op('c1', put('x', 'b'), ok('b'), 2, 3),
      op('c2', get('x'), ok('a'), 4, 5),
    ];
    const v = checkLinearizability(h);
    expect(v).toHaveLength(1);
    expect(v[0]?.checker).toBe('linearizability');
    expect(v[0]?.message).toContain('key "x"');
    expect(v[0]?.message).toContain('not linearizable');
    const ev = v[0]?.evidence as Record<string, Json>;
    expect(ev['key']).toBe('x');
    expect((ev['blocked'] as Record<string, Json>)['client']).toBe('c2');
    expect(ev['valueBefore']).toBe('b');
    expect(ev['linearizedCount']).toBe(2);
  });

  it('catches a read of the initial value after a completed put', () => {
    const h = [op('c1', put('x', 'a'), ok('a'), 0, 1), op('c2', get('x'), ok(null), 2, 3)];
    expect(checkLinearizability(h)).toHaveLength(1);
  });

  it('catches a lost acknowledged write', () => {
    const h = [
      op('c1', put('x', 'v1'), ok('v1'), 0, 1),
      op('c2', get('x'), ok('v1'), 2, 3),
      op('c1', put('x', 'v2'), ok('v2'), 4, 5),
      op('c2', get('x'), ok('v1'), 10, 11),
      op('c3', get('x'), ok('v1'), 12, 13),
    ];
    const v = checkLinearizability(h);
    expect(v).toHaveLength(1);
    const ev = v[0]?.evidence as Record<string, Json>;
    expect(ev['valueBefore']).toBe('v2');
    expect((ev['blocked'] as Record<string, Json>)['invokedAt']).toBe(10);
  });

  it('catches a CAS applied twice', () => {
    const h = [
      op('c1', put('x', 'v1'), ok('v1'), 0, 1),
      op('c1', cas('x', 'v1', 'v2'), ok('v2'), 2, 3),
      op('c2', cas('x', 'v1', 'v2'), ok('v2'), 4, 5),
    ];
    expect(checkLinearizability(h)).toHaveLength(1);
    // Concurrent, the two still cannot both succeed…
    const concurrent = [
      op('c1', put('x', 'v1'), ok('v1'), 0, 1),
      op('c1', cas('x', 'v1', 'v2'), ok('v2'), 2, 6),
      op('c2', cas('x', 'v1', 'v2'), ok('v2'), 3, 5),
    ];
    expect(checkLinearizability(concurrent)).toHaveLength(1);
    // …unless a concurrent put restores v1 between them.
    const restored = [...concurrent, op('c3', put('x', 'v1'), ok('v1'), 2, 6)];
    expect(checkLinearizability(restored)).toEqual([]);
  });

  it('catches a failed CAS that reports a wrong current value or should have succeeded', () => {
    const wrongValue = [
      op('c1', put('x', 'a'), ok('a'), 0, 1),
      op('c2', cas('x', 'b', 'c'), fail('z'), 2, 3),
    ];
    expect(checkLinearizability(wrongValue)).toHaveLength(1);
    const shouldSucceed = [
      op('c1', put('x', 'a'), ok('a'), 0, 1),
      op('c2', cas('x', 'a', 'c'), fail('a'), 2, 3),
    ];
    expect(checkLinearizability(shouldSucceed)).toHaveLength(1);
  });

  it('checks the value a put returns: one written later is caught', () => {
    // c1 writes "c1-23" after c2's put returned; c2's put cannot have returned that value.
    const h = [
      op('c2', put('k1', 'c2-17'), ok('c1-23'), 0, 1),
      op('c1', put('k1', 'c1-23'), ok('c1-23'), 2, 3),
      op('c2', get('k1'), ok('c1-23'), 4, 5),
    ];
    const v = checkLinearizability(h);
    expect(v).toHaveLength(1);
    expect(v[0]?.message).toContain('"c2-17"');
    // The same history with the put's own value in its reply is linearizable.
    const fixed = [op('c2', put('k1', 'c2-17'), ok('c2-17'), 0, 1), ...h.slice(1)];
    expect(checkLinearizability(fixed)).toEqual([]);
  });

  it('catches a put that reports failure or an earlier value', () => {
    const failed = [op('c1', put('x', 'a'), fail('a'), 0, 1)];
    expect(checkLinearizability(failed)).toHaveLength(1);
    const previous = [
      op('c1', put('x', 'a'), ok('a'), 0, 1),
      op('c2', put('x', 'b'), ok('a'), 2, 3),
    ];
    expect(checkLinearizability(previous)).toHaveLength(1);
  });

  it('catches a read of a value never written', () => {
    const h = [op('c1', put('x', 'a'), ok('a'), 0, 10), op('c2', get('x'), ok('ghost'), 1, 9)];
    const v = checkLinearizability(h);
    expect(v).toHaveLength(1);
    expect(v[0]?.message).toContain('"ghost"');
  });

  it('accepts an incomplete put both ways, but not undone', () => {
    const lost = op('c1', put('x', 'a'), null, 5, null);
    const took = [lost, op('c2', get('x'), ok('a'), 100, 101)];
    const didNot = [lost, op('c2', get('x'), ok(null), 100, 101)];
    const later = [
      lost,
      op('c2', get('x'), ok(null), 100, 101),
      op('c2', get('x'), ok('a'), 102, 103),
    ];
    expect(checkLinearizability(took)).toEqual([]);
    expect(checkLinearizability(didNot)).toEqual([]);
    expect(checkLinearizability(later)).toEqual([]);
    // It cannot take effect before it was invoked…
    const early = [op('c2', get('x'), ok('a'), 0, 1), lost];
    expect(checkLinearizability(early)).toHaveLength(1);
    // …nor be seen and then unseen.
    const undone = [
      lost,
      op('c2', get('x'), ok('a'), 100, 101),
      op('c2', get('x'), ok(null), 102, 103),
    ];
    expect(checkLinearizability(undone)).toHaveLength(1);
  });

  it('treats an incomplete CAS as possibly applied', () => {
    const h = [
      op('c1', put('x', 'a'), ok('a'), 0, 1),
      op('c1', cas('x', 'a', 'b'), null, 2, null),
      op('c2', get('x'), ok('b'), 10, 11),
    ];
    expect(checkLinearizability(h)).toEqual([]);
    const wrongFrom = [
      op('c1', put('x', 'a'), ok('a'), 0, 1),
      op('c1', cas('x', 'z', 'b'), null, 2, null),
      op('c2', get('x'), ok('b'), 10, 11),
    ];
    expect(checkLinearizability(wrongFrom)).toHaveLength(1);
  });

  it('reports an exhausted step budget as inconclusive, never as a pass', () => {
    const h = Array.from({ length: 12 }, (_, i) =>
      op(`c${i}`, put('x', `v${i}`), ok(`v${i}`), 0, 100),
    );
    h.push(op('r', get('x'), ok('v3'), 101, 102));
    expect(checkLinearizability(h)).toEqual([]);
    const v = checkLinearizability(h, { maxSteps: 5 });
    expect(v).toHaveLength(1);
    expect(v[0]?.checker).toBe('linearizability');
    expect(v[0]?.message).toContain('inconclusive');
  });

  it('reports malformed entries', () => {
    const h: HistoryEntry[] = [
      { client: 'c', index: 0, op: { op: 'frob' }, invokedAt: 0, result: null, respondedAt: null },
      { client: 'c', index: 1, op: get('x'), invokedAt: 1, result: { nope: 1 }, respondedAt: 2 },
    ];
    const v = checkLinearizability(h);
    expect(v).toHaveLength(2);
    expect(v.every((x) => x.message.includes('malformed'))).toBe(true);
  });

  it('checks keys independently and names the bad one', () => {
    const h = [
      op('c1', put('good', 'a'), ok('a'), 0, 1),
      op('c1', put('bad', 'a'), ok('a'), 0, 1),
      op('c2', get('good'), ok('a'), 2, 3),
      op('c2', get('bad'), ok(null), 2, 3),
    ];
    const v = checkLinearizability(h);
    expect(v).toHaveLength(1);
    const ev = (v[0]?.evidence ?? {}) as Record<string, Json>;
    expect(ev['key']).toBe('bad');
  });
});

// ---- property: histories of a real sequential store with random concurrency windows ----

const VALUES = ['a', 'b', 'c'];
const NEVER_WRITTEN = 'never-written';
const arbKey = fc.constantFrom('x', 'y');
const arbValue = fc.constantFrom(...VALUES);
const arbCommand: fc.Arbitrary<KvCommand> = fc.oneof(
  fc.record({ op: fc.constant('get' as const), key: arbKey }),
  fc.record({ op: fc.constant('put' as const), key: arbKey, value: arbValue }),
  fc.record({
    op: fc.constant('cas' as const),
    key: arbKey,
    from: fc.option(arbValue, { nil: null }),
    to: arbValue,
  }),
);
const arbPlan = fc.array(
  fc.record({
    command: arbCommand,
    gap: fc.integer({ min: 1, max: 10 }),
    before: fc.nat(40),
    after: fc.nat(40),
    fate: fc.constantFrom('done', 'done', 'done', 'done', 'lost-applied', 'lost-dropped'),
  }),
  { minLength: 1, maxLength: 60 },
);

type Plan = typeof arbPlan extends fc.Arbitrary<infer T> ? T : never;

/** Each op takes effect at its own point, inside its [invoke, response] window. */
function runPlan(plan: Plan): HistoryEntry[] {
  const store = new KvStore();
  let point = 0;
  return plan.map((p, i) => {
    point += p.gap;
    const applied = p.fate !== 'lost-dropped';
    const result = applied ? store.apply(p.command) : null;
    const done = p.fate === 'done';
    return {
      client: `c${i % 5}`,
      index: i,
      op: p.command as Json,
      invokedAt: point - p.before,
      result: done ? (result as Json) : null,
      respondedAt: done ? point + p.after : null,
    };
  });
}

describe('checkLinearizability (property)', () => {
  it('accepts every history of a sequential store with concurrency windows', () => {
    fc.assert(
      fc.property(arbPlan, (plan) => {
        expect(checkLinearizability(runPlan(plan))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects it once one completed get returns a never-written value', () => {
    fc.assert(
      fc.property(arbPlan, fc.nat(), (plan, pick) => {
        const h = runPlan(plan);
        const gets = h.filter((e) => (e.op as KvCommand).op === 'get' && e.result !== null);
        fc.pre(gets.length > 0);
        const victim = gets[pick % gets.length] as HistoryEntry;
        victim.result = { ok: true, value: NEVER_WRITTEN };
        const v = checkLinearizability(h);
        expect(v).toHaveLength(1);
        expect(v[0]?.message).toContain('not linearizable');
      }),
      { numRuns: 300 },
    );
  });
});
