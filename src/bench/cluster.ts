/**
 * `bftkit bench cluster`: a real cluster on loopback under a closed-loop load of small KV
 * writes, measured end to end.
 *
 *   1. keygen into a fresh temporary directory (0700): n replicas, C clients, free ports;
 *   2. one `bftkit node` process per replica (data and logs in the temporary directory);
 *   3. C clients, each a ClientHost with its own identity and one request outstanding (the
 *      client cores serve one request at a time), spread over driver threads so that one
 *      event loop does not cap the load; every request is signed by its client and every
 *      reply checked, exactly as in production;
 *   4. a warm-up (JIT, connections, first elections), then the measured window: throughput
 *      = replies received in the window / window length; latency percentiles over the
 *      requests that started and finished in it;
 *   5. each replica's peak RSS (VmHWM in /proc/<pid>/status) and the CPU every process used in
 *      the window (utime + stime from /proc/<pid>/stat), then everything is stopped and the
 *      temporary directory removed — on Ctrl-C and SIGTERM too.
 *
 * A benchmark measures; it never asserts. The machine may be shared: report the load average
 * with the figures and compare medians of several runs.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterFile } from '../core/cluster-file.js';
import { keygen } from '../core/keygen.js';
import type { Params } from '../core/kit.js';
import type { HostStatus } from '../node/status.js';
import { Driver, type DriverReport } from './driver.js';
import {
  cpuSeconds,
  directoryBytes,
  freeBasePort,
  getStatus,
  peakRssMb,
  type Replica,
  startReplicas,
  stopReplicas,
  waitUntilReady,
} from './processes.js';

export { cpuSeconds, freeBasePort, peakRssMb, pinned } from './processes.js';

export type BenchProtocol = 'pbft' | 'raft';

export interface ClusterBenchOptions {
  protocol: BenchProtocol;
  nodes: number;
  /** Requests outstanding at once = client identities, each with one request in flight. */
  concurrency: number;
  /** Length of the measured window, in seconds. */
  durationS: number;
  /** Warm-up before the window (default: 1 s, or a quarter of a short window). */
  warmupS?: number;
  /** Driver threads the clients are spread over (default: 1, or 2 from 8 clients on). */
  drivers?: number;
  /** Protocol parameters for the replicas and the clients (as `--params`). */
  params?: Params;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Resolves to abort the run (Ctrl-C); the cluster is still cleaned up. */
  abort?: Promise<unknown>;
  /** Replicas that run an adversary (`bftkit node --adversary NAME`): id → name. */
  adversaries?: Readonly<Record<string, string>>;
  /** Client identities made beside the load's (for an attacker: see ./flood.ts). */
  spareClients?: number;
  /** Started with the warm-up, stopped after the window (./flood.ts): an attack. */
  attack?: (cluster: BenchCluster) => Promise<() => Promise<void>>;
  /** Measure each replica's data directory every this many seconds of the window. */
  dataSampleS?: number;
  /** Pin replicas to these cores (a `taskset -c` list): id → list, '*' for the rest. */
  cores?: Readonly<Record<string, string>>;
}

/** The bytes in each replica's data directory at one moment. */
export interface DataSample {
  atS: number;
  /** Everything: the SQLite database, its write-ahead log and shared-memory file. */
  bytesByNode: Record<string, number>;
  /** Without the write-ahead log (-wal) and -shm, which SQLite checkpoints and reuses. */
  dbBytesByNode: Record<string, number>;
}

/** What an attack needs to know of the running cluster. */
export interface BenchCluster {
  file: ClusterFile;
  keysDir: string;
  /** The client identities no load driver uses. */
  spareClients: readonly string[];
}

export interface ClusterBenchResult {
  protocol: BenchProtocol;
  nodes: number;
  concurrency: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** The largest peak RSS of any replica, in MiB. */
  peakRssMb: number;
  /** Peak RSS per replica, in MiB. */
  rssMbByNode: Record<string, number>;
  /** CPU used in the window per second of window (1 = one core busy), per replica. */
  cpuByNode: Record<string, number>;
  /** CPU of the client driver (this process, all its threads), same unit. */
  cpuDriver: number;
  /**
   * CPU microseconds per completed operation (utime + stime from /proc over the measured
   * window): every replica together, and the client driver. Unlike throughput on a shared
   * machine, this hardly depends on what else runs there.
   */
  serverCpuUsPerOp: number;
  clientCpuUsPerOp: number;
  durationS: number;
  ops: number;
  /** Requests that got no reply within the per-request timeout (should be 0). */
  timeouts: number;
  /** How far the highest view (PBFT) or term (Raft) moved from the start of the warm-up. */
  viewChanges: number;
  loadAverage: [number, number, number];
  /** With dataSampleS: the data directories' sizes over the window. */
  dataSamples: DataSample[];
}

