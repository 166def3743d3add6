/**
 * Mutation testing of the protocols (`npm run mutants`): each mutant of the catalogue
 * (./catalogue.ts) is applied to a fresh copy of the repository in a temporary directory —
 * never to the working tree — and the scenario suite runs against the copy, the mutant's own
 * scenarios first, then every other scenario of its protocol, until one run does not turn
 * out as its scenario expects: the mutant is killed. A mutant no scenario kills survives, and
 * the command fails: the suite is blind to the rule that mutant breaks.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinNames } from '../scenario/load.js';
import { type Mutant, mutants } from './catalogue.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface MutantResult {
  mutant: Mutant;
  killed: { scenario: string; seed: number; summary: string } | null;
  /** The probe could not give a verdict (neither killed nor survived: the command fails). */
  error: string | null;
  runs: number;
  wallMs: number;
  /** The mutated copy, when kept (--keep). */
  copy: string | null;
}

/** How often `search` occurs in `text` (a mutant applies cleanly when exactly once). */
export function occurrences(text: string, search: string): number {
  let count = 0;
  for (let i = text.indexOf(search); i !== -1; i = text.indexOf(search, i + 1)) count++;
  return count;
}

/** The mutated source text, or the reason the mutant does not apply to `text`. */
export function applyMutant(text: string, mutant: Mutant): string {
  const count = occurrences(text, mutant.search);
  if (count !== 1)
    throw new Error(
      `mutant ${mutant.name}: its search text occurs ${count} times in ${mutant.file}, not once`,
    );
  return text.replace(mutant.search, () => mutant.replace);
}

/** The scenarios to try, in order: the mutant's own, then the rest of its protocol's. */
export function scenarioOrder(mutant: Mutant, names: readonly string[] = builtinNames()): string[] {
  const rest = names.filter((n) => n.startsWith(`${mutant.protocol}-`));
  return [...mutant.scenarios, ...rest.filter((n) => !mutant.scenarios.includes(n))];
}

/** A copy of the repository's sources with the mutant applied; node_modules is linked. */
function mutatedCopy(mutant: Mutant): string {
  const dir = mkdtempSync(join(tmpdir(), `bftkit-mutant-${mutant.name}-`));
  for (const part of ['src', 'scenarios', 'scripts', 'package.json', 'tsconfig.json'])
    cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const file = join(dir, mutant.file);
  writeFileSync(file, applyMutant(readFileSync(file, 'utf8'), mutant));
  return dir;
}

function probe(copy: string, scenarios: readonly string[], seeds: { from: number; to: number }) {
  return new Promise<{ runs: number; kill: MutantResult['killed'] }>((done, fail) => {
    const tsx = join(ROOT, 'node_modules/.bin/tsx');
    const child = spawn(
      tsx,
      [
        join(copy, 'src/mutants/probe.ts'),
        scenarios.join(','),
        String(seeds.from),
        String(seeds.to),
      ],
      { cwd: copy, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', fail);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        done(JSON.parse(line));
      } catch {
        // No verdict: the probe itself failed (a scenario that does not load, a mutated copy
        // that does not import). That kills nothing — it is reported as an error.
        fail(new Error(`probe exited ${code}: ${err.trim().split('\n').slice(-6).join(' | ')}`));
      }
    });
  });
}

export async function runMutants(options: {
  protocol?: string;
  only?: readonly string[];
  seeds: { from: number; to: number };
  jobs: number;
  keep?: boolean;
  onResult?: (result: MutantResult) => void;
}): Promise<MutantResult[]> {
  const chosen = mutants.filter(
    (m) =>
      (options.protocol === undefined || m.protocol === options.protocol) &&
      (options.only === undefined || options.only.includes(m.name)),
  );
  const results: MutantResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < chosen.length) {
      const mutant = chosen[next++] as Mutant;
      const start = performance.now();
      const copy = mutatedCopy(mutant);
      try {
        let verdict: Awaited<ReturnType<typeof probe>> = { runs: 0, kill: null };
        let error: string | null = null;
        try {
          verdict = await probe(copy, scenarioOrder(mutant), options.seeds);
        } catch (e) {
          error = (e as Error).message;
        }
        const result: MutantResult = {
          mutant,
          killed: verdict.kill,
          error,
          runs: verdict.runs,
          wallMs: Math.round(performance.now() - start),
          copy: options.keep ? copy : null,
        };
        results.push(result);
        options.onResult?.(result);
      } finally {
        if (!options.keep) rmSync(copy, { recursive: true, force: true });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));
  return chosen.map((m) => results.find((r) => r.mutant === m) as MutantResult);
}
