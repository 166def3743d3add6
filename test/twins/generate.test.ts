/**
 * The Twins schedule space: Stirling numbers, canonical set-partitions (restricted-growth
 * strings), ranking, exact sizes, and seeded uniform sampling.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import {
  binomial,
  describeSchedule,
  randomBelow,
  rankRgs,
  restrictedGrowthStrings,
  sampleIndices,
  scheduleAt,
  spaceSize,
  stirling2,
  unrankRgs,
  unrankSubset,
} from '../../src/twins/generate.js';

/** A set-partition as a canonical string, independent of block order and of item order. */
function canonical(blocks: number[][]): string {
  return blocks
    .map((b) => [...b].sort((x, y) => x - y).join(','))
    .sort()
    .join('|');
}

function blocksOf(rgs: readonly number[]): number[][] {
  const blocks: number[][] = [];
  rgs.forEach((b, i) => {
    const block = blocks[b] ?? [];
    block.push(i);
    blocks[b] = block;
  });
  return blocks;
}

describe('Stirling numbers of the second kind', () => {
  it('matches the known table', () => {
    expect(stirling2(0, 0)).toBe(1n);
    expect(stirling2(3, 0)).toBe(0n);
    expect(stirling2(3, 4)).toBe(0n);
    expect(stirling2(4, 2)).toBe(7n);
    expect(stirling2(5, 1)).toBe(1n);
    expect(stirling2(5, 2)).toBe(15n);
    expect(stirling2(5, 3)).toBe(25n);
    expect(stirling2(5, 4)).toBe(10n);
    expect(stirling2(5, 5)).toBe(1n);
    expect(stirling2(6, 3)).toBe(90n);
    expect(stirling2(7, 3)).toBe(301n);
    expect(stirling2(10, 4)).toBe(34105n);
    // far past 2^53: exact as a bigint
    expect(stirling2(30, 15)).toBe(12879868072770626040000n);
  });

  it('sums over k to the Bell numbers', () => {
    const bell = [1n, 1n, 2n, 5n, 15n, 52n, 203n, 877n];
    for (let n = 0; n < bell.length; n++) {
      let sum = 0n;
      for (let k = 0; k <= n; k++) sum += stirling2(n, k);
      expect(sum).toBe(bell[n]);
    }
  });
});

describe('restricted-growth strings', () => {
  it('enumerate exactly S(n, k) distinct canonical set-partitions', () => {
    for (const [n, k] of [
      [5, 2],
      [5, 3],
      [6, 3],
      [7, 4],
      [4, 4],
      [4, 1],
    ] as const) {
      const all = [...restrictedGrowthStrings(n, k)];
      expect(BigInt(all.length)).toBe(stirling2(n, k));
      const seen = new Set(all.map((r) => canonical(blocksOf(r))));
      expect(seen.size).toBe(all.length);
      for (const rgs of all) {
        // canonical form: block b opens before block b+1, and exactly k blocks, none empty
        expect(rgs[0]).toBe(0);
        let max = 0;
        for (const b of rgs) {
          expect(b).toBeLessThanOrEqual(max + 1);
          max = Math.max(max, b);
        }
        expect(max).toBe(k - 1);
      }
    }
  });

  it('rank and unrank are inverse and follow the enumeration order', () => {
    const all = [...restrictedGrowthStrings(6, 3)];
    all.forEach((rgs, i) => {
      expect(unrankRgs(6, 3, BigInt(i))).toEqual(rgs);
      expect(rankRgs(rgs, 3)).toBe(BigInt(i));
    });
    expect(() => unrankRgs(6, 3, stirling2(6, 3))).toThrow(RangeError);
  });

  it('unranks subsets in lexicographic order', () => {
    const subsets = Array.from({ length: 6 }, (_, i) => unrankSubset(4, 2, BigInt(i)));
    expect(subsets).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ]);
    expect(binomial(4, 2)).toBe(6n);
  });
});

describe('the schedule space', () => {
  const space = { n: 4, f: 1, rounds: 3, partitions: 2 };

  it('has C(n, f) · S(n+f, k)^R schedules', () => {
    expect(spaceSize(space)).toBe(4n * 15n ** 3n);
    expect(spaceSize({ ...space, rounds: 6 })).toBe(4n * 11390625n); // 15^6 ≈ 11.4 M per twin
    expect(spaceSize({ n: 7, f: 2, rounds: 8, partitions: 3 })).toBe(21n * 3025n ** 8n);
  });

  it('decodes every index of a small space into a distinct, well-formed schedule', () => {
    const small = { n: 4, f: 1, rounds: 2, partitions: 2 };
    const size = Number(spaceSize(small));
    const seen = new Set<string>();
    for (let i = 0; i < size; i++) {
      const s = scheduleAt(small, BigInt(i));
      expect(s.instances).toHaveLength(5);
      expect(s.twins).toHaveLength(1);
      expect(s.instances).toContain(`${s.twins[0]}'`);
      expect(s.leaders).toEqual(['n0', 'n1']);
      for (const blocks of s.rounds) {
        expect(blocks).toHaveLength(2);
        for (const b of blocks) expect(b.length).toBeGreaterThan(0);
        expect(blocks.flat().sort()).toEqual([...s.instances].sort());
      }
      seen.add(describeSchedule(s));
    }
    expect(seen.size).toBe(size);
    expect(() => scheduleAt(small, BigInt(size))).toThrow(RangeError);
  });

  it('samples M distinct indices uniformly, the same for the same seed', () => {
    const size = spaceSize(space);
    const a = sampleIndices(size, 100, 7);
    const b = sampleIndices(size, 100, 7);
    const c = sampleIndices(size, 100, 8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a).size).toBe(100);
    for (const i of a) expect(i >= 0n && i < size).toBe(true);
    expect([...a].sort((x, y) => (x < y ? -1 : 1))).toEqual(a);
    // a space no larger than the sample is enumerated whole
    expect(sampleIndices(50n, 100, 7)).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i)));
  });

  it('samples from spaces beyond 2^53 without bias towards the low end', () => {
    const huge = spaceSize({ n: 7, f: 2, rounds: 8, partitions: 3 });
    const picks = sampleIndices(huge, 200, 3);
    expect(new Set(picks).size).toBe(200);
    const upperHalf = picks.filter((i) => i >= huge / 2n).length;
    expect(upperHalf).toBeGreaterThan(70);
    expect(upperHalf).toBeLessThan(130);
    const rng = new Rng(1, 2);
    for (let i = 0; i < 1000; i++) {
      const x = randomBelow(rng, 3n);
      expect(x >= 0n && x < 3n).toBe(true);
    }
  });
});
