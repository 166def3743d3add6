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

import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { keygen } from '../cli/keygen.js';
import { bftkitProcessArgs, workerScript } from '../cli/launcher.js';
import type { ClusterFile } from '../core/cluster-file.js';
import type { Json } from '../core/json.js';
import { readKeyFile } from '../crypto/keyfile.js';
import { ClientHost, RequestTimeout } from '../node/client-host.js';
import { fetchStatus, type HostStatus, kitForCluster } from '../node/host.js';
import type { Params } from '../scenario/kit.js';

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

const REQUEST_TIMEOUT_MS = 10_000;

export class BenchAborted extends Error {
  override name = 'BenchAborted';
}

/**
 * The command and arguments that run `argv` on `cores` (a `taskset -c` list), or anywhere.
 * taskset execs the command, so the child's pid is the program's (its CPU is read by pid).
 */
export function pinned(argv: readonly string[], cores: string | undefined): [string, string[]] {
  const [command, ...rest] = cores === undefined ? argv : ['taskset', '-c', cores, ...argv];
  return [command as string, rest];
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Where replicas listen: below Linux's ephemeral range (32768–60999). A port in that range can
 * be free when checked and then become the local end of an outgoing connection — the demo's
 * clients alone open hundreds — before the replica binds it.
 */
const LISTEN_PORTS = { low: 20_000, high: 32_768 };

/** A base port with `count` free consecutive loopback ports after it. */
export async function freeBasePort(count: number): Promise<number> {
  const { low, high } = LISTEN_PORTS;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low - count));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} free consecutive loopback ports found`);
}

function getStatus(port: number): Promise<HostStatus | null> {
  return fetchStatus(`http://127.0.0.1:${port}`, 2_000);
}

/** Peak resident set (VmHWM) of a process in MiB, or null where /proc is not available. */
export function peakRssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? null : Number(match[1]) / 1024;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used, or null without /proc. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

// ─── the driver: clients in a worker thread ───────────────────────────────────────────────

interface DriverInit {
  role: 'bftkit-bench-driver';
  entry: string;
  file: ClusterFile;
  keysDir: string;
  clients: string[];
  params: Params;
}

type DriverCommand = { type: 'run'; warmupMs: number; windowMs: number } | { type: 'close' };

type DriverReport =
  | { type: 'connected' }
  | { type: 'error'; message: string }
  | { type: 'done'; latencies: number[]; ops: number; timeouts: number }
  | { type: 'closed' };

/** One closed loop per client: put k → v, wait for the reply, repeat. */
async function driveClients(
  clients: readonly ClientHost[],
  warmupMs: number,
  windowMs: number,
): Promise<{ latencies: number[]; ops: number; timeouts: number }> {
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  const windowEnd = windowStart + windowMs;
  const latencies: number[] = [];
  let ops = 0;
  let timeouts = 0;
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = 0; performance.now() < windowEnd; i++) {
        const op: Json = { op: 'put', key: `k${c}`, value: `${client.id}.${i}` };
        const start = performance.now();
        try {
          await client.request(op, REQUEST_TIMEOUT_MS);
        } catch (e) {
          if (!(e instanceof RequestTimeout)) throw e;
          timeouts++;
          return;
        }
        const end = performance.now();
        if (end >= windowStart && end < windowEnd) ops++;
        if (start >= windowStart && end < windowEnd) latencies.push(end - start);
      }
    }),
  );
  return { latencies, ops, timeouts };
}

function makeClients(init: Omit<DriverInit, 'role' | 'entry'>): ClientHost[] {
  const kit = kitForCluster(init.file);
  return init.clients.map(
    (id) =>
      new ClientHost({
        file: init.file,
        id,
        key: readKeyFile(join(init.keysDir, `${id}.key`)),
        kit,
        params: init.params,
        transport: { backoff: { initialMs: 50, maxMs: 500 } },
      }),
  );
}

async function driverMain(init: DriverInit): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const post = (report: DriverReport) => port.postMessage(report);
  let clients: ClientHost[] = [];
  try {
    clients = makeClients(init);
    await Promise.all(clients.map((c) => c.waitConnected(undefined, 30_000)));
    post({ type: 'connected' });
  } catch (e) {
    post({ type: 'error', message: (e as Error).message });
  }
  port.on('message', (command: DriverCommand) => {
    if (command.type === 'run') {
      driveClients(clients, command.warmupMs, command.windowMs).then(
        (r) => post({ type: 'done', ...r }),
        (e: Error) => post({ type: 'error', message: e.message }),
      );
    } else {
      Promise.all(clients.map((c) => c.close())).finally(() => {
        post({ type: 'closed' });
        port.close();
      });
    }
  });
}

if (!isMainThread && (workerData as DriverInit | undefined)?.role === 'bftkit-bench-driver') {
  void driverMain(workerData as DriverInit);
}

