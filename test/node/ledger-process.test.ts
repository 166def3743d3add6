/**
 * The ledger on real replica processes: a replica killed with SIGKILL while blocks are being
 * certified, then restarted after the load has stopped, catches up — PBFT state by state
 * transfer, the blocks it re-executes certified with the others' votes (answered late if
 * need be), the blocks below its checkpoint fetched from its peers (GET /ledger/blocks) and
 * verified before they are stored — so that its stored ledger ends as long as the others'
 * and passes the offline audit.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { TransferWorkload } from '../../src/demo/workload.js';
import { kitForCluster } from '../../src/node/registry.js';
import type { HostStatus } from '../../src/node/status.js';
import {
  BFTKIT,
  getStatus,
  kill9,
  killAll,
  makeCluster,
  type NodeProcess,
  spawnNode,
  waitStatus,
} from './helpers.js';

const PARAMS = JSON.stringify({ batchSize: 4, checkpointInterval: 8, viewChangeTimeoutMs: 500 });
const ledgerHeight = (s: HostStatus) =>
  ((s.app as { ledger?: { height?: number } } | null)?.ledger?.height ?? 0) as number;

afterAll(async () => {
  await killAll();
});

describe('ledger replicas as processes', () => {
  it('a replica killed and restarted fetches the blocks it missed; its ledger verifies', async () => {
    const cluster = await makeCluster(4, 4, 'pbft', 'ledger');
    const start = (id: string): NodeProcess =>
      spawnNode(cluster, id, { real: true, args: ['--params', PARAMS] });
    const nodes = new Map(cluster.file.nodes.map((n) => [n.id, start(n.id)]));
    const workload = new TransferWorkload({
      file: cluster.file,
      kit: kitForCluster(cluster.file),
      keys: new Map(cluster.file.clients.map((c) => [c.id, cluster.key(c.id)])),
      params: {},
      perRequest: 8,
      requestTimeoutMs: 60_000,
      logger: pino({ level: 'silent' }),
    });
    try {
      for (const n of cluster.file.nodes) await waitStatus(n.port, () => true, 30_000, 'up');
      await workload.waitConnected(30_000);
      workload.start();
      const n3 = cluster.port('n3');
      await waitStatus(n3, (s) => ledgerHeight(s) >= 3, 60_000, 'n3 stores 3 blocks');
      await kill9(nodes.get('n3')!);
      const n0 = cluster.port('n0');
      const atKill = ledgerHeight((await getStatus(n0))!);
      // More blocks than a restarted replica buffers early votes for (VOTE_WINDOW = 64).
      await waitStatus(n0, (s) => ledgerHeight(s) >= atKill + 80, 120_000, '80 more blocks');
      // The load stops before n3 comes back: no fresh votes will reach it.
      await workload.stop();
      const final = ledgerHeight((await getStatus(n0))!);
      nodes.set('n3', start('n3'));
      const caught = await waitStatus(
        n3,
        (s) => ledgerHeight(s) >= final,
        60_000,
        `n3 catches up to ${final}`,
      );
      expect((caught.app as { ledger: { fetched: number } }).ledger.fetched).toBeGreaterThan(0);
      // The route refuses what it should.
      const base = `http://127.0.0.1:${n3}`;
      expect((await fetch(`${base}/ledger/blocks?from=0`)).status).toBe(400);
      expect((await fetch(`${base}/ledger/blocks?limit=9999`)).status).toBe(400);
      expect((await fetch(`${base}/__proto__`)).status).toBe(404);
      const first = (await (await fetch(`${base}/ledger/blocks?from=1&limit=2`)).json()) as {
        header: { height: number };
      }[];
      expect(first.map((b) => b.header.height)).toEqual([1, 2]);
    } finally {
      await workload.close();
      await killAll();
    }
    for (const id of ['n0', 'n3']) {
      const verify = spawnSync(
        process.execPath,
        [
          BFTKIT,
          'ledger',
          'verify',
          '--data',
          join(cluster.dir, 'data', id),
          '--cluster',
          cluster.clusterPath,
        ],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(verify.status, `${id}: ${verify.stdout}${verify.stderr}`).toBe(0);
    }
    cluster.cleanup();
  }, 300_000);
});
