/**
 * A 3-node Raft cluster of real `bftkit node` processes, each in its own network namespace,
 * joined by veth pairs to a bridge in a "switch" namespace (topology: ./netns.ts). Clients
 * are ClientHosts in the test process, which reaches the bridge over one more veth pair.
 *
 * Under a client workload the leader is partitioned for real (its interface goes down): the
 * majority elects a new leader and keeps serving; after the heal the old leader rejoins and
 * catches up, and the whole history is linearizable.
 *
 * Needs root and working `ip netns`; skipped otherwise, with the reason printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLinearizability } from '../../src/check/linearizability.js';
import type { ClusterFile } from '../../src/core/cluster-file.js';
import { readKeyFile } from '../../src/core/keyfile.js';
import { keygen } from '../../src/core/keygen.js';
import type { HistoryEntry } from '../../src/core/kit.js';
import type { Json } from '../../src/crypto/json.js';
import { ClientHost, RequestTimeout } from '../../src/node/client-host.js';
import type { HostStatus } from '../../src/node/status.js';
import { findKit } from '../../src/scenario/kits.js';
import { BFTKIT, root, sleep } from './helpers.js';
import { NetnsTopology, netnsUnavailableReason } from './netns.js';

const unavailable = netnsUnavailableReason();
if (unavailable !== null)
  console.warn(`netns.test.ts skipped: ${unavailable} (needs root and \`ip netns\`)`);

const N = 3;
const PORT = 7000;
// PreVote and CheckQuorum are on (the defaults): the cut-off leader steps down, and after the
// heal it must learn the new term from the majority's answers and heartbeats alone.
const PARAMS = {
  electionTimeoutMs: [300, 600],
  heartbeatMs: 60,
  clientRetryMs: 500,
};

interface Node {
  id: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<void>;
}

let net: NetnsTopology | null = null;
let dir: string | null = null;
const nodes: Node[] = [];
const clients: ClientHost[] = [];

async function getStatus(host: string): Promise<HostStatus | null> {
  try {
    const res = await fetch(`http://${host}:${PORT}/status`, {
      signal: AbortSignal.timeout(1_000),
    });
    return res.ok ? ((await res.json()) as HostStatus) : null;
  } catch {
    return null;
  }
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const got = await probe();
    if (got !== null && got !== undefined && got !== false) return got;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function cleanup(): Promise<void> {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
  for (const n of nodes.splice(0)) {
    if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    await Promise.race([n.exited, sleep(5_000)]);
  }
  net?.destroy();
  net = null;
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
}

describe.skipIf(unavailable !== null)('raft processes in network namespaces', () => {
  let file: ClusterFile;
  let keysDir: string;

  beforeAll(async () => {
    try {
      net = new NetnsTopology(N);
      net.create();
      dir = mkdtempSync(join(tmpdir(), 'bftkit-netns-'));
      keysDir = join(dir, 'keys');
      const generated = keygen({
        nodes: N,
        clients: 2,
        protocol: 'raft',
        basePort: PORT,
        host: net.nodeAddress(0),
        out: keysDir,
      });
      const topology = net;
      file = {
        ...generated,
        nodes: generated.nodes.map((n, i) => ({ ...n, host: topology.nodeAddress(i), port: PORT })),
      };
      const clusterPath = join(keysDir, 'cluster.json');
      writeFileSync(clusterPath, `${JSON.stringify(file, null, 2)}\n`);
      for (const [i, n] of file.nodes.entries()) {
        const args = ['netns', 'exec', topology.nodeNs(i), process.execPath, BFTKIT, 'node'];
        args.push('--cluster', clusterPath, '--id', n.id, '--data', join(dir, 'data', n.id));
        args.push('--params', JSON.stringify(PARAMS));
        // The IPC channel makes a node exit if this process goes away.
        const child = spawn('ip', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
        let out = '';
        const keep = (chunk: Buffer) => {
          out = (out + chunk.toString()).slice(-20_000);
        };
        child.stdout?.on('data', keep);
        child.stderr?.on('data', keep);
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        nodes.push({ id: n.id, child, output: () => out, exited });
      }
    } catch (e) {
      await cleanup();
      throw e;
    }
  }, 30_000);

  afterAll(cleanup, 30_000);

  it('the leader is cut off: the majority elects another and serves; after the heal it catches up', async () => {
    const topology = net!;
    const hosts = file.nodes.map((_, i) => topology.nodeAddress(i));
    const statuses = async () => Promise.all(hosts.map(getStatus));
    const leaderOf = (ss: readonly (HostStatus | null)[]) =>
      ss
        .filter((s): s is HostStatus => s?.role === 'leader')
        .sort((a, b) => (b.term ?? 0) - (a.term ?? 0))[0] ?? null;
    try {
      // Every node answers /status at its namespace address, the mesh is up, a leader exists.
      await until('the replica mesh', 40_000, async () =>
        (await statuses()).every((s) =>
          s?.peers.filter((p) => p.kind === 'replica').every((p) => p.connected),
        ),
      );
      for (const [i, s] of (await statuses()).entries())
        expect(s?.listen).toEqual({ host: hosts[i], port: PORT });
      const first = await until('a leader', 15_000, async () => leaderOf(await statuses()));

      for (const c of file.clients)
        clients.push(
          new ClientHost({
            file,
            id: c.id,
            key: readKeyFile(join(keysDir, `${c.id}.key`)),
            kit: findKit('raft'),
            params: PARAMS,
            transport: { backoff: { initialMs: 50, maxMs: 500 } },
          }),
        );
      for (const c of clients) await c.waitConnected(N, 10_000);

      // Closed-loop clients: puts of unique values and gets over a few keys.
      const history: HistoryEntry[] = [];
      const stuck: string[] = [];
      const t0 = performance.now();
      const now = () => performance.now() - t0;
      let stop = false;
      let oldIndex = -1;
      const issue = async (client: ClientHost, op: Json, index: number) => {
        const entry: HistoryEntry = {
          client: client.id,
          index,
          op,
          invokedAt: now(),
          result: null,
          respondedAt: null,
        };
        history.push(entry);
        try {
          entry.result = await client.request(op, 15_000);
          entry.respondedAt = now();
          return true;
        } catch (e) {
          if (!(e instanceof RequestTimeout)) throw e;
          stuck.push(`${client.id}#${index} ${JSON.stringify(op)}`);
          return false;
        }
      };
      const done = (after: number) =>
        history.filter((h) => h.respondedAt !== null && h.invokedAt >= after).length;
      const loops = clients.map(async (client, ci) => {
        for (let index = 0; !stop; index++) {
          const key = `k${(index + ci) % 3}`;
          const op: Json =
            index % 2 === 0
              ? { op: 'put', key, value: `${client.id}-${index}` }
              : { op: 'get', key };
          if (!(await issue(client, op, index))) return;
        }
      });
      try {
        await until('operations before the partition', 15_000, async () => done(0) >= 10);

        // Partition the current leader for real.
        const old = leaderOf(await statuses()) ?? first;
        oldIndex = file.nodes.findIndex((n) => n.id === old.id);
        const others = hosts.filter((_, i) => i !== oldIndex);
        topology.linkDown(oldIndex);
        const cutAt = now();
        process.stderr.write(`netns: cut off leader ${old.id} (term ${old.term})\n`);
        const next = await until('a new leader in the majority', 15_000, async () => {
          const l = leaderOf(await Promise.all(others.map(getStatus)));
          return l !== null && (l.term ?? 0) > (old.term ?? 0) ? l : null;
        });
        expect(next.id).not.toBe(old.id);
        // The majority keeps serving while the old leader is cut off.
        await until('operations in the majority', 15_000, async () => done(cutAt) >= 10);
        expect(await getStatus(hosts[oldIndex]!)).toBeNull();
        process.stderr.write(
          `netns: ${next.id} leads term ${next.term}; ${done(cutAt)} ops done during the partition\n`,
        );

        // Heal; keep the load on a little, then stop it.
        topology.linkUp(oldIndex);
        const healedAt = now();
        await until('operations after the heal', 15_000, async () => done(healedAt) >= 5);
      } finally {
        stop = true;
        await Promise.all(loops);
      }
      // Final reads are part of the history: a lost acknowledged write would show there.
      for (const k of [0, 1, 2]) await issue(clients[0]!, { op: 'get', key: `k${k}` }, 1e6 + k);

      // The old leader rejoins as a follower and its commit index catches up.
      const target = await until('the leader after the heal', 10_000, async () =>
        leaderOf(await statuses()),
      );
      const oldNow = await until('the old leader to catch up', 20_000, async () => {
        const s = await getStatus(hosts[oldIndex]!);
        return s !== null &&
          s.role !== 'leader' &&
          (s.term ?? 0) >= (target.term ?? 0) &&
          (s.lastCommitted ?? -1) >= (target.lastCommitted ?? 0)
          ? s
          : null;
      });
      process.stderr.write(
        `netns: ${history.length} ops; old leader at term ${oldNow.term}, commit ${oldNow.lastCommitted}\n`,
      );
      expect(stuck).toEqual([]);
      expect(checkLinearizability(history)).toEqual([]);
    } catch (e) {
      for (const n of nodes) process.stderr.write(`--- ${n.id}\n${n.output().slice(-3_000)}\n`);
      for (const s of await statuses()) process.stderr.write(`status: ${JSON.stringify(s)}\n`);
      throw e;
    }
  });
});
