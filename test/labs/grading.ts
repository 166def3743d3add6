/**
 * What every lab test needs: the lab, its reference solution from ./solutions, fresh
 * workspaces started as a student's would be (removed after the file's tests), and grading a
 * source put in place of the skeleton.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { type GradeOptions, grade } from '../../src/labs/grade.js';
import { findLab } from '../../src/labs/labs.js';
import { loadSolution } from '../../src/labs/load.js';
import { startWorkspace } from '../../src/labs/workspace.js';

export function labUnderTest(name: string, solutionFile: string) {
  const lab = findLab(name);
  const reference = readFileSync(join(import.meta.dirname, 'solutions', solutionFile), 'utf8');
  const roots: string[] = [];
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  /** A fresh directory, removed after this file's tests. */
  function scratch(): string {
    const root = mkdtempSync(join(tmpdir(), 'bftkit-lab-test-'));
    roots.push(root);
    return root;
  }

  /** A workspace as `bftkit lab start` writes it, the skeleton replaced by `source` if given. */
  async function load(source?: string) {
    const dir = join(scratch(), 'ws');
    startWorkspace(lab, dir);
    if (source !== undefined) writeFileSync(join(dir, lab.file), source);
    return { dir, module: await loadSolution(join(dir, lab.file)) };
  }

  async function gradeSource(source?: string, options: Omit<GradeOptions, 'dir'> = {}) {
    const { dir, module } = await load(source);
    return grade(lab, lab.validate(module), { dir, ...options });
  }

  /** The reference with one rule broken; the search text must be found. */
  function mutant(search: string, replace: string): string {
    const mutated = reference.replace(search, replace);
    expect(mutated).not.toBe(reference);
    return mutated;
  }

  return { lab, reference, scratch, load, gradeSource, mutant };
}
