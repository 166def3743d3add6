/**
 * `bftkit bench flood`: honest throughput of a PBFT cluster on loopback (./cluster.ts) while
 * it is attacked, against the same cluster without the attack, run after run:
 *
 *   bad-signatures    a client (a key of the cluster) sends well-formed REQUESTs with bad
 *                     signatures to every replica, as fast as its event loop goes;
 *   junk-replica      replica n3 runs the flooding-replica adversary: validly signed junk
 *                     (votes nobody needs, far-future VIEW-CHANGEs and CHECKPOINTs, FETCH-STATEs)
 *                     and malformed frames, 8 to each peer every 10 ms;
 *   unauthenticated   no key: from two other loopback addresses it keeps 200 WebSocket
 *                     connections open to every replica, half of them silent and half stopped
 *                     after a hello (a half-done handshake), reopening what gets closed.
 *
 * The attacker is a process of its own (./flood-attacker.ts; n3 for junk-replica). On a small
 * machine it takes CPU the cluster would have had, which is no cost of the protocol: with
 * `isolate`, the attacker (and n3, in both runs) is pinned to the last core and the replicas
 * and client drivers to the others, in the baseline and attacked runs alike — as if the
 * attacker had a machine of its own.
 *
 * The figures are the median over the repeats of each attacked run's throughput over its
 * baseline run's (baseline and attacked alternate, so both see the same machine), the same
 * ratio of the honest replicas' CPU per operation (which a busy machine hardly moves), and
 * the view changes in each. A benchmark measures; it never asserts.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { InputError } from '../core/errors.js';
import { bftkitProcessArgs } from '../core/launcher.js';
import {
  BenchAborted,
  type BenchCluster,
  type ClusterBenchResult,
  pinned,
  runClusterBench,
} from './cluster.js';
import type { AttackerReport, ProcessAttack } from './flood-attacker.js';

export const ATTACKS = ['bad-signatures', 'junk-replica', 'unauthenticated'] as const;
export type Attack = (typeof ATTACKS)[number];

export interface FloodBenchOptions {
  attacks: readonly Attack[];
  repeats: number;
  concurrency: number;
  durationS: number;
  log?: (line: string) => void;
  abort?: Promise<unknown>;
  /** The attacker on a core of its own, the cluster on the others (see above). */
  isolate?: boolean;
}

interface FloodSide {
  opsPerSec: number;
  viewChanges: number;
  /** CPU milliseconds of replicas n0–n2 (honest in every run) per completed operation. */
  honestCpuMsPerOp: number;
}

export interface FloodRun {
  baseline: FloodSide;
  attacked: FloodSide;
  ratio: number;
  /**
   * Baseline over attacked honest CPU per operation: what the attack costs the honest
   * replicas, nearly independent of what else runs on the machine (throughput on a busy
   * machine is not). 1 = free; 0.8 = each operation costs them 25% more.
   */
  cpuRatio: number;
  /** Frames or connections the attacker managed to send or open. */
  attackerSent: number;
  loadAverage: [number, number, number];
}

export interface FloodBenchResult {
  concurrency: number;
  durationS: number;
  attacks: Record<
    string,
    { runs: FloodRun[]; medianRatio: number; medianCpuRatio: number; viewChangesAttacked: number[] }
  >;
  /** Runs that could not be measured (e.g. the cluster did not come up), with why. */
  failures: string[];
}

export async function runFloodBench(o: FloodBenchOptions): Promise<FloodBenchResult> {
  const result: FloodBenchResult = {
    concurrency: o.concurrency,
    durationS: o.durationS,
    attacks: {},
    failures: [],
  };
  const failures = result.failures;
  const cores = o.isolate === true ? pinCores() : undefined;
  try {
    for (const attack of o.attacks)
      result.attacks[attack] = await floodRuns(attack, o, failures, cores);
  } finally {
    if (cores !== undefined) pin(process.pid, cores.all);
  }
  return result;
}

interface Cores {
  cluster: string;
  attacker: string;
  all: string;
}

/** Pin this process (its client drivers are threads started later) away from the attacker's core. */
function pinCores(): Cores {
  const n = availableParallelism();
  if (process.platform !== 'linux' || n < 2 || spawnSync('taskset', ['-V']).status !== 0)
    throw new InputError('--isolate: needs Linux, taskset and at least 2 cores');
  const cores = {
    cluster: n === 2 ? '0' : `0-${n - 2}`,
    attacker: String(n - 1),
    all: `0-${n - 1}`,
  };
  pin(process.pid, cores.cluster);
  return cores;
}

