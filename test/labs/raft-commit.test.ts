/**
 * The raft-commit lab: the untouched skeleton scores zero, the reference solution (the
 * skeleton filled in from src/raft/rules.ts) full marks, and a mutant of each rule loses the
 * test that guards it: committing an earlier-term entry by counting fails figure8, a follower
 * that never cuts its conflicting entries fails stale-leader, and a consistency check that
 * looks only at the length fails too.
 */
import { describe, expect, it } from 'vitest';
import { labUnderTest } from './grading.js';

const { lab, reference, load, mutant, gradeSource } = labUnderTest('raft-commit', 'raft-commit.ts');

describe('lab raft-commit', () => {
  it('gives the untouched skeleton zero points', async () => {
    const report = await gradeSource(undefined, { seeds: { from: 1, to: 1 } });
    expect(report.score).toBe(0);
    expect(report.ok).toBe(false);
    for (const t of report.tests) expect(t.failures[0]?.detail).toMatch(/TODO/);
  });

  it('gives the reference solution (the project rules) full marks', {
    timeout: 300_000,
  }, async () => {
    const report = await gradeSource(reference);
    expect(report.tests.filter((t) => !t.ok).map((t) => t.failures)).toEqual([]);
    expect(report.max).toBe(10);
    expect(report.score).toBe(10);
    expect(report.ok).toBe(true);
  });

  it('fails figure8 when the leader commits an earlier-term entry by counting', {
    timeout: 120_000,
  }, async () => {
    const counting = mutant(' && leader.log.termAt(maxReady - 1) === leader.currentTerm', '');
    const report = await gradeSource(counting, { test: 'figure8', seeds: { from: 1, to: 1 } });
    expect(report.tests[0]?.ok).toBe(false);
    expect(report.tests[0]?.failures[0]?.detail).toMatch(/^safety: /);
  });

  it('fails stale-leader when a follower never cuts its conflicting entries', {
    timeout: 120_000,
  }, async () => {
    const keepAll = mutant('return i;', 'return log.length;');
    const report = await gradeSource(keepAll, { test: 'stale-leader', seeds: { from: 1, to: 3 } });
    expect(report.tests[0]?.ok).toBe(false);
    expect(report.tests[0]?.failures[0]?.detail).toMatch(/^safety: /);
  });

  it('fails when logOk checks only the length (no log matching)', {
    timeout: 120_000,
  }, async () => {
    const lengthOnly = mutant(
      '(prefixLen === 0 || log.termAt(prefixLen - 1) === prefixTerm)',
      'true',
    );
    const report = await gradeSource(lengthOnly);
    expect(report.score).toBeLessThan(report.max);
    expect(report.tests.some((t) => t.failures[0]?.detail.startsWith('safety: '))).toBe(true);
  });

  it('refuses a module without the three rules', async () => {
    const { module } = await load('export function logOk() { return true; }\n');
    expect(() => lab.validate(module)).toThrow(/"truncateTo"/);
  });
});
