/**
 * The Twins generator end to end: size the schedule space, pick the schedules (all of them
 * when the space is no larger than the sample, else a seeded uniform sample), run each
 * against the chosen protocol variant — in worker threads when jobs > 1 — and collect the
 * violations. Results come back in index order whatever the number of jobs.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerScript } from '../core/launcher.js';
import {
  partitionsPerRound,
  sampleIndices,
  scheduleAt,
  spaceSize,
  twinChoices,
} from './generate.js';
import { runSchedule, type ScheduleResult, type TwinsConfig } from './run.js';
import type { TwinsTask } from './worker.js';

export interface TwinsSummary {
  protocol: string;
  /** Exact size of the schedule space (decimal string: it can exceed 2^53). */
  spaceSize: string;
  partitionsPerRound: string;
  twinChoices: string;
  /** Whether every schedule of the space was run (the space is no larger than the sample). */
  exhaustive: boolean;
  runs: number;
  violating: number;
  wallMs: number;
  /** Every schedule that produced a violation, in index order. */
  violations: ScheduleResult[];
  /** Every result, in index order (omitted from --json output unless asked for). */
  results: ScheduleResult[];
}

export interface TwinsOptions {
  sample: number;
  jobs?: number;
  /** Run only these indices (the reproduce path) instead of sampling. */
  only?: readonly bigint[];
  progress?: (done: number, total: number, last: ScheduleResult) => void;
}

export function selectIndices(config: TwinsConfig, options: TwinsOptions): bigint[] {
  if (options.only !== undefined) return [...options.only];
  return sampleIndices(spaceSize(config), options.sample, config.seed);
}

export async function runTwins(config: TwinsConfig, options: TwinsOptions): Promise<TwinsSummary> {
  const size = spaceSize(config);
  for (const index of options.only ?? []) scheduleAt(config, index); // out of range fails here
  const indices = selectIndices(config, options);
  const start = performance.now();
  const jobs = Math.max(1, Math.min(options.jobs ?? availableParallelism(), indices.length));
  const results =
    jobs === 1
      ? runInline(config, indices, options.progress)
      : await runInWorkers(config, indices, jobs, options.progress);
  results.sort((a, b) => compareIndex(a.index, b.index));
  const violations = results.filter((r) => r.violations.length > 0);
  return {
    protocol: config.protocol,
    spaceSize: size.toString(),
    partitionsPerRound: partitionsPerRound(config).toString(),
    twinChoices: twinChoices(config).toString(),
    exhaustive: options.only === undefined && size <= BigInt(options.sample),
    runs: results.length,
    violating: violations.length,
    wallMs: Math.round(performance.now() - start),
    violations,
    results,
  };
}

function compareIndex(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function runInline(
  config: TwinsConfig,
  indices: readonly bigint[],
  progress: TwinsOptions['progress'],
): ScheduleResult[] {
  const results: ScheduleResult[] = [];
  for (const index of indices) {
    const result = runSchedule(config, scheduleAt(config, index));
    results.push(result);
    progress?.(results.length, indices.length, result);
  }
  return results;
}

function runInWorkers(
  config: TwinsConfig,
  indices: readonly bigint[],
  jobs: number,
  progress: TwinsOptions['progress'],
): Promise<ScheduleResult[]> {
  const results: ScheduleResult[] = [];
  return new Promise((resolve, reject) => {
    let next = 0;
    let running = jobs;
    let failed = false;
    const workers: Worker[] = [];
    const { script, entry } = workerScript(import.meta.url, './worker');
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(error);
    };
    for (let w = 0; w < jobs; w++) {
      const worker = new Worker(script, { workerData: { entry } });
      workers.push(worker);
      let finished = false;
      const feed = () => {
        if (failed) return;
        const index = indices[next++];
        if (index !== undefined) {
          const task: TwinsTask = { config, index: index.toString() };
          worker.postMessage(task);
        } else {
          finished = true;
          void worker.terminate();
          if (--running === 0) resolve(results);
        }
      };
      worker.on('message', (result: ScheduleResult) => {
        results.push(result);
        progress?.(results.length, indices.length, result);
        feed();
      });
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!finished) {
          fail(new Error(`twins worker exited with code ${code}`));
        }
      });
      feed();
    }
  });
}
