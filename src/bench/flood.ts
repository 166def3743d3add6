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
 * The figures are the median over the repeats of each attacked run's throughput over its
 * baseline run's (baseline and attacked alternate, so both see the same machine), the same
 * ratio of the honest replicas' CPU per operation (which a busy machine hardly moves), and
 * the view changes in each. A benchmark measures; it never asserts.
 */

import { join } from 'node:path';
import { WebSocket } from 'ws';
import { makeSigner, signEnvelope } from '../core/envelope.js';
import { fastBackend } from '../crypto/backends.js';
import { readKeyFile } from '../crypto/keyfile.js';
import { freshNonce, HANDSHAKE_VERSION } from '../net/handshake.js';
import { WS_PATH } from '../net/transport.js';
import { ClientHost } from '../node/client-host.js';
import { kitForCluster } from '../node/host.js';
import {
  BenchAborted,
  type BenchCluster,
  type ClusterBenchResult,
  runClusterBench,
} from './cluster.js';

export const ATTACKS = ['bad-signatures', 'junk-replica', 'unauthenticated'] as const;
export type Attack = (typeof ATTACKS)[number];

export interface FloodBenchOptions {
  attacks: readonly Attack[];
  repeats: number;
  concurrency: number;
  durationS: number;
  log?: (line: string) => void;
  abort?: Promise<unknown>;
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
  for (const attack of o.attacks) {
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
                attack: async (cluster) => {
                  const stop =
                    attack === 'bad-signatures'
                      ? await badSignatures(cluster, (n) => {
                          sent += n;
                        })
                      : unauthenticated(cluster, (n) => {
                          sent += n;
                        });
                  return stop;
                },
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
    result.attacks[attack] = {
      runs,
      medianRatio: median(runs.map((x) => x.ratio)),
      medianCpuRatio: median(runs.map((x) => x.cpuRatio)),
      viewChangesAttacked: runs.map((x) => x.attacked.viewChanges),
    };
  }
  return result;
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

/** A client of the cluster sending REQUESTs with bad signatures to every replica, flat out. */
async function badSignatures(cluster: BenchCluster, count: (n: number) => void) {
  const id = cluster.spareClients[0] as string;
  const key = readKeyFile(join(cluster.keysDir, `${id}.key`));
  const host = new ClientHost({ file: cluster.file, id, key, kit: kitForCluster(cluster.file) });
  await host.waitConnected(1, 10_000).catch(() => {});
  const signer = makeSigner(id, key.seed, fastBackend);
  const domain = { cluster: cluster.file.clusterId, protocol: 'pbft' };
  // One well-formed REQUEST with a broken signature, sent under fresh link sequence numbers:
  // the replicas pay for each check, the attacker only for a string (it shares this machine).
  const request = signEnvelope(domain, signer, 'REQUEST', {
    client: id,
    timestamp: 1,
    command: { op: 'put', key: 'k', value: 'v' },
  });
  const bad = JSON.stringify({ ...request, sig: `${request.sig.slice(0, 126)}00` });
  let seq = 0;
  let running = true;
  const burst = () => {
    if (!running) return;
    let sent = 0;
    for (let k = 0; k < 64; k++) {
      seq++;
      const frame = `{"t":"d","i":${2 ** 40},"s":${seq},"b":${seq},"m":${bad}}`;
      for (const node of cluster.file.nodes) if (host.host.transport.send(node.id, frame)) sent++;
    }
    count(sent);
    // Refused everywhere (banned): wait a little instead of spinning.
    if (sent === 0) setTimeout(burst, 10);
    else setImmediate(burst);
  };
  burst();
  return async () => {
    running = false;
    await host.close();
  };
}

/** No key: silent connections and half-done handshakes from two other loopback addresses. */
function unauthenticated(cluster: BenchCluster, count: (n: number) => void) {
  const sockets = new Set<WebSocket>();
  let running = true;
  const client = cluster.file.clients[0];
  const open = (node: (typeof cluster.file.nodes)[number], index: number) => {
    if (!running) return;
    const ws = new WebSocket(`ws://${node.host}:${node.port}${WS_PATH}`, {
      localAddress: index % 2 === 0 ? '127.0.0.2' : '127.0.0.3',
      perMessageDeflate: false,
    });
    count(1);
    sockets.add(ws);
    ws.on('open', () => {
      if (index % 4 >= 2 && client !== undefined)
        ws.send(
          JSON.stringify({
            t: 'hello',
            v: HANDSHAKE_VERSION,
            cluster: cluster.file.clusterId,
            from: client.id,
            to: node.id,
            key: client.publicKey,
            nonce: freshNonce(),
          }),
        );
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      sockets.delete(ws);
      if (running) setTimeout(() => open(node, index), 500).unref();
    });
  };
  for (const node of cluster.file.nodes) for (let i = 0; i < 200; i++) open(node, i);
  return async () => {
    running = false;
    for (const ws of sockets) ws.terminate();
  };
}
