/**
 * The demo cluster end to end, as a user runs it: `bftkit cluster up` with the committed demo
 * keys (keys/) serves `bftkit client` puts, gets and CASes; after SIGKILL of the primary the
 * other replicas move to a later view with another primary and keep serving; SIGTERM to
 * `cluster up` stops every node. Everything runs as real child processes through the CLI.
 *
 * The test never asserts a duration: each wait has a generous deadline (the machine may be a
 * shared, noisy 2-core box), and a failure prints the `cluster up` output and the tail of each
 * node's log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freeBasePort } from '../../src/bench/cluster.js';
import type { HostStatus } from '../../src/node/status.js';
import { BFTKIT, type CliRun, getStatus, root, runBftkit, sleep } from './helpers.js';

/** Generous: a node or client process starts TypeScript through tsx on a loaded machine. */
const START_DEADLINE_MS = 150_000;
const VIEW_CHANGE_DEADLINE_MS = 180_000;
const STOP_DEADLINE_MS = 60_000;
/** --timeout of each client invocation (from connecting to the answer). */
const CLIENT_TIMEOUT_MS = 20_000;

let dir = '';
let clusterPath = '';
let dataDir = '';
let ids: string[] = [];
let ports = new Map<string, number>();
let up: ChildProcess | null = null;
let upOutput = '';
let upExited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
/** Every node pid seen in a /status answer, for the final check and the cleanup. */
const nodePids = new Map<string, number>();
/** Set by the view-change step, read by the final step. */
let killedPrimary: string | null = null;
/** A step failed: the later steps depend on it and are skipped. */
let broken = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last `bytes` of a file, or a note that it is missing. */
function tail(path: string, bytes = 3_000): string {
  if (!existsSync(path)) return `(no ${path})`;
  const text = readFileSync(path, 'utf8');
  return text.length > bytes ? `…${text.slice(-bytes)}` : text;
}

/** What a failure message carries: the `cluster up` output and the tail of each node's log. */
function context(): string {
  const logs =
    dataDir !== '' && existsSync(dataDir)
      ? readdirSync(dataDir)
          .filter((f) => f.endsWith('.log'))
          .map((f) => `--- ${f} (tail) ---\n${tail(join(dataDir, f))}`)
      : [];
  return [`--- bftkit cluster up (pid ${up?.pid}, data in ${dataDir}) ---`, upOutput, ...logs].join(
    '\n',
  );
}

function fail(message: string): never {
  throw new Error(`${message}\n${context()}`);
}