export class BenchAborted extends Error {
  override name = 'BenchAborted';
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Start a cluster in a temporary directory, load it, measure, and clean everything up. */
export async function runClusterBench(o: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const log = o.log ?? (() => {});
  const params = o.params ?? {};
  const warmupMs = Math.round(1000 * (o.warmupS ?? Math.min(1, o.durationS / 4)));
  const windowMs = Math.round(1000 * o.durationS);
  const driverCount = Math.max(
    1,
    Math.min(o.drivers ?? (o.concurrency >= 8 ? 2 : 1), o.concurrency),
  );
  const dir = mkdtempSync(join(tmpdir(), 'bftkit-bench-'));
  const replicas: Replica[] = [];
  const drivers: Driver[] = [];
  let aborted = false;
  const abort = (o.abort ?? new Promise<never>(() => {})).then(() => {
    aborted = true;
    throw new BenchAborted('aborted');
  });
  abort.catch(() => {});
  const step = <T>(p: Promise<T>): Promise<T> => Promise.race([p, abort]);

  try {
    const keysDir = join(dir, 'keys');
    const basePort = await freeBasePort(o.nodes);
    const file = keygen({
      nodes: o.nodes,
      clients: o.concurrency + (o.spareClients ?? 0),
      protocol: o.protocol,
      basePort,
      host: '127.0.0.1',
      out: keysDir,
    });
    log(
      `${o.protocol} n=${o.nodes} f=${file.f}, ${o.concurrency} clients on ${driverCount} driver thread(s); ` +
        `ports ${basePort}…${basePort + o.nodes - 1}; data in ${dir}`,
    );
    const clusterPath = join(keysDir, 'cluster.json');
    replicas.push(...startReplicas({ ...o, file, clusterPath, dir, params }));
    await waitUntilReady(replicas, o.adversaries, step);
    log('cluster up; connecting clients');
    const ids = file.clients.slice(0, o.concurrency).map((c) => c.id);
    for (let d = 0; d < driverCount; d++) {
      drivers.push(
        new Driver({ file, keysDir, clients: ids.filter((_, i) => i % driverCount === d), params }),
      );
    }
    for (const driver of drivers) expectReport(await step(driver.next()), 'connected');

    log(`warm-up ${warmupMs} ms, then measuring for ${windowMs} ms`);
    const stopAttack = await step(
      o.attack?.({
        file,
        keysDir,
        spareClients: file.clients.slice(o.concurrency).map((c) => c.id),
      }) ?? Promise.resolve(async () => {}),
    );
    const window = await measure({ o, dir, replicas, drivers, warmupMs, windowMs, log, step });
    await stopAttack();
    const viewsAtEnd = await step(Promise.all(replicas.map((r) => getStatus(r.port))));
    return summarize(o, replicas, { ...window, viewsAtEnd, windowMs });
  } finally {
    if (aborted) log('stopping');
    await Promise.all(drivers.map((d) => d.close()));
    await stopReplicas(replicas);
    // BFTKIT_BENCH_KEEP=1 keeps the directory (node logs) for a post-mortem.
    if (process.env.BFTKIT_BENCH_KEEP === '1') log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** A driver's report, which must be of the kind `want`. */
function expectReport<T extends DriverReport['type']>(
  report: DriverReport,
  want: T,
): Extract<DriverReport, { type: T }> {
  if (report.type !== want)
    throw new Error(
      `a client driver failed: ${report.type === 'error' ? report.message : report.type}`,
    );
  return report as Extract<DriverReport, { type: T }>;
}

interface CpuSample {
  nodes: (number | null)[];
  driver: NodeJS.CpuUsage;
  at: number;
}

interface Window {
  before: CpuSample;
  after: CpuSample;
  reports: DriverReport[];
  viewsAtStart: (HostStatus | null)[];
  dataSamples: DataSample[];
}

/** Warm-up, then the window: CPU sampled at its edges, data directories during it on request. */
async function measure(m: {
  o: ClusterBenchOptions;
  dir: string;
  replicas: readonly Replica[];
  drivers: readonly Driver[];
  warmupMs: number;
  windowMs: number;
  log: (line: string) => void;
  step: <T>(p: Promise<T>) => Promise<T>;
}): Promise<Window> {
  const { o, dir, replicas, step } = m;
  const viewsAtStart = await step(Promise.all(replicas.map((r) => getStatus(r.port))));
  for (const driver of m.drivers)
    driver.send({ type: 'run', warmupMs: m.warmupMs, windowMs: m.windowMs });
  const cpuAt = (): CpuSample => ({
    nodes: replicas.map((r) => cpuSeconds(r.child.pid ?? -1)),
    driver: process.cpuUsage(),
    at: performance.now(),
  });
  await step(sleep(m.warmupMs));
  const before = cpuAt();
  const dataSamples: DataSample[] = [];
  const sample = () => {
    const bytesByNode: Record<string, number> = {};
    const dbBytesByNode: Record<string, number> = {};
    for (const r of replicas) {
      bytesByNode[r.id] = directoryBytes(join(dir, 'data', r.id));
      dbBytesByNode[r.id] = directoryBytes(join(dir, 'data', r.id), /-(wal|shm)$/);
    }
    const atS = round((performance.now() - before.at) / 1000, 1);
    dataSamples.push({ atS, bytesByNode, dbBytesByNode });
    m.log(`t=${atS}s data bytes ${JSON.stringify(bytesByNode)}`);
  };
  if (o.dataSampleS === undefined) await step(sleep(m.windowMs));
  else {
    const end = before.at + m.windowMs;
    sample();
    while (performance.now() < end) {
      await step(sleep(Math.min(1000 * o.dataSampleS, end - performance.now())));
      sample();
    }
  }
  const after = cpuAt();
  const reports = await step(Promise.all(m.drivers.map((d) => d.next())));
  return { before, after, reports, viewsAtStart, dataSamples };
}

/** The figures of one run, from what `measure` saw. */
function summarize(
  o: ClusterBenchOptions,
  replicas: readonly Replica[],
  w: Window & { viewsAtEnd: (HostStatus | null)[]; windowMs: number },
): ClusterBenchResult {
  // Views (PBFT) or terms (Raft) the honest replicas moved through during the run: an
  // adversary cut off from the rest may climb views alone, which changes nobody's primary.
  const honestView = (ss: readonly (HostStatus | null)[]) =>
    Math.max(
      0,
      ...ss
        .filter((s) => s !== null && o.adversaries?.[s.id] === undefined)
        .map((s) => s?.view ?? s?.term ?? 0),
    );
  const latencies: number[] = [];
  let ops = 0;
  let timeouts = 0;
  for (const r of w.reports) {
    const done = expectReport(r, 'done');
    for (const l of done.latencies) latencies.push(l);
    ops += done.ops;
    timeouts += done.timeouts;
  }
  latencies.sort((a, b) => a - b);
  const seconds = (w.after.at - w.before.at) / 1000;
  const cpuByNode: Record<string, number> = {};
  replicas.forEach((r, i) => {
    const a = w.after.nodes[i];
    const b = w.before.nodes[i];
    if (a != null && b != null) cpuByNode[r.id] = round((a - b) / seconds, 2);
  });
  const driverCpu = process.cpuUsage(w.before.driver);
  const rssMbByNode: Record<string, number> = {};
  for (const r of replicas) {
    const rss = peakRssMb(r.child.pid ?? -1);
    if (rss !== null) rssMbByNode[r.id] = round(rss, 1);
  }
  const replicaCpu = Object.values(cpuByNode).reduce((a, b) => a + b, 0) * seconds;
  const clientCpu = (driverCpu.user + driverCpu.system) / 1e6;
  return {
    protocol: o.protocol,
    nodes: o.nodes,
    concurrency: o.concurrency,
    opsPerSec: round(ops / (w.windowMs / 1000), 0),
    p50Ms: round(percentile(latencies, 50), 3),
    p99Ms: round(percentile(latencies, 99), 3),
    peakRssMb: Math.max(0, ...Object.values(rssMbByNode)),
    rssMbByNode,
    cpuByNode,
    cpuDriver: round(clientCpu / seconds, 2),
    serverCpuUsPerOp: ops > 0 ? Math.round((1e6 * replicaCpu) / ops) : 0,
    clientCpuUsPerOp: ops > 0 ? Math.round((1e6 * clientCpu) / ops) : 0,
    durationS: w.windowMs / 1000,
    ops,
    timeouts,
    viewChanges: honestView(w.viewsAtEnd) - honestView(w.viewsAtStart),
    loadAverage: loadavg().map((l) => round(l, 2)) as [number, number, number],
    dataSamples: w.dataSamples,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The human-readable report of one run. */
export function formatClusterBench(r: ClusterBenchResult): string {
  const rss = Object.entries(r.rssMbByNode)
    .map(([id, mb]) => `${id} ${mb.toFixed(0)}`)
    .join(', ');
  const cpu = Object.entries(r.cpuByNode)
    .map(([id, c]) => `${id} ${(c * 100).toFixed(0)}%`)
    .join(', ');
  return [
    `${r.protocol} n=${r.nodes}, ${r.concurrency} outstanding, ${r.durationS} s window`,
    `  throughput  ${r.opsPerSec} ops/s (${r.ops} replies${r.timeouts > 0 ? `, ${r.timeouts} timeouts` : ''})`,
    `  latency     p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`,
    `  peak RSS    ${rss} (MiB; max ${r.peakRssMb.toFixed(0)})`,
    `  CPU         ${cpu}; clients ${(r.cpuDriver * 100).toFixed(0)}%`,
    `  CPU per op  replicas ${r.serverCpuUsPerOp} µs, clients ${r.clientCpuUsPerOp} µs`,
    `  load avg    ${r.loadAverage.join(' ')}`,
  ].join('\n');
}
