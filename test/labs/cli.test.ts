/**
 * `bftkit lab` as a student runs it, in a real process: start a workspace, grade the untouched
 * skeleton (zero points, exit 1, reproduce commands), and bad input (one line, exit 2).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BFTKIT } from '../../src/core/launcher.js';

function bftkit(...args: string[]) {
  const result = spawnSync(process.execPath, [BFTKIT, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const root = mkdtempSync(join(tmpdir(), 'bftkit-lab-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('bftkit lab', () => {
  it('lists the labs', () => {
    const { code, stdout } = bftkit('lab', 'list', '--json');
    expect(code).toBe(0);
    const names = (JSON.parse(stdout) as { name: string }[]).map((l) => l.name);
    expect(names).toEqual([
      'register',
      'register-attack',
      'raft-commit',
      'raft-attack',
      'leader-detector',
      'pbft-view-change',
      'pbft-attack',
      'pbft-quorum-attack',
      'signatures',
    ]);
  });

  it('starts the register lab and grades the untouched skeleton with zero points', () => {
    const dir = join(root, 'x');
    const start = bftkit('lab', 'start', 'register', dir);
    expect(start.code).toBe(0);
    for (const file of ['README.md', 'register.ts', 'tsconfig.json'])
      expect(existsSync(join(dir, file))).toBe(true);
    expect(lstatSync(join(dir, 'node_modules', 'bftkit')).isSymbolicLink()).toBe(true);
    // `npx bftkit` in the workspace runs this package, never a registry's.
    expect(lstatSync(join(dir, 'node_modules', '.bin', 'bftkit')).isSymbolicLink()).toBe(true);

    const graded = bftkit('lab', 'grade', 'register', dir);
    expect(graded.code).toBe(1);
    expect(graded.stdout).toMatch(/score: 0\/10/);
    expect(graded.stdout).toMatch(/reproduce: npx bftkit lab grade register .* --test honest/);

    const json = bftkit('lab', 'grade', 'register', dir, '--json', '--seeds', '1..1');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ format: 'bftkit-grade/1', score: 0, max: 10 });
  });

  it('refuses an unknown lab, a missing directory and a non-empty start directory in one line', () => {
    const full = join(root, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'notes.txt'), 'mine\n');
    for (const args of [
      ['lab', 'grade', 'nope', root],
      ['lab', 'grade', 'register', join(root, 'missing')],
      ['lab', 'start', 'register', full],
    ]) {
      const { code, stderr } = bftkit(...args);
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
