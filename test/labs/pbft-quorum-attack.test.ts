/**
 * The PBFT quorum attack lab: the untouched skeleton (the honest replica) breaks nothing and
 * scores zero; the reference adversary (the project's quorum-splitter, written against the
 * public API) breaks PBFT built for f = 1 with two colluders, and is contained at n = 7.
 */
import { describe, expect, it } from 'vitest';
import { labUnderTest } from './grading.js';

const { reference, gradeSource } = labUnderTest('pbft-quorum-attack', 'pbft-quorum-attack.ts');

describe('lab pbft-quorum-attack', { timeout: 300_000 }, () => {
  it('gives the untouched skeleton zero: it breaks nothing, and containment alone earns nothing', async () => {
    const report = await gradeSource();
    expect(report.score).toBe(0);
    const [breaks, contained] = report.tests;
    expect(breaks?.ok).toBe(false);
    expect(breaks?.passed).toBe(0);
    expect(contained?.ok).toBe(true);
    expect(contained?.points).toBe(0);
  });

  it('gives the reference adversary full marks: it breaks n = 4 and is contained at n = 7', async () => {
    const report = await gradeSource(reference);
    expect(report.tests.map((t) => [t.test, t.ok, t.points])).toEqual([
      ['breaks', true, 3],
      ['contained', true, 2],
    ]);
    expect(report.tests[0]?.failures).toEqual([]);
    expect(report.tests[0]?.found?.detail).toMatch(
      /^broke it: pbft\.agreement: conflicting commits at seq 1/,
    );
    expect(report.score).toBe(report.max);
  });
});