function show(run: CliRun): string {
  return `bftkit ${run.args.join(' ')} → exit ${run.code ?? run.signal}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
}

/** Run the CLI to its end; a run that outlives any reasonable time is killed (exit null). */
function bftkit(args: string[], killAfterMs = CLIENT_TIMEOUT_MS + 90_000): Promise<CliRun> {
  return runBftkit(args, { killAfterMs });
}

/** `bftkit client` as c0 (the demo's client key). */
function client(...args: string[]): Promise<CliRun> {
  return bftkit([
    'client',
    '--cluster',
    clusterPath,
    '--key',
    join(dir, 'keys', 'c0.key'),
    '--timeout',
    String(CLIENT_TIMEOUT_MS),
    ...args,
  ]);
}

function expectRun(run: CliRun, code: number, output?: { stdout?: string; stderr?: RegExp }): void {
  const ok =
    run.code === code &&
    (output?.stdout === undefined || run.stdout === output.stdout) &&
    (output?.stderr === undefined || output.stderr.test(run.stderr));
  if (!ok)
    fail(
      `expected exit ${code}${output?.stdout === undefined ? '' : ` and stdout ${JSON.stringify(output.stdout)}`}` +
        `${output?.stderr === undefined ? '' : ` and stderr ${output.stderr}`}, got:\n${show(run)}`,
    );
}

/** Poll every listed node's /status until `ok` holds for each; fails with the last ones seen. */
async function waitStatuses(
  nodes: readonly string[],
  ok: (s: HostStatus) => boolean,
  deadlineMs: number,
  what: string,
): Promise<Map<string, HostStatus>> {
  const deadline = Date.now() + deadlineMs;
  let last = new Map<string, HostStatus | null>();
  for (;;) {
    const statuses = await Promise.all(nodes.map((id) => getStatus(ports.get(id)!)));
    last = new Map(nodes.map((id, i) => [id, statuses[i] ?? null]));
    if (statuses.every((s) => s !== null && ok(s))) {
      for (const s of statuses) nodePids.set(s!.id, s!.pid);
      return last as Map<string, HostStatus>;
    }
    if (Date.now() > deadline) {
      const brief = [...last].map(([id, s]) =>
        s === null
          ? `${id}: no answer`
          : `${id}: role ${s.role} view ${s.view} leader ${s.leader} lastCommitted ${s.lastCommitted} pid ${s.pid} peers ${s.peers
              .filter((p) => p.kind === 'replica')
              .map((p) => `${p.id}:${p.connected ? 'up' : 'down'}`)
              .join(',')}`,
      );
      fail(`timed out waiting for ${what}; last /status:\n${brief.join('\n')}`);
    }
    await sleep(200);
  }
}

const meshUp = (s: HostStatus) =>
  s.peers.filter((p) => p.kind === 'replica').every((p) => p.connected);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bftkit-demo-up-'));
  // The demo keys as committed. git does not keep mode 0600, and `bftkit node` refuses a key
  // file that others can read, so the copy's key files get 0600.
  cpSync(join(root, 'keys'), join(dir, 'keys'), { recursive: true });
  for (const f of readdirSync(join(dir, 'keys')))
    if (f.endsWith('.key')) chmodSync(join(dir, 'keys', f), 0o600);
  // Always move the copy to freshly allocated free ports (the keys and the cluster id stay):
  // the demo's fixed ports (7000…) may be taken on this machine — by a demo cluster someone
  // is running, or by another test file, since vitest runs files in parallel forks.
  clusterPath = join(dir, 'keys', 'cluster.json');
  const file = JSON.parse(readFileSync(clusterPath, 'utf8')) as {
    clusterId: string;
    protocol: string;
    nodes: { id: string; port: number }[];
  };
  expect(file).toMatchObject({ clusterId: 'bftkit-demo', protocol: 'pbft' });
  const base = await freeBasePort(file.nodes.length);
  file.nodes.forEach((node, i) => {
    node.port = base + i;
  });
  writeFileSync(clusterPath, `${JSON.stringify(file, null, 2)}\n`);
  ids = file.nodes.map((n) => n.id);
  ports = new Map(file.nodes.map((n) => [n.id, n.port]));
  dataDir = join(dir, 'data');
});

beforeEach((ctx) => {
  if (broken) ctx.skip();
  ctx.onTestFailed(() => {
    broken = true;
  });
});

afterAll(async () => {
  // Whatever happened: stop `cluster up` and every node it started. `cluster up` runs in its
  // own process group (detached), which holds its nodes, so one signal reaches them all.
  if (up?.pid !== undefined && up.exitCode === null && up.signalCode === null) {
    try {
      process.kill(-up.pid, 'SIGKILL');
    } catch {
      up.kill('SIGKILL');
    }
    await Promise.race([upExited, sleep(10_000)]);
  }
  for (const pid of nodePids.values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (broken) process.stderr.write(`cluster-up-demo: left ${dir} for inspection\n`);
  else if (dir !== '') rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('bftkit cluster up with the demo keys', () => {
  it(
    'starts every node; each listens and answers /status',
    async () => {
      const child = spawn(
        process.execPath,
        [BFTKIT, 'cluster', 'up', '--cluster', clusterPath, '--data', dataDir],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
      );
      up = child;
      const keep = (d: Buffer) => {
        upOutput += d.toString();
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      upExited = new Promise((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );

      // Its output names each node as up, then says the cluster is up.
      const deadline = Date.now() + START_DEADLINE_MS;
      while (!upOutput.includes('cluster up; Ctrl-C stops every node')) {
        if (child.exitCode !== null || child.signalCode !== null)
          fail(`bftkit cluster up exited early (${child.exitCode ?? child.signalCode})`);
        if (Date.now() > deadline) fail('bftkit cluster up did not say the cluster is up');
        await sleep(100);
      }
      for (const id of ids) {
        const line = new RegExp(
          `^${id} up: ws://127\\.0\\.0\\.1:${ports.get(id)}/bftkit  status http://127\\.0\\.0\\.1:${ports.get(id)}/status`,
          'm',
        );
        if (!line.test(upOutput)) fail(`no "${id} up" line for port ${ports.get(id)}`);
      }
      expect(upOutput).toMatch(/starting 4 nodes of pbft cluster bftkit-demo/);

      // Every /status answers for the demo cluster, and the replicas are all connected.
      const statuses = await waitStatuses(
        ids,
        meshUp,
        START_DEADLINE_MS,
        'every replica connected',
      );
      for (const id of ids)
        expect(statuses.get(id)).toMatchObject({
          id,
          cluster: 'bftkit-demo',
          protocol: 'pbft',
          listen: { host: '127.0.0.1', port: ports.get(id) },
        });
    },
    2 * START_DEADLINE_MS + 30_000,
  );

  it('serves bftkit client put, get and cas (exit 0), and a failing cas (exit 1)', async () => {
    expectRun(await client('put', 'k1', 'v1'), 0, { stdout: 'ok\n' });
    expectRun(await client('get', 'k1'), 0, { stdout: 'v1\n' });
    expectRun(await client('cas', 'k1', 'v1', 'v2'), 0, { stdout: 'ok\n' });
    expectRun(await client('cas', 'k1', 'v1', 'v3'), 1, { stderr: /mismatch: k1 is v2/ });
    expectRun(await client('get', 'k1'), 0, { stdout: 'v2\n' });
  }, 300_000);

  it('keeps serving after SIGKILL of the primary: a view change to another primary', async () => {
    // The primary, as every replica reports it (a fresh cluster: view 0).
    const before = await waitStatuses(
      ids,
      (s) => s.view !== null && s.leader !== null,
      START_DEADLINE_MS,
      'a view and a primary on every replica',
    );
    const primaries = [...before.values()].filter((s) => s.role === 'primary');
    if (primaries.length !== 1) fail(`expected one primary, got ${primaries.map((s) => s.id)}`);
    const primary = primaries[0]!;
    for (const s of before.values())
      if (s.leader !== primary.id || s.view !== primary.view)
        fail(
          `${s.id} reports view ${s.view} leader ${s.leader}, not ${primary.view}/${primary.id}`,
        );
    // Its pid is a child of `cluster up` (so this kills a node of this cluster, nothing else).
    if (process.platform === 'linux') {
      const stat = readFileSync(`/proc/${primary.pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== up?.pid)
        fail(`pid ${primary.pid} of ${primary.id} is not a child of cluster up`);
    }

    killedPrimary = primary.id;
    process.kill(primary.pid, 'SIGKILL');
    const killedAt = Date.now();
    // `cluster up` reports the death (and reaps the process).
    const reported = `${primary.id} exited (signal SIGKILL)`;
    while (!upOutput.includes(reported)) {
      if (Date.now() - killedAt > STOP_DEADLINE_MS) fail(`cluster up did not report "${reported}"`);
      await sleep(100);
    }

    // Writes go through again once the others have changed view: retry until one succeeds.
    const attempts: CliRun[] = [];
    for (;;) {
      const run = await client('put', 'k2', 'after-kill');
      attempts.push(run);
      if (run.code === 0) break;
      if (Date.now() - killedAt > VIEW_CHANGE_DEADLINE_MS)
        fail(
          `no put succeeded after killing primary ${primary.id}; attempts:\n${attempts.map(show).join('\n')}`,
        );
    }
    expectRun(attempts.at(-1)!, 0, { stdout: 'ok\n' });
    const earlier = attempts.slice(0, -1).map((r) => `exit ${r.code ?? r.signal}`);
    process.stderr.write(
      `cluster-up-demo: first put after killing primary ${primary.id} succeeded ` +
        `${Date.now() - killedAt} ms after the kill (${earlier.length === 0 ? 'first attempt' : `after ${earlier.join(', ')}`})\n`,
    );

    // The cluster keeps serving, and what was written before the kill is still there.
    expectRun(await client('get', 'k2'), 0, { stdout: 'after-kill\n' });
    expectRun(await client('get', 'k1'), 0, { stdout: 'v2\n' });
    expectRun(await client('cas', 'k1', 'v2', 'v4'), 0, { stdout: 'ok\n' });
    expectRun(await client('put', 'k3', 'v3'), 0, { stdout: 'ok\n' });
    expectRun(await client('get', 'k3'), 0, { stdout: 'v3\n' });
    expectRun(await client('get', 'k1'), 0, { stdout: 'v4\n' });

    // The remaining replicas are in a later view, under another primary, one of them.
    const rest = ids.filter((id) => id !== primary.id);
    const after = await waitStatuses(
      rest,
      (s) => (s.view ?? 0) > (primary.view ?? 0) && s.leader !== null && s.leader !== primary.id,
      STOP_DEADLINE_MS,
      `a view after ${primary.view} with a primary other than ${primary.id}`,
    );
    for (const s of after.values()) {
      expect(s.view).toBeGreaterThan(0);
      expect(rest).toContain(s.leader);
      expect(s.pid).toBe(nodePids.get(s.id));
    }
    expect(await getStatus(ports.get(primary.id)!)).toBeNull();
    expect(alive(primary.pid)).toBe(false);
  }, 600_000);

  it(
    'SIGTERM to cluster up stops every node and exits',
    async () => {
      expect(killedPrimary).not.toBeNull();
      expect(nodePids.size).toBe(ids.length);
      const child = up!;
      expect(child.exitCode).toBeNull();
      child.kill('SIGTERM');
      const exit = await Promise.race([upExited!, sleep(STOP_DEADLINE_MS).then(() => null)]);
      if (exit === null) fail('bftkit cluster up did not exit after SIGTERM');
      if (exit.code !== 0) fail(`bftkit cluster up exited ${exit.code ?? exit.signal} on SIGTERM`);
      expect(upOutput).toMatch(/SIGTERM: stopping every node\n[\s\S]*stopped\n/);
      // No node process is left (cluster up waited for each, so none is even a zombie).
      const left = [...nodePids].filter(([, pid]) => alive(pid));
      if (left.length > 0) fail(`node processes left: ${left.map(([id, pid]) => `${id}=${pid}`)}`);
      // No survivor died before the SIGTERM (cluster up reports a death unless it is stopping).
      for (const id of ids.filter((i) => i !== killedPrimary))
        expect(upOutput).not.toMatch(new RegExp(`^${id} exited`, 'm'));
    },
    STOP_DEADLINE_MS + 30_000,
  );
});
