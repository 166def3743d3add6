/**
 * A throw-away 3-member etcd cluster on loopback (fsync on, as etcd always does) and a
 * closed-loop put driver for it, measured the way `bench cluster` measures bftkit: operations
 * completed in a window after a warm-up, latency per request, and the members' CPU from /proc.
 * etcd is the peer the Raft targets of the wire-path issue are set against.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { cpuSeconds, percentile } from './cluster.js';

/** Where `etcd` is on PATH, or null. */
export function etcdBinary(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'etcd');
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return null;
}

export interface EtcdBenchResult {
  system: 'etcd';
  concurrency: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerOp: number;
  ops: number;
  errors: number;
  loadAverage: number[];
}

const BASE_PORT = 32379;
const MEMBERS = 3;
const VALUE = Buffer.alloc(100, 'v');

function startMembers(binary: string, dir: string): ChildProcess[] {
  const peerUrl = (i: number) => `http://127.0.0.1:${BASE_PORT + 100 * i + 1}`;
  const initial = Array.from({ length: MEMBERS }, (_, i) => `m${i}=${peerUrl(i)}`).join(',');
  return Array.from({ length: MEMBERS }, (_, i) => {
    const client = `http://127.0.0.1:${BASE_PORT + 100 * i}`;
    return spawn(
      binary,
      [
        ...['--name', `m${i}`, '--data-dir', join(dir, `m${i}`)],
        ...['--listen-client-urls', client, '--advertise-client-urls', client],
        ...['--listen-peer-urls', peerUrl(i), '--initial-advertise-peer-urls', peerUrl(i)],
        ...['--initial-cluster', initial, '--initial-cluster-token', `bftkit-bench-${process.pid}`],
        ...['--initial-cluster-state', 'new', '--logger', 'zap', '--log-level', 'error'],
      ],
      { stdio: 'ignore' },
    );
  });
}

/**
 * Starts the cluster, drives `concurrency` outstanding puts of 100 B for warm-up plus window
 * seconds, and stops and removes everything, also when it fails.
 */
export async function runEtcdBench(o: {
  concurrency: number;
  durationS: number;
  warmupS: number;
}): Promise<EtcdBenchResult> {
  const binary = etcdBinary();
  if (binary === null) throw new Error('etcd is not installed (apt-get install -y etcd-server)');
  // A development dependency only: the package itself never talks to etcd.
  const { Etcd3 } = await import('etcd3');
  const dir = mkdtempSync(join(tmpdir(), 'bftkit-etcd-'));
  const members = startMembers(binary, dir);
  const hosts = Array.from({ length: MEMBERS }, (_, i) => `127.0.0.1:${BASE_PORT + 100 * i}`);
  const client = new Etcd3({ hosts });
  try {
    await until(async () => {
      await client.put('ready').value('1');
    }, 30_000);
    const latencies: number[] = [];
    let ops = 0;
    let errors = 0;
    let measuring = false;
    const start = Date.now();
    const windowStart = start + 1000 * o.warmupS;
    const end = windowStart + 1000 * o.durationS;
    let cpuBefore = 0;
    let cpuAfter = 0;
    const cpuNow = () => members.reduce((sum, m) => sum + (cpuSeconds(m.pid ?? -1) ?? 0), 0);
    const timer = setTimeout(() => {
      measuring = true;
      cpuBefore = cpuNow();
    }, windowStart - start);
    const worker = async (w: number) => {
      for (let i = 0; Date.now() < end; i++) {
        const t0 = performance.now();
        try {
          await client.put(`k/${w}/${i % 1000}`).value(VALUE);
          if (measuring && Date.now() < end) {
            latencies.push(performance.now() - t0);
            ops++;
          }
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
    cpuAfter = cpuNow();
    clearTimeout(timer);
    latencies.sort((a, b) => a - b);
    return {
      system: 'etcd',
      concurrency: o.concurrency,
      opsPerSec: Math.round(ops / o.durationS),
      p50Ms: Math.round(1000 * percentile(latencies, 50)) / 1000,
      p99Ms: Math.round(1000 * percentile(latencies, 99)) / 1000,
      serverCpuUsPerOp: ops > 0 ? Math.round((1e6 * (cpuAfter - cpuBefore)) / ops) : 0,
      ops,
      errors,
      loadAverage: loadavg().map((l) => Math.round(100 * l) / 100),
    };
  } finally {
    client.close();
    await Promise.all(members.map(stop));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function until(attempt: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`etcd did not become ready: ${String(e)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
