/**
 * Sweeps: many (scenario, seed) runs in parallel worker threads, a progress bar on a terminal
 * (plain lines otherwise), a table of scenarios × seeds × unexpected outcomes, and for every
 * unexpected outcome the exact command that reproduces it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InputError } from '../core/errors.js';
import { workerScript } from '../core/launcher.js';
import { builtinNames, loadScenario, scenarioRef } from './load.js';

export interface SweepTask {
  source: string;
  sets: readonly string[];
  seed: number;
}

export interface SweepResult extends SweepTask {
  scenario: string;
  ok: boolean;
  summary: string;
  reproduce: string;
  wallMs: number;
}

export interface SweepSummary {
  seeds: { from: number; to: number };
  wallMs: number;
  runs: number;
  unexpected: SweepResult[];
  table: { scenario: string; runs: number; unexpected: number }[];
}

export function parseSeeds(text: string): { from: number; to: number } {
  const match = /^(\d+)\.\.(\d+)$/.exec(text) ?? /^(\d+)$/.exec(text);
  if (match === null) throw new InputError(`--seeds: expected A..B (e.g. 1..100), got "${text}"`);
  const from = Number(match[1]);
  const to = Number(match[2] ?? match[1]);
  if (to < from) throw new InputError(`--seeds: ${from}..${to} is empty`);
  if (to - from >= 100_000) throw new InputError('--seeds: at most 100000 seeds per sweep');
  return { from, to };
}

export async function sweep(
  target: string,
  seeds: { from: number; to: number },
  options: {
    jobs?: number;
    sets?: readonly string[];
    progress?: (done: number, total: number, last: SweepResult) => void;
  } = {},
): Promise<SweepSummary> {
  const sources = target === 'all' ? builtinNames() : [target];
  const sets = options.sets ?? [];
  for (const source of sources) loadScenario(source, sets); // bad input fails here, not in a worker
  const tasks: SweepTask[] = [];
  for (const source of sources)
    for (let seed = seeds.from; seed <= seeds.to; seed++) tasks.push({ source, sets, seed });
  const jobs = Math.max(1, Math.min(options.jobs ?? availableParallelism(), tasks.length));
  const start = performance.now();
  const results: SweepResult[] = [];
  await new Promise<void>((resolve, reject) => {
    let next = 0;
    let running = jobs;
    const { script, entry } = workerScript(import.meta.url, './sweep-worker');
    for (let w = 0; w < jobs; w++) {
      const worker = new Worker(script, { workerData: { entry } });
      const feed = () => {
        if (next < tasks.length) worker.postMessage(tasks[next++]);
        else {
          void worker.terminate();
          if (--running === 0) resolve();
        }
      };
      worker.on('message', (result: SweepResult) => {
        results.push(result);
        options.progress?.(results.length, tasks.length, result);
        feed();
      });
      worker.on('error', reject);
      feed();
    }
  });
  const wallMs = Math.round(performance.now() - start);
  results.sort((a, b) => a.source.localeCompare(b.source) || a.seed - b.seed);
  const table = sources.map((source) => {
    const mine = results.filter((r) => r.source === source);
    return {
      scenario: scenarioRef(mine[0]?.scenario ?? source, sets),
      runs: mine.length,
      unexpected: mine.filter((r) => !r.ok).length,
    };
  });
  return { seeds, wallMs, runs: results.length, unexpected: results.filter((r) => !r.ok), table };
}
