/**
 * The register labs, graded in-process as `bftkit lab grade` does: the untouched skeleton
 * scores zero, the reference solution (the skeleton filled in from src/register/byzantine.ts)
 * scores full marks, and each mutant of a rule loses exactly the test that guards it.
 */
import { describe, expect, it } from 'vitest';
import { labUnderTest } from './grading.js';

const { lab, reference, load, gradeSource } = labUnderTest('register', 'register.ts');

describe('lab register', () => {
  it('gives the untouched skeleton zero points, each failure with its reproduce command', async () => {
    const report = await gradeSource(undefined);
    expect(report.score).toBe(0);
    expect(report.ok).toBe(false);
    expect(report.tests.map((t) => t.test)).toEqual(lab.tests.map((t) => t.name));
    for (const t of report.tests) {
      expect(t.passed).toBe(0);
      expect(t.failures[0]?.detail).toMatch(/TODO/);
      expect(t.failures[0]?.reproduce).toMatch(
        new RegExp(`bftkit lab grade register .* --test ${t.test} --seeds 1\\.\\.1 --html`),
      );
    }
  });

  it('gives the reference solution (the project core) full marks', {
    timeout: 120_000,
  }, async () => {
    const report = await gradeSource(reference);
    expect(report.tests.filter((t) => !t.ok).map((t) => t.failures)).toEqual([]);
    expect(report.score).toBe(report.max);
    expect(report.max).toBe(10);
    expect(report.ok).toBe(true);
  });

  it('fails quorum-intersection when quorums are majorities', async () => {
    const majority = reference.replaceAll(
      'this.ctx.cluster.quorum',
      '(Math.floor(this.ctx.cluster.n / 2) + 1)',
    );
    expect(majority).not.toBe(reference);
    const report = await gradeSource(majority, {
      test: 'quorum-intersection',
      seeds: { from: 1, to: 1 },
    });
    expect(report.tests[0]?.ok).toBe(false);
    expect(report.tests[0]?.failures[0]?.detail).toMatch(/regularity/);
  });

  it('fails forging when a reader believes an unsigned value', async () => {
    const credulous = reference.replace(
      '(write.from !== writerOf(this.ctx) || !this.ctx.verify(write))',
      'false',
    );
    expect(credulous).not.toBe(reference);
    const report = await gradeSource(credulous, { test: 'forging', seeds: { from: 1, to: 1 } });
    expect(report.tests[0]?.ok).toBe(false);
    expect(report.score).toBe(0);
  });

  it('refuses a file that imports anything but bftkit', async () => {
    await expect(load(`import { z } from 'zod';\nexport const replica = z;\n`)).rejects.toThrow(
      /may import only from 'bftkit'/,
    );
  });

  it('refuses a module without the factories', async () => {
    const { module } = await load('export const replica = 1;\n');
    expect(() => lab.validate(module)).toThrow(/"replica"/);
  });
});
