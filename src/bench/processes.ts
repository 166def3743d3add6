/**
 * The replica processes of `bench cluster`: started as `bftkit node` on free loopback ports
 * (pinned to cores on request), watched through /status and /proc (CPU, peak memory, data
 * directory size), and stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ClusterFile } from '../core/cluster-file.js';
import type { Params } from '../core/kit.js';
import { bftkitProcessArgs } from '../core/launcher.js';
import { fetchStatus, type HostStatus } from '../node/status.js';

export interface Replica {
  id: string;
  port: number;
  child: ChildProcess;
  exited: boolean;
  log: string;
}

/**
 * One `bftkit node` per replica of `file`, its data and log under `dir`; `adversaries` and
 * `cores` as in ClusterBenchOptions.
 */
export function startReplicas(o: {
  file: ClusterFile;
  clusterPath: string;
  dir: string;
  params: Params;
  adversaries?: Readonly<Record<string, string>> | undefined;
  cores?: Readonly<Record<string, string>> | undefined;
}): Replica[] {
  return o.file.nodes.map((node) => {
    const logPath = join(o.dir, `${node.id}.log`);
    const fd = openSync(logPath, 'a', 0o600);
    const args = ['node', '--cluster', o.clusterPath, '--id', node.id];
    const adversary = o.adversaries?.[node.id];
    if (adversary !== undefined) args.push('--adversary', adversary);
    args.push('--data', join(o.dir, 'data', node.id), '--params', JSON.stringify(o.params));
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
    return replica;
  });
}

/**
 * Ready: every replica answers, the honest ones' replica links are up (an adversary may well
 * be disconnected, banned, by then), and a leader is known — PBFT: every replica knows the
 * primary of its view; Raft: the leader names itself.
 */
export async function waitUntilReady(
  replicas: readonly Replica[],
  adversaries: Readonly<Record<string, string>> | undefined,
  step: <T>(p: Promise<T>) => Promise<T>,
): Promise<void> {
  const honest = (id: string | undefined) => adversaries?.[id ?? ''] === undefined;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const dead = replicas.find((r) => r.exited);
    if (dead !== undefined)
      throw new Error(
        `${dead.id} exited during start-up: ${readFileSync(dead.log, 'utf8').slice(-2000)}`,
      );
    const statuses = await step(Promise.all(replicas.map((r) => getStatus(r.port))));
    const meshUp = statuses.every(
      (s) =>
        s !== null &&
        (!honest(s.id) ||
          s.peers.filter((p) => p.kind === 'replica' && honest(p.id)).every((p) => p.connected)),
    );
    if (meshUp && statuses.some((s) => s?.leader === s?.id)) return;
    if (Date.now() > deadline) throw new Error('the cluster did not come up within 60 s');
    await step(new Promise((resolve) => setTimeout(resolve, 100)));
  }
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

export function getStatus(port: number): Promise<HostStatus | null> {
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
export async function stopReplicas(replicas: readonly Replica[]): Promise<void> {
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
export function directoryBytes(path: string, skip?: RegExp): number {
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
