/**
 * The pbft-view-change lab: the untouched skeleton scores zero, the reference solution (the
 * skeleton filled in from src/pbft/view-change.ts) full marks, and a mutant of each rule loses
 * the test that guards it: a certificate check that counts PREPAREs one short, or counts the
 * primary's, fails check-view-change; O taken from the first certificate rather than the
 * highest view fails compute-new-view.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { grade } from '../../src/labs/grade.js';
import { findLab } from '../../src/labs/labs.js';
import { loadSolution } from '../../src/labs/load.js';
import { startWorkspace } from '../../src/labs/workspace.js';

const lab = findLab('pbft-view-change');
const reference = readFileSync(
  join(import.meta.dirname, 'solutions', 'pbft-view-change.ts'),
  'utf8',
);
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
    const root = mkdtempSync(join(tmpdir(), 'bftkit-lab-test-'));
    roots.push(root);
    writeFileSync(join(root, 'view-change.ts'), 'export const checkViewChange = () => null;\n');
    const module = await loadSolution(join(root, 'view-change.ts'));
    expect(() => lab.validate(module)).toThrow(/"computeNewView"/);
  });
});
