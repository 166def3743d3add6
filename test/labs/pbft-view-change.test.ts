/**
 * The pbft-view-change lab: the untouched skeleton scores zero, the reference solution (the
 * skeleton filled in from src/pbft/view-change.ts) full marks, and a mutant of each rule loses
 * the test that guards it: a certificate check that counts PREPAREs one short, or counts the
 * primary's, fails check-view-change; O taken from the first certificate rather than the
 * highest view fails compute-new-view.
 */
import { describe, expect, it } from 'vitest';
import { labUnderTest } from './grading.js';

const { lab, reference, load, mutant, gradeSource } = labUnderTest(
  'pbft-view-change',
  'pbft-view-change.ts',
);

describe('lab pbft-view-change', () => {
  it('gives the untouched skeleton zero points', async () => {
    const report = await gradeSource(undefined, { seeds: { from: 1, to: 1 } });
    expect(report.score).toBe(0);
    expect(report.ok).toBe(false);
    for (const t of report.tests) expect(t.failures[0]?.detail).toMatch(/TODO/);
  });

  it('gives the reference solution (the project core) full marks', {
    timeout: 300_000,
  }, async () => {
    const report = await gradeSource(reference);
    expect(report.tests.filter((t) => !t.ok).map((t) => t.failures)).toEqual([]);
    expect(report.max).toBe(10);
    expect(report.score).toBe(10);
    expect(report.ok).toBe(true);
  });

  it('fails check-view-change when a certificate may be one PREPARE short', async () => {
    const short = mutant(
      'signers.size < v.cluster.quorum - 1',
      'signers.size < v.cluster.quorum - 2',
    );
    const report = await gradeSource(short, { test: 'check-view-change' });
    expect(report.tests[0]?.ok).toBe(false);
    expect(report.tests[0]?.failures[0]?.detail).toMatch(
      /one PREPARE short: yours accepts it, the reference rejects it/,
    );
  });

  it("fails check-view-change when the primary's PREPARE counts", async () => {
    const primary = mutant("if (p.from === primary) return 'PREPARE from the primary';", '');
    const report = await gradeSource(primary, { test: 'check-view-change' });
    expect(report.tests[0]?.ok).toBe(false);
    expect(report.tests[0]?.failures[0]?.detail).toMatch(/primary's own PREPARE: yours accepts/);
  });

  it('fails compute-new-view when O keeps the first certificate, not the highest view', async () => {
    const first = mutant('certView > current.view ||', 'false ||');
    const report = await gradeSource(first, { test: 'compute-new-view' });
    expect(report.tests[0]?.ok).toBe(false);
    expect(report.tests[0]?.failures[0]?.detail).toMatch(/yours gives .* the reference/);
  });

  it('refuses a module without both functions', async () => {
    const { module } = await load('export const checkViewChange = () => null;\n');
    expect(() => lab.validate(module)).toThrow(/"computeNewView"/);
  });
});