class Driver {
  private readonly worker: Worker;
  private readonly reports: DriverReport[] = [];
  private waiting: ((r: DriverReport) => void) | null = null;

  constructor(init: Omit<DriverInit, 'role' | 'entry'>) {
    const { script, entry } = workerScript(import.meta.url, './cluster');
    const data: DriverInit = { role: 'bftkit-bench-driver', entry, ...init };
    this.worker = new Worker(script, {
      workerData: data,
      stdout: false,
      stderr: false,
    });
    this.worker.on('message', (r: DriverReport) => this.push(r));
    this.worker.on('error', (e) => this.push({ type: 'error', message: e.message }));
    this.worker.on('exit', () => this.push({ type: 'closed' }));
  }

  private push(report: DriverReport): void {
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting(report);
    } else this.reports.push(report);
  }

  next(): Promise<DriverReport> {
    const report = this.reports.shift();
    if (report !== undefined) return Promise.resolve(report);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  send(command: DriverCommand): void {
    this.worker.postMessage(command);
  }

  async close(): Promise<void> {
    this.send({ type: 'close' });
    const stop = sleep(5_000).then(() => this.worker.terminate());
    for (;;) {
      const r = await Promise.race([this.next(), stop.then(() => ({ type: 'closed' }) as const)]);
      if (r.type === 'closed') break;
    }
  }
}

// ─── the benchmark ────────────────────────────────────────────────────────────────────────

interface Replica {
  id: string;
  port: number;
  child: ChildProcess;
  exited: boolean;
  log: string;
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
    const clusterPath = join(keysDir, 'cluster.json');
    log(
      `${o.protocol} n=${o.nodes} f=${file.f}, ${o.concurrency} clients on ${driverCount} driver thread(s); ` +
        `ports ${basePort}…${basePort + o.nodes - 1}; data in ${dir}`,
    );
    for (const node of file.nodes) {
      const logPath = join(dir, `${node.id}.log`);
      const fd = openSync(logPath, 'a', 0o600);
      const args = ['node', '--cluster', clusterPath, '--id', node.id];
      const adversary = o.adversaries?.[node.id];
      if (adversary !== undefined) args.push('--adversary', adversary);
      args.push('--data', join(dir, 'data', node.id), '--params', JSON.stringify(params));
      const cores = o.cores?.[node.id] ?? o.cores?.['*'];
      const [command, rest] = pinned([process.execPath, ...bftkitProcessArgs(args)], cores);
      const child = spawn(command, rest, {
        stdio: ['ignore', fd, fd, 'ipc'],
        env: { ...process.env, BFTKIT_LOG_LEVEL: process.env.BFTKIT_LOG_LEVEL ?? 'warn' },
      });
      closeSync(fd);
      const replica: Replica = { id: node.id, port: node.port, child, exited: false, log: logPath };
      child.on('exit', () => {
        replica.exited = true;
      });
      replicas.push(replica);
    }

