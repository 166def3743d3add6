import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeClusterView } from '../../src/core/cluster-view.js';
import {
  byzantineQuorum,
  ConfigError,
  checkFaultBound,
  majority,
  maxFaults,
} from '../../src/core/quorum.js';

/** A quorum of size q drawn from n replicas, as a set of indices. */
function quorumArb(n: number, q: number) {
  return fc.shuffledSubarray([...Array(n).keys()], { minLength: q, maxLength: q });
}

describe('quorum math', () => {
  it('q = 2f+1 at n = 3f+1, and strictly more than (n+f)/2 in general', () => {
    for (let f = 0; f <= 10; f++) expect(byzantineQuorum(3 * f + 1, f)).toBe(2 * f + 1);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 40 }), (f, extra) => {
        const n = 3 * f + 1 + extra;
        const q = byzantineQuorum(n, f);
        expect(2 * q).toBeGreaterThan(n + f);
        expect(2 * (q - 1)).toBeLessThanOrEqual(n + f);
        // Termination: the correct replicas alone form a quorum.
        expect(n - f).toBeGreaterThanOrEqual(q);
      }),
    );
  });

  it('any two Byzantine quorums intersect in at least one correct replica, whoever the f faulty are', () => {
    const config = fc
      .record({ f: fc.integer({ min: 0, max: 4 }), extra: fc.integer({ min: 0, max: 4 }) })
      .chain(({ f, extra }) => {
        const n = 3 * f + 1 + extra;
        const q = byzantineQuorum(n, f);
        return fc.record({
          n: fc.constant(n),
          a: quorumArb(n, q),
          b: quorumArb(n, q),
          faulty: fc.shuffledSubarray([...Array(n).keys()], { minLength: f, maxLength: f }),
        });
      });
    fc.assert(
      fc.property(config, ({ a, b, faulty }) => {
        const bad = new Set(faulty);
        const correctInBoth = a.filter((x) => b.includes(x) && !bad.has(x));
        expect(correctInBoth.length).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('the intersection argument fails when n = 3f: two quorums can meet only in faulty replicas', () => {
    // The negative control of the property above: with n = 3f the bound is broken.
    const f = 2;
    const n = 3 * f;
    const q = byzantineQuorum(n, f); // 5 of 6
    const a = [0, 1, 2, 3, 4];
    const b = [1, 2, 3, 4, 5];
    expect(a.length).toBe(q);
    const overlap = a.filter((x) => b.includes(x));
    expect(overlap.length).toBe(4); // with f=2 faulty among them, 2 correct remain…
    // …but liveness breaks: n − f = 4 < q = 5, so the correct replicas cannot form a quorum.
    expect(n - f).toBeLessThan(q);
  });

  it('majorities are ⌈(n+1)/2⌉ and any two intersect', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(majority)).toEqual([1, 2, 2, 3, 3, 4, 4]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), (n) => {
        expect(2 * majority(n)).toBeGreaterThan(n);
      }),
    );
  });

  it('refuses configurations that break the bound, unless marked unsafe', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 30 }), (n, f) => {
        fc.pre(f < n);
        const bft = () => checkFaultBound('byzantine', n, f);
        const cft = () => checkFaultBound('crash', n, f);
        if (n >= 3 * f + 1) expect(bft).not.toThrow();
        else expect(bft).toThrow(ConfigError);
        if (n >= 2 * f + 1) expect(cft).not.toThrow();
        else expect(cft).toThrow(ConfigError);
        expect(() => checkFaultBound('byzantine', n, f, true)).not.toThrow();
      }),
    );
    expect(() => checkFaultBound('byzantine', 3, 1)).toThrow(/n ≥ 3f\+1.*unsafe/);
    expect(() => checkFaultBound('byzantine', 4, 4)).toThrow(ConfigError);
    expect(maxFaults('byzantine', 4)).toBe(1);
    expect(maxFaults('byzantine', 7)).toBe(2);
    expect(maxFaults('crash', 5)).toBe(2);
  });

  it('a cluster view carries the quorum of its model', () => {
    const bft = makeClusterView({
      id: 'x',
      protocol: 'pbft',
      model: 'byzantine',
      replicas: ['a', 'b', 'c', 'd'],
      f: 1,
    });
    expect([bft.quorum, bft.replyQuorum]).toEqual([3, 2]);
    const cft = makeClusterView({
      id: 'x',
      protocol: 'raft',
      model: 'crash',
      replicas: ['a', 'b', 'c'],
      f: 1,
    });
    expect([cft.quorum, cft.replyQuorum]).toEqual([2, 1]);
    expect(() =>
      makeClusterView({
        id: 'x',
        protocol: 'pbft',
        model: 'byzantine',
        replicas: ['a', 'b', 'c'],
        f: 1,
      }),
    ).toThrow(ConfigError);
  });
});
