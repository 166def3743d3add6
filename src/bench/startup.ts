/**
 * Start-up of the `bftkit` command (`npm run bench -- startup`): wall time, median of 5, of
 * `node -e 0` (Node alone), `bftkit --help`, a replica process answering GET /status after it
 * is spawned, and a `bftkit client put` round trip against a running 4-replica PBFT cluster —
 * each for the compiled CLI (dist/, what `npm install` and the package run) and for the
 * TypeScript sources through tsx (scripts/bftkit.mjs, what the tests run). Build first
 * (`npm run build`); this measures, it never asserts.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { keygen } from '../core/keygen.js';
import { fetchStatus } from '../node/status.js';
import { freeBasePort } from './cluster.js';

const RUNS = 5;
const root = fileURLToPath(new URL('../../', import.meta.url));
const LAUNCHERS = {
  dist: join(root, 'dist/cli/bin.js'),
  tsx: join(root, 'scripts/bftkit.mjs'),
} as const;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function timed(args: string[]): number {
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

function spawnNode(bin: string, cluster: string, id: string, data: string): ChildProcess {
  return spawn(process.execPath, [bin, 'node', '--cluster', cluster, '--id', id, '--data', data], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, BFTKIT_LOG_LEVEL: 'warn' },
  });
}

async function untilStatus(port: number, deadline: number): Promise<void> {
  while ((await fetchStatus(`http://127.0.0.1:${port}`, 200)) === null) {
    if (Date.now() > deadline) throw new Error(`no /status on port ${port}`);
    await sleep(5);
  }
}

async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
}

export async function benchStartup(): Promise<void> {
  if (!existsSync(LAUNCHERS.dist)) {
    process.stdout.write('dist/ is missing: run `npm run build` first\n');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'bftkit-startup-'));
  try {
    const basePort = await freeBasePort(4);
    const file = keygen({
      nodes: 4,
      clients: 1,
      protocol: 'pbft',
      basePort,
      host: '127.0.0.1',
      out: join(dir, 'keys'),
    });
    const cluster = join(dir, 'keys', 'cluster.json');
    const rows: [string, number, number][] = [];
    const nodeAlone = median(Array.from({ length: RUNS }, () => timed(['-e', '0'])));
    process.stdout.write(`node -e 0: ${nodeAlone.toFixed(0)} ms\n`);

    for (const [name, bin] of Object.entries(LAUNCHERS)) {
      const help = median(Array.from({ length: RUNS }, () => timed([bin, '--help'])));

      const status: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const start = performance.now();
        const child = spawnNode(bin, cluster, 'n0', join(dir, `${name}-status-${i}`));
        try {
          await untilStatus(basePort, Date.now() + 120_000);
          status.push(performance.now() - start);
        } finally {
          await stop([child]);
        }
      }

      const replicas = file.nodes.map((n) =>
        spawnNode(bin, cluster, n.id, join(dir, `${name}-${n.id}`)),
      );
      const put: number[] = [];
      try {
        for (const n of file.nodes) await untilStatus(n.port, Date.now() + 120_000);
        const client = [bin, 'client', '--cluster', cluster, '--key', join(dir, 'keys/c0.key')];
        timed([...client, 'put', 'warm', 'up']); // the first request of the cluster is not timed
        for (let i = 0; i < RUNS; i++) put.push(timed([...client, 'put', `k${i}`, `v${i}`]));
      } finally {
        await stop(replicas);
      }
      rows.push([`${name}: bftkit --help`, help, nodeAlone]);
      rows.push([`${name}: replica /status after spawn`, median(status), nodeAlone]);
      rows.push([`${name}: bftkit client put`, median(put), nodeAlone]);
    }
    for (const [what, ms] of rows) process.stdout.write(`${what.padEnd(36)} ${ms.toFixed(0)} ms\n`);
    const load = loadavg().map((l) => l.toFixed(2));
    process.stdout.write(`(median of ${RUNS}; load average ${load.join(' ')})\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
