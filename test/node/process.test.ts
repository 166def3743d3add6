/**
 * Real processes on 127.0.0.1: four replicas of the test kit, each a `bftkit node` process
 * (the fixture only swaps in the test kit). Refused handshakes and oversized frames show in
 * /status and /metrics; a replica killed with SIGKILL recovers what it acknowledged.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { generateKey } from '../../src/core/keyfile.js';
import { toHex } from '../../src/crypto/hex.js';
import { MAC_BYTES } from '../../src/net/channel.js';
import { ClientHost } from '../../src/node/client-host.js';
import { handDial } from '../helpers/hand-dialer.js';
import { testKit } from './fixtures/test-kit.js';
import {
  getStatus,
  kill9,
  killAll,
  makeCluster,
  type NodeProcess,
  spawnNode,
  type TempCluster,
  waitStatus,
} from './helpers.js';

let cluster: TempCluster;
const nodes = new Map<string, NodeProcess>();
const ids = ['n0', 'n1', 'n2', 'n3'];

const meshUp = (s: { peers: { kind: string; connected: boolean }[] }) =>
  s.peers.filter((p) => p.kind === 'replica').every((p) => p.connected);

beforeAll(async () => {
  cluster = await makeCluster(4, 2);
  for (const id of ids) nodes.set(id, spawnNode(cluster, id));
  try {
    for (const id of ids) await waitStatus(cluster.port(id), meshUp, 30_000, `${id} mesh`);
  } catch (e) {
    for (const n of nodes.values()) process.stderr.write(`--- ${n.id}\n${n.output()}\n`);
    throw e;
  }
});

afterAll(async () => {
  await killAll();
  cluster?.cleanup();
});

/** Open a raw connection to `port` and run the dialer's side of the handshake. */
async function dial(
  port: number,
  from: string,
  key: string,
  seed: Uint8Array,
): Promise<{ ws: WebSocket; welcomed: boolean; reason: string }> {
  const r = await handDial(port, { cluster: cluster.file.clusterId, from, to: 'n0', key, seed });
  return { ws: r.ws, welcomed: r.welcomed, reason: r.closeReason };
}

describe('replica processes', () => {
  it('connect in a full mesh and report themselves on /status and /metrics', async () => {
    // The Hellos sent before the mesh was up arrive with the links' next retransmission.
    await waitStatus(cluster.port('n0'), (s) => s.notes.hello?.count === 3, 10_000, 'hellos');
    const status = await getStatus(cluster.port('n0'));
    expect(status).toMatchObject({
      id: 'n0',
      cluster: cluster.file.clusterId,
      kit: 'test-store',
      role: 'replica',
      starts: 1,
      recovered: false,
    });
    expect(status!.peers.filter((p) => p.connected).map((p) => p.id)).toEqual(['n1', 'n2', 'n3']);
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.port('n0')}/metrics`)).text();
    for (const name of [
      'bftkit_frames_in_total',
      'bftkit_frames_out_total',
      'bftkit_persist_seconds_bucket',
      'bftkit_messages_delivered_total{',
      'bftkit_link_pending{',
      'bftkit_peer_connected{',
      'bftkit_incarnation',
    ])
      expect(metrics).toContain(name);
    expect(metrics).toMatch(/bftkit_messages_delivered_total\{[^}]*kind="Hello"[^}]*\} 3/);
  });

  it('refuse handshakes with an unknown key or a wrong key for a known id, and count them', async () => {
    const port = cluster.port('n0');
    const stranger = generateKey('c9', cluster.file.clusterId);
    const unknown = await dial(port, 'c9', toHex(stranger.publicKey), stranger.seed);
    expect(unknown).toMatchObject({ welcomed: false, reason: 'unknown-peer' });
    const wrong = generateKey('c1', cluster.file.clusterId);
    const mismatch = await dial(port, 'c1', toHex(wrong.publicKey), wrong.seed);
    expect(mismatch).toMatchObject({ welcomed: false, reason: 'key-mismatch' });
    const listed = cluster.file.clients.find((c) => c.id === 'c1')!.publicKey;
    const forged = await dial(port, 'c1', listed, wrong.seed);
    expect(forged).toMatchObject({ welcomed: false, reason: 'bad-signature' });

    const status = await getStatus(port);
    expect(status!.rejections.transport).toMatchObject({
      'unknown-peer': 1,
      'key-mismatch': 1,
      'bad-signature': 1,
    });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/bftkit_rejections_total\{[^}]*reason="unknown-peer"[^}]*\} 1/);
  });

  it('close a connection that sends a frame over 1 MiB, and stay up', async () => {
    const port = cluster.port('n0');
    const c1 = cluster.key('c1');
    const conn = await dial(port, 'c1', toHex(c1.publicKey), c1.seed);
    expect(conn.welcomed).toBe(true);
    const closed = new Promise<number>((r) => conn.ws.on('close', (code) => r(code)));
    conn.ws.send(Buffer.alloc((1 << 20) + MAC_BYTES + 10));
    expect(await closed).toBe(1009);
    const status = await waitStatus(
      port,
      (s) => (s.rejections.transport['frame-too-large'] ?? 0) === 1,
      5_000,
      'frame-too-large counted',
    );
    expect(meshUp(status)).toBe(true);
  });

  it('recover what they acknowledged after kill -9, with a new incarnation', async () => {
    const port = cluster.port('n0');
    const before = (await getStatus(port))!;
    const client = new ClientHost({
      file: cluster.file,
      id: 'c0',
      key: cluster.key('c0'),
      kit: testKit,
      transport: { backoff: { initialMs: 50, maxMs: 300 } },
    });
    try {
      await client.waitConnected(4, 10_000);
      for (let i = 0; i < 20; i++) {
        // An Ack leaves n0 only after the Put it answers is fsynced.
        const r = await client.request(
          { op: 'put', key: `k${i}`, value: `v${i}`, at: 'n0' },
          5_000,
        );
        expect(r).toMatchObject({ from: 'n0', value: `v${i}` });
      }
      await kill9(nodes.get('n0')!);
      nodes.set('n0', spawnNode(cluster, 'n0'));
      const after = await waitStatus(port, meshUp, 30_000, 'n0 back');
      expect(after.starts).toBe(2);
      expect(after.recovered).toBe(true);
      expect(after.incarnation).toBeGreaterThan(before.incarnation);
      expect(after.notes.recovered?.data).toEqual({ keys: 20, commits: 20 });
      await client.waitConnected(4, 10_000);
      for (let i = 0; i < 20; i++) {
        const r = await client.request({ op: 'get', key: `k${i}`, at: 'n0' }, 5_000);
        expect(r).toMatchObject({ from: 'n0', value: `v${i}` });
      }
      // The others saw a new incarnation of n0 and greeted it again.
      await waitStatus(
        cluster.port('n1'),
        (s) => (s.notes.hello?.count ?? 0) >= 4,
        10_000,
        'hello',
      );
    } finally {
      await client.close();
    }
  });

  it('shut down cleanly on SIGTERM', async () => {
    const n3 = nodes.get('n3')!;
    n3.child.kill('SIGTERM');
    const exit = await n3.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(n3.output()).toMatch(/"msg":"stopped"/);
    expect(n3.output()).not.toMatch(/seed/);
    // Its data directory is intact and reusable.
    nodes.set('n3', spawnNode(cluster, 'n3', { data: join(cluster.dir, 'data', 'n3') }));
    const s = await waitStatus(cluster.port('n3'), meshUp, 30_000, 'n3 back');
    expect(s.starts).toBe(2);
  });
});
