/**
 * The Raft attack lab: the untouched skeleton (no faults) breaks nothing and scores zero; the
 * reference schedule (raft-figure8's) breaks Raft without slide 9/9's term condition and is
 * contained by Raft with it; a schedule naming an unknown node is refused as bad input.
 */
import { describe, expect, it } from 'vitest';
import { labUnderTest } from './grading.js';

const { lab, reference, load, gradeSource } = labUnderTest('raft-attack', 'raft-attack.ts');

describe('lab raft-attack', { timeout: 300_000 }, () => {
  it('gives the untouched skeleton zero: no faults break nothing', async () => {
    const report = await gradeSource();
    expect(report.score).toBe(0);
    const [breaks, contained] = report.tests;
    expect(breaks?.ok).toBe(false);
    expect(breaks?.failures[0]?.detail).toMatch(/found no violation/);
    expect(contained?.ok).toBe(true);
    expect(contained?.points).toBe(0);
  });

  it('gives the reference schedule (Figure 8) full marks', async () => {
    const report = await gradeSource(reference);
    expect(report.tests.map((t) => [t.test, t.ok, t.points])).toEqual([
      ['breaks', true, 3],
      ['contained', true, 2],
    ]);
    expect(report.score).toBe(report.max);
    expect(report.tests[0]?.found?.detail).toMatch(/^broke it: raft-/);
  });

  it('refuses a schedule that names an unknown node, in one line', async () => {
    const { module } = await load(
      "export const electionTimeoutMsByNode = {};\nexport const faults = [{ at: 10, action: 'crash', node: 'n9' }];\n",
    );
    expect(() => lab.validate(module)).toThrow(/^schedule\.ts: .*n9/);
  });
});
