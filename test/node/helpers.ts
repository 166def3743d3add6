/** Helpers for process tests: temp clusters on free loopback ports, child nodes, /status. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeBasePort } from '../../src/bench/cluster.js';
import type { ClusterFile } from '../../src/core/cluster-file.js';
import { readKeyFile, type SecretKey } from '../../src/core/keyfile.js';
import { keygen } from '../../src/core/keygen.js';
import { BFTKIT } from '../../src/core/launcher.js';
import type { HostStatus } from '../../src/node/status.js';

export const root = join(import.meta.dirname, '../..');
export { BFTKIT };
export const TEST_NODE = join(root, 'test/node/fixtures/test-node.ts');

export interface TempCluster {
  dir: string;
  clusterPath: string;
  file: ClusterFile;
  key(id: string): SecretKey;
  port(id: string): number;
  cleanup(): void;
}

/** keygen into a temp dir, at a random base port whose n ports are free right now. */
export async function makeCluster(
  nodes: number,
  clients: number,
  protocol: 'pbft' | 'raft' = 'pbft',
  app: 'kv' | 'ledger' = 'kv',
  auth?: 'signed' | 'channel',
): Promise<TempCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bftkit-node-'));
  const basePort = await freeBasePort(nodes);
  const out = join(dir, 'keys');
  const file = keygen({
    nodes,
    clients,
    protocol,
    app,
    basePort,
    host: '127.0.0.1',
    out,
    ...(auth === undefined ? {} : { auth }),
  });
  return {
    dir,
    clusterPath: join(out, 'cluster.json'),
    file,
    key: (id) => readKeyFile(join(out, `${id}.key`)),
    port: (id) => file.nodes.find((n) => n.id === id)!.port,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface NodeProcess {
  id: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** Spawn a node: the test kit's fixture by default, or the real `bftkit node`. */
export function spawnNode(
  cluster: TempCluster,
  id: string,
  options: { real?: boolean; args?: string[]; data?: string } = {},
): NodeProcess {
  const data = options.data ?? join(cluster.dir, 'data', id);
  const args = options.real
    ? [BFTKIT, 'node', '--cluster', cluster.clusterPath, '--id', id, '--data', data]
    : ['--import', 'tsx', TEST_NODE, '--cluster', cluster.clusterPath, '--id', id, '--data', data];
  const child = spawn(process.execPath, [...args, ...(options.args ?? [])], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, BFTKIT_LOG_LEVEL: process.env.BFTKIT_LOG_LEVEL ?? 'info' },
  });
  running.add(child);
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { id, child, output: () => out, exited };
}

/** SIGKILL every child still running (call from afterEach/afterAll). */
export async function killAll(): Promise<void> {
  const waits = [...running].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}

export async function kill9(node: NodeProcess): Promise<void> {
  node.child.kill('SIGKILL');
  await node.exited;
}

export async function getStatus(port: number): Promise<HostStatus | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/status`, {
      signal: AbortSignal.timeout(2_000),
    });
    return res.ok ? ((await res.json()) as HostStatus) : null;
  } catch {
    return null;
  }
}

/** Poll /status until `ok(status)` holds; fails with the last status seen. */
export async function waitStatus(
  port: number,
  ok: (s: HostStatus) => boolean,
  timeoutMs = 20_000,
  what = 'status condition',
): Promise<HostStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: HostStatus | null = null;
  while (Date.now() < deadline) {
    last = await getStatus(port);
    if (last !== null && ok(last)) return last;
    await sleep(100);
  }
  throw new Error(
    `timed out waiting for ${what} on :${port}; last status: ${JSON.stringify(last)}`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(
  condition: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface CliRun {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `bftkit ARGS` to its end and collect its output. A run that outlives `killAfterMs` is
 * killed (exit null); `onStderr` sees the stderr so far and may interrupt the run (SIGINT).
 */
export function runBftkit(
  args: string[],
  options: { killAfterMs?: number; onStderr?: (text: string, interrupt: () => void) => void } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BFTKIT, ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, () => child.kill('SIGINT'));
    });
    const killer =
      options.killAfterMs === undefined
        ? null
        : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.on('close', (code, signal) => {
      if (killer !== null) clearTimeout(killer);
      resolve({ args, code, signal, stdout, stderr });
    });
  });
}
