/**
 * A KV cluster of real replica processes under a closed-loop client workload, with kill -9
 * of f replicas (the leader/primary among them) — or of every replica at once — during the
 * load and their restart from the same data directories.
 *
 * Replicas are `bftkit node` processes; clients are ClientHosts in the test process over the
 * same authenticated transport.
 */

import type { HistoryEntry, Params, ProtocolKit } from '../../src/core/kit.js';
import type { NodeId } from '../../src/core/protocol.js';
import { Rng } from '../../src/core/rng.js';
import type { Json } from '../../src/crypto/json.js';
import { ClientHost, RequestTimeout } from '../../src/node/client-host.js';
import type { HostStatus } from '../../src/node/status.js';
import {
  getStatus,
  kill9,
  makeCluster,
  type NodeProcess,
  sleep,
  spawnNode,
  type TempCluster,
  waitStatus,
} from './helpers.js';

export interface KvRunOptions {
  kit: ProtocolKit;
  protocol: 'raft' | 'pbft';
  n: number;
  clients: number;
  params: Params;
  /** Who leads now, judged from the replicas' /status. */
  leaderOf(statuses: readonly HostStatus[]): NodeId | null;
  /** Issue new operations for at least this long, and at least afterRestartMs after the restart. */
  loadMs: number;
  afterRestartMs: number;
  killAtMs: number;
  downMs: number;
  /** How long one operation may wait for its answer (default 30 s). */
  opTimeoutMs?: number;
  /** Kill no earlier than killAtMs, and once the replicas' statuses say so (up to 60 s more). */
  killWhen?: (statuses: readonly HostStatus[]) => boolean;
  /** Whom to kill: f replicas, the leader among them (default), or all of them at once. */
  victims?: 'f' | 'all';
  seed: number;
  keys: readonly string[];
  log?: (line: string) => void;
  /** The cluster file's auth (default: the protocol's). */
  auth?: 'signed' | 'channel';
}

export interface KvRunResult {
  history: HistoryEntry[];
  killed: NodeId[];
  /** Operations completed after the killed replicas came back. */
  completedAfterRestart: number;
  stuck: string[];
  /** Every replica's /status just before the kill, and at the end. */
  beforeKill: Map<NodeId, HostStatus | null>;
  statuses: Map<NodeId, HostStatus | null>;
  cluster: TempCluster;
  nodes: Map<NodeId, NodeProcess>;
}

export async function runKvCluster(o: KvRunOptions): Promise<KvRunResult> {
  const log = o.log ?? (() => {});
  const cluster = await makeCluster(o.n, o.clients, o.protocol, 'kv', o.auth);
  const nodes = new Map<NodeId, NodeProcess>();
  const ids = cluster.file.nodes.map((n) => n.id);
  const params = JSON.stringify(o.params);
  const start = (id: NodeId) => {
    const node = spawnNode(cluster, id, { real: true, args: ['--params', params] });
    nodes.set(id, node);
    return node;
  };
  for (const id of ids) start(id);
  const dump = () => {
    for (const n of nodes.values()) log(`--- ${n.id}\n${n.output().slice(-4000)}`);
  };
  const clients: ClientHost[] = [];
  try {
    const meshUp = (s: HostStatus) =>
      s.peers.filter((p) => p.kind === 'replica').every((p) => p.connected);
    for (const id of ids) await waitStatus(cluster.port(id), meshUp, 40_000, `${id} mesh`);
    const statusesNow = async () =>
      (await Promise.all(ids.map((id) => getStatus(cluster.port(id))))).filter(
        (s): s is HostStatus => s !== null,
      );
    const deadline = Date.now() + 20_000;
    while (o.leaderOf(await statusesNow()) === null) {
      if (Date.now() > deadline) throw new Error('no leader after 20 s');
      await sleep(100);
    }

    for (const c of cluster.file.clients) {
      clients.push(
        new ClientHost({
          file: cluster.file,
          id: c.id,
          key: cluster.key(c.id),
          kit: o.kit,
          params: o.params,
          transport: { backoff: { initialMs: 50, maxMs: 500 } },
        }),
      );
    }
    for (const c of clients) await c.waitConnected(o.n, 10_000);

    const history: HistoryEntry[] = [];
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const stuck: string[] = [];
    let restartedAt = Number.POSITIVE_INFINITY;
    const rng = new Rng(o.seed, 7);
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
        entry.result = await client.request(op, o.opTimeoutMs ?? 30_000);
        entry.respondedAt = now();
        return true;
      } catch (e) {
        if (!(e instanceof RequestTimeout)) throw e;
        stuck.push(`${client.id}#${index} ${JSON.stringify(op)}`);
        return false;
      }
    };
    const loops = clients.map(async (client) => {
      for (let index = 0; now() < Math.max(o.loadMs, restartedAt + o.afterRestartMs); index++) {
        const op = o.kit.nextOperation(rng, client.id, index, o.params);
        if (!(await issue(client, op, index))) return;
      }
    });

    // The fault: kill -9 the leader and f-1 others during the load, then restart them.
    const killed: NodeId[] = [];
    const beforeKill = new Map<NodeId, HostStatus | null>();
    const fault = (async () => {
      await sleep(o.killAtMs);
      const until = Date.now() + 60_000;
      while (o.killWhen !== undefined && Date.now() < until && !o.killWhen(await statusesNow()))
        await sleep(100);
      for (const id of ids) beforeKill.set(id, await getStatus(cluster.port(id)));
      const leader = o.leaderOf(await statusesNow()) ?? ids[0]!;
      killed.push(leader);
      const count = o.victims === 'all' ? ids.length : cluster.file.f;
      for (const id of ids) if (killed.length < count && !killed.includes(id)) killed.push(id);
      log(`t=${Math.round(now())} kill -9 ${killed.join(', ')}`);
      await Promise.all(killed.map((id) => kill9(nodes.get(id)!)));
      await sleep(o.downMs);
      for (const id of killed) start(id);
      for (const id of killed) await waitStatus(cluster.port(id), meshUp, 40_000, `${id} back`);
      restartedAt = now();
      log(`t=${Math.round(restartedAt)} restarted ${killed.join(', ')}`);
    })();
    await Promise.all([...loops, fault]);

    // Final reads: a write that was acknowledged and then lost would make them non-linearizable.
    const reader = clients[0]!;
    for (const [i, key] of o.keys.entries()) await issue(reader, { op: 'get', key }, 1_000_000 + i);

    const statuses = new Map<NodeId, HostStatus | null>();
    for (const id of ids) statuses.set(id, await getStatus(cluster.port(id)));
    const completedAfterRestart = history.filter(
      (h) => h.respondedAt !== null && h.invokedAt >= restartedAt,
    ).length;
    log(
      `${history.length} operations, ${history.filter((h) => h.respondedAt !== null).length} completed, ${completedAfterRestart} after the restart`,
    );
    return {
      history,
      killed,
      completedAfterRestart,
      stuck,
      beforeKill,
      statuses,
      cluster,
      nodes,
    };
  } catch (e) {
    dump();
    throw e;
  } finally {
    for (const c of clients) await c.close();
  }
}