    // Ready: every replica answers, its replica links are up, and a leader is known.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const dead = replicas.find((r) => r.exited);
      if (dead !== undefined)
        throw new Error(
          `${dead.id} exited during start-up: ${readFileSync(dead.log, 'utf8').slice(-2000)}`,
        );
      const statuses = await step(Promise.all(replicas.map((r) => getStatus(r.port))));
      // Among the honest replicas: an adversary may well be disconnected (banned) by then.
      const honest = (id: string | undefined) => o.adversaries?.[id ?? ''] === undefined;
      const meshUp = statuses.every(
        (s) =>
          s !== null &&
          (!honest(s.id) ||
            s.peers.filter((p) => p.kind === 'replica' && honest(p.id)).every((p) => p.connected)),
      );
      // PBFT: every replica knows the primary of its view; Raft: the leader names itself.
      const ready = meshUp && statuses.some((s) => s?.leader === s?.id);
      if (ready) break;
      if (Date.now() > deadline) throw new Error('the cluster did not come up within 60 s');
      await step(sleep(100));
    }
    log('cluster up; connecting clients');

    const ids = file.clients.slice(0, o.concurrency).map((c) => c.id);
    for (let d = 0; d < driverCount; d++) {
      drivers.push(
        new Driver({ file, keysDir, clients: ids.filter((_, i) => i % driverCount === d), params }),
      );
    }
    for (const driver of drivers) {
      const r = await step(driver.next());
      if (r.type !== 'connected')
        throw new Error(`a client driver failed: ${r.type === 'error' ? r.message : r.type}`);
    }

    log(`warm-up ${warmupMs} ms, then measuring for ${windowMs} ms`);
    const stopAttack = await step(
      o.attack?.({
        file,
        keysDir,
        spareClients: file.clients.slice(o.concurrency).map((c) => c.id),
      }) ?? Promise.resolve(async () => {}),
    );
    const viewsAtStart = await step(Promise.all(replicas.map((r) => getStatus(r.port))));
    for (const driver of drivers) driver.send({ type: 'run', warmupMs, windowMs });
    // Sample CPU at the edges of the window.
    const cpuAt = () => ({
      nodes: replicas.map((r) => cpuSeconds(r.child.pid ?? -1)),
      driver: process.cpuUsage(),
      at: performance.now(),
    });
    await step(sleep(warmupMs));
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
    };
    if (o.dataSampleS === undefined) await step(sleep(windowMs));
    else {
      const end = before.at + windowMs;
      sample();
      while (performance.now() < end) {
        await step(sleep(Math.min(1000 * o.dataSampleS, end - performance.now())));
        sample();
        const last = dataSamples[dataSamples.length - 1];
        if (last !== undefined)
          log(`t=${last.atS}s data bytes ${JSON.stringify(last.bytesByNode)}`);
      }
    }
    const after = cpuAt();
    const reports = await step(Promise.all(drivers.map((d) => d.next())));
    await stopAttack();
    const viewsAtEnd = await step(Promise.all(replicas.map((r) => getStatus(r.port))));
    // Views (PBFT) or terms (Raft) the honest replicas moved through during the run: an
    // adversary cut off from the rest may climb views alone, which changes nobody's primary.
    const honestView = (ss: readonly (HostStatus | null)[]) =>
      Math.max(
        0,
        ...ss
          .filter((s) => s !== null && o.adversaries?.[s.id] === undefined)
          .map((s) => s?.view ?? s?.term ?? 0),
      );
    const viewChanges = honestView(viewsAtEnd) - honestView(viewsAtStart);
    const latencies: number[] = [];
    let ops = 0;
    let timeouts = 0;
    for (const r of reports) {
      if (r.type !== 'done')
        throw new Error(`a client driver failed: ${r.type === 'error' ? r.message : r.type}`);
      for (const l of r.latencies) latencies.push(l);
      ops += r.ops;
      timeouts += r.timeouts;
    }
    latencies.sort((a, b) => a - b);
    const seconds = (after.at - before.at) / 1000;
    const cpuByNode: Record<string, number> = {};
    replicas.forEach((r, i) => {
      const a = after.nodes[i];
      const b = before.nodes[i];
      if (a != null && b != null) cpuByNode[r.id] = round((a - b) / seconds, 2);
    });
    const driverCpu = process.cpuUsage(before.driver);
    const rssMbByNode: Record<string, number> = {};
    for (const r of replicas) {
      const rss = peakRssMb(r.child.pid ?? -1);
      if (rss !== null) rssMbByNode[r.id] = round(rss, 1);
    }
    const [l1, l5, l15] = loadavg();
    const replicaCpu = Object.values(cpuByNode).reduce((a, b) => a + b, 0) * seconds;
    const clientCpu = (driverCpu.user + driverCpu.system) / 1e6;
    return {
      protocol: o.protocol,
      nodes: o.nodes,
      concurrency: o.concurrency,
      opsPerSec: round(ops / (windowMs / 1000), 0),
      p50Ms: round(percentile(latencies, 50), 3),
      p99Ms: round(percentile(latencies, 99), 3),
      peakRssMb: Math.max(0, ...Object.values(rssMbByNode)),
      rssMbByNode,
      cpuByNode,
      cpuDriver: round(clientCpu / seconds, 2),
      serverCpuUsPerOp: ops > 0 ? Math.round((1e6 * replicaCpu) / ops) : 0,
      clientCpuUsPerOp: ops > 0 ? Math.round((1e6 * clientCpu) / ops) : 0,
      durationS: windowMs / 1000,
      ops,
      timeouts,
      viewChanges,
      loadAverage: [round(l1 ?? 0, 2), round(l5 ?? 0, 2), round(l15 ?? 0, 2)],
      dataSamples,
    };
  } finally {
    if (aborted) log('stopping');
    await Promise.all(drivers.map((d) => d.close()));
    await stopReplicas(replicas);
    // BFTKIT_BENCH_KEEP=1 keeps the directory (node logs) for a post-mortem.
    if (process.env.BFTKIT_BENCH_KEEP === '1') log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function stopReplicas(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(
    replicas.map(
      (r) =>
        new Promise<void>((resolve) => {
          if (r.exited || r.child.exitCode !== null || r.child.signalCode !== null) {
            resolve();
            return;
          }
          const kill = setTimeout(() => r.child.kill('SIGKILL'), 3_000);
          r.child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          r.child.kill('SIGTERM');
        }),
    ),
  );
}

/** Total size of the files under `path` whose names `skip` does not match (0: no directory). */
function directoryBytes(path: string, skip?: RegExp): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (skip?.test(name)) continue;
    const stat = statSync(join(path, name), { throwIfNoEntry: false });
    if (stat === undefined) continue;
    total += stat.isDirectory() ? directoryBytes(join(path, name), skip) : stat.size;
  }
  return total;
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