function pin(pid: number, list: string): void {
  spawnSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
}

async function floodRuns(
  attack: Attack,
  o: FloodBenchOptions,
  failures: string[],
  cores: Cores | undefined,
): Promise<FloodBenchResult['attacks'][string]> {
  const runs: FloodRun[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const bench = (extra: Partial<Parameters<typeof runClusterBench>[0]>) =>
      runClusterBench({
        protocol: 'pbft',
        nodes: 4,
        concurrency: o.concurrency,
        durationS: o.durationS,
        warmupS: 2,
        spareClients: 1,
        ...(o.abort === undefined ? {} : { abort: o.abort }),
        ...(cores === undefined
          ? {}
          : {
              cores:
                attack === 'junk-replica'
                  ? { n3: cores.attacker, '*': cores.cluster }
                  : { '*': cores.cluster },
            }),
        ...extra,
      });
    o.log?.(`${attack} ${r + 1}/${o.repeats}: baseline`);
    let sent = 0;
    let baseline: ClusterBenchResult;
    let attacked: ClusterBenchResult;
    try {
      baseline = await bench({});
      o.log?.(`${attack} ${r + 1}/${o.repeats}: attacked`);
      attacked = await bench(
        attack === 'junk-replica'
          ? { adversaries: { n3: 'flooding-replica' } }
          : {
              attack: (cluster) =>
                startAttacker(attack, cluster, cores?.attacker, (n) => {
                  sent = n;
                }),
            },
      );
    } catch (e) {
      if (e instanceof BenchAborted) throw e;
      // A run that could not start (a busy machine) is reported, not fatal to the others.
      o.log?.(`${attack} ${r + 1}/${o.repeats}: failed: ${(e as Error).message}`);
      failures.push(`${attack} ${r + 1}: ${(e as Error).message}`);
      continue;
    }
    const [b, a] = [side(baseline), side(attacked)];
    const run: FloodRun = {
      baseline: b,
      attacked: a,
      ratio: b.opsPerSec > 0 ? round(a.opsPerSec / b.opsPerSec) : 0,
      cpuRatio: a.honestCpuMsPerOp > 0 ? round(b.honestCpuMsPerOp / a.honestCpuMsPerOp) : 0,
      attackerSent: sent,
      loadAverage: attacked.loadAverage,
    };
    o.log?.(`${attack} ${r + 1}/${o.repeats}: ${JSON.stringify(run)}`);
    runs.push(run);
  }
  return {
    runs,
    medianRatio: median(runs.map((x) => x.ratio)),
    medianCpuRatio: median(runs.map((x) => x.cpuRatio)),
    viewChangesAttacked: runs.map((x) => x.attacked.viewChanges),
  };
}

/**
 * Start the attacker process (pinned to `core` if given); resolves once it attacks, to a
 * function that stops it. `sent` hears its running count.
 */
async function startAttacker(
  attack: ProcessAttack,
  cluster: BenchCluster,
  core: string | undefined,
  sent: (n: number) => void,
): Promise<() => Promise<void>> {
  const args = [
    ...bftkitProcessArgs(['bench', 'flood-attacker', attack, '--keys', cluster.keysDir]),
    '--client',
    cluster.spareClients[0] as string,
  ];
  const [command, rest] = pinned([process.execPath, ...args], core);
  const child: ChildProcess = spawn(command, rest, {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: AttackerReport) => {
      sent(m.sent);
      if (m.ready) resolve();
    });
    exited.then(() => reject(new Error(`the ${attack} attacker exited before it attacked`)));
  });
  return async () => {
    if (child.connected) child.send('stop');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };
}

/** Replicas n0–n2: honest in every run (./cluster.ts names replicas n0…; n3 may attack). */
const HONEST = ['n0', 'n1', 'n2'];

function side(r: ClusterBenchResult): FloodSide {
  const cpuS = HONEST.reduce((sum, id) => sum + (r.cpuByNode[id] ?? 0), 0) * r.durationS;
  return {
    opsPerSec: r.opsPerSec,
    viewChanges: r.viewChanges,
    honestCpuMsPerOp: r.ops > 0 ? round((1000 * cpuS) / r.ops) : 0,
  };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
