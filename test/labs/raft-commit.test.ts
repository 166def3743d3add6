/**
 * The raft-commit lab: the untouched skeleton scores zero, the reference solution (the
 * skeleton filled in from src/raft/rules.ts) full marks, and a mutant of each rule loses the
 * test that guards it: committing an earlier-term entry by counting fails figure8, a follower
 * that never cuts its conflicting entries fails stale-leader, and a consistency check that
 * looks only at the length fails too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { grade } from '../../src/labs/grade.js';
import { findLab } from '../../src/labs/labs.js';
import { loadSolution } from '../../src/labs/load.js';
import { startWorkspace } from '../../src/labs/workspace.js';

const lab = findLab('raft-commit');
const reference = readFileSync(join(import.meta.dirname, 'solutions', 'raft-commit.ts'), 'utf8');
const roots: string[] = [];

async function gradeSource(
  source?: string,
  options: { test?: string; seeds?: { from: number; to: number } } = {},
) {
  const root = mkdtempSync(join(tmpdir(), 'bftkit-lab-test-'));
  roots.push(root);
  const dir = join(root, 'ws');
  startWorkspace(lab, dir);
  if (source !== undefined) writeFileSync(join(dir, lab.file), source);
  return grade(lab, lab.validate(await loadSolution(join(dir, lab.file))), { dir, ...options });
}

function mutant(search: string, replace: string): string {
  const mutated = reference.replace(search, replace);
  expect(mutated).not.toBe(reference);
  return mutated;
}

afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

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
    const root = mkdtempSync(join(tmpdir(), 'bftkit-lab-test-'));
    roots.push(root);
    writeFileSync(join(root, 'rules.ts'), 'export function logOk() { return true; }\n');
    const module = await loadSolution(join(root, 'rules.ts'));
    expect(() => lab.validate(module)).toThrow(/"truncateTo"/);
  });
});
