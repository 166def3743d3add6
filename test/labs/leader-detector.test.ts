/**
 * The leader-detector lab: the untouched skeleton scores zero, the reference solution (the
 * skeleton filled in from src/pbft/leader-detector.ts) full marks, and each mutant of a
 * threshold loses the property it guards: amplifying at f complaints lets f Byzantine
 * processes depose a leader (BLD2), never amplifying leaves f+1 correct complainers alone (BLD1).
 */
import { describe, expect, it } from 'vitest';
import { labUnderTest } from './grading.js';

const { reference, gradeSource } = labUnderTest('leader-detector', 'detector.ts');

const verdicts = (report: Awaited<ReturnType<typeof gradeSource>>) =>
  Object.fromEntries(report.tests.map((t) => [t.test, t.ok]));

describe('lab leader-detector', () => {
  it('gives the untouched skeleton zero points', async () => {
    const report = await gradeSource();
    expect(report.score).toBe(0);
    for (const t of report.tests) expect(t.failures[0]?.detail).toMatch(/TODO/);
  });

  it('gives the reference solution (the project core) full marks', async () => {
    const report = await gradeSource(reference);
    expect(report.tests.filter((t) => !t.ok).map((t) => t.failures)).toEqual([]);
    expect(report.score).toBe(10);
    expect(report.ok).toBe(true);
  });

  it('fails putsch (BLD2) when a process amplifies at f complaints', async () => {
    const mutant = reference.replace('[this.config.f];', '[this.config.f - 1];');
    expect(mutant).not.toBe(reference);
    const report = await gradeSource(mutant);
    expect(verdicts(report).putsch).toBe(false);
    expect(report.tests[0]?.failures[0]?.detail).toMatch(/BLD2/);
  });

  it('fails succession (BLD1) without amplification', async () => {
    const mutant = reference.replace('if (!this.complained) {', 'if (false) {');
    expect(mutant).not.toBe(reference);
    const report = await gradeSource(mutant);
    expect(verdicts(report)).toEqual({ putsch: true, succession: false, agreement: true });
  });
});
