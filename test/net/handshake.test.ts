/**
 * The authenticated handshake, in-process: a replica host listening on 127.0.0.1 and dialers
 * that present the right key, an unknown one, a known id with the wrong key, a replayed
 * proof, the wrong direction, nothing at all, or oversized frames.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { generateKey } from '../../src/core/keyfile.js';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { toHex } from '../../src/crypto/hex.js';
import { freshEphemeral, MAC_BYTES } from '../../src/net/channel.js';
import { freshNonce, proofDigest } from '../../src/net/handshake.js';
import { CLOSE_REFUSED, WS_PATH } from '../../src/net/transport.js';
import { ClientHost } from '../../src/node/client-host.js';
import type { ProcessHost } from '../../src/node/host.js';
import { type HandDial, type HandDialOutcome, handDial } from '../helpers/hand-dialer.js';
import { testKit } from '../node/fixtures/test-kit.js';
import { testReplica } from '../node/fixtures/test-replica.js';
import { makeCluster, sleep, type TempCluster, waitFor } from '../node/helpers.js';

type Attempt = Omit<HandDial, 'cluster' | 'to'> & { cluster?: string; to?: string };

/** Run the dialer's half of the handshake by hand against 127.0.0.1:port (to n1 by default). */
function attempt(port: number, a: Attempt): Promise<HandDialOutcome> {
  return handDial(port, { ...a, cluster: a.cluster ?? clusterId, to: a.to ?? 'n1' });
}

let cluster: TempCluster;
let clusterId: string;
let n1: ProcessHost;
let n1Port: number;

beforeAll(async () => {
  cluster = await makeCluster(4, 2);
  clusterId = cluster.file.clusterId;
  n1Port = cluster.port('n1');
  n1 = testReplica(cluster, 'n1', {
    transport: { handshakeTimeoutMs: 400, backoff: { initialMs: 50, maxMs: 200 } },
  });
  await n1.listen();
  n1.start();
});

afterAll(async () => {
  await n1?.close();
  cluster?.cleanup();
});

const refusals = () => n1.status().rejections.transport as Record<string, number>;

describe('handshake', () => {
  it('admits a client with its key from the cluster file; it can talk to the replica', async () => {
    const client = new ClientHost({
      file: cluster.file,
      id: 'c0',
      key: cluster.key('c0'),
      kit: testKit,
    });
    try {
      await client.waitConnected(1, 5_000);
      expect(client.connected()).toContain('n1');
      const put = await client.request({ op: 'put', key: 'a', value: '1', at: 'n1' }, 5_000);
      expect(put).toEqual({ from: 'n1', key: 'a', value: '1' });
      const get = await client.request({ op: 'get', key: 'a', at: 'n1' }, 5_000);
      expect(get).toEqual({ from: 'n1', key: 'a', value: '1' });
      const peer = n1.status().peers.find((p) => p.id === 'c0');
      expect(peer).toMatchObject({ kind: 'client', connected: true, direction: 'in' });
    } finally {
      await client.close();
    }
  });

  it('refuses an id that is not in the cluster file, and counts it', async () => {
    const before = refusals()['unknown-peer'] ?? 0;
    const stranger = generateKey('x9', clusterId);
    const r = await attempt(n1Port, {
      from: 'x9',
      key: toHex(stranger.publicKey),
      seed: stranger.seed,
    });
    expect(r.welcomed).toBe(false);
    expect(r.closeCode).toBe(CLOSE_REFUSED);
    expect(r.closeReason).toBe('unknown-peer');
    expect(refusals()['unknown-peer']).toBe(before + 1);
  });

  it('refuses a known id presenting a key that is not its key', async () => {
    const before = refusals()['key-mismatch'] ?? 0;
    const impostor = generateKey('c1', clusterId);
    const r = await attempt(n1Port, {
      from: 'c1',
      key: toHex(impostor.publicKey),
      seed: impostor.seed,
    });
    expect(r.welcomed).toBe(false);
    expect(r.closeReason).toBe('key-mismatch');
    expect(refusals()['key-mismatch']).toBe(before + 1);
  });

  it('refuses a known id with its listed public key but a proof made with another key', async () => {
    const before = refusals()['bad-signature'] ?? 0;
    const c1 = cluster.file.clients.find((c) => c.id === 'c1')!;
    const other = generateKey('c1', clusterId);
    const r = await attempt(n1Port, { from: 'c1', key: c1.publicKey, seed: other.seed });
    expect(r.welcomed).toBe(false);
    expect(r.closeReason).toBe('bad-signature');
    expect(refusals()['bad-signature']).toBe(before + 1);
  });

  it('refuses a replayed proof: the acceptor signs a fresh nonce every time', async () => {
    const c1 = cluster.file.clients.find((c) => c.id === 'c1')!;
    const nonce = freshNonce();
    const honest = await attempt(n1Port, {
      from: 'c1',
      key: c1.publicKey,
      seed: cluster.key('c1').seed,
      nonce,
    });
    expect(honest.welcomed).toBe(true);
    honest.ws.close();
    const before = refusals()['bad-signature'] ?? 0;
    const replay = await attempt(n1Port, {
      from: 'c1',
      key: c1.publicKey,
      seed: null,
      sig: honest.authSig!,
      nonce,
    });
    expect(replay.welcomed).toBe(false);
    expect(replay.closeReason).toBe('bad-signature');
    expect(refusals()['bad-signature']).toBe(before + 1);
  });

  it('refuses the wrong cluster, the wrong target and the wrong direction', async () => {
    const c1 = cluster.file.clients.find((c) => c.id === 'c1')!;
    const seed = cluster.key('c1').seed;
    expect(
      (await attempt(n1Port, { from: 'c1', key: c1.publicKey, seed, cluster: 'other' }))
        .closeReason,
    ).toBe('wrong-cluster');
    expect(
      (await attempt(n1Port, { from: 'c1', key: c1.publicKey, seed, to: 'n2' })).closeReason,
    ).toBe('wrong-target');
    // n3 comes after n1 in the cluster file: n1 dials n3, never the other way round.
    const n3 = cluster.file.nodes.find((n) => n.id === 'n3')!;
    const r = await attempt(n1Port, {
      from: 'n3',
      key: n3.publicKey,
      seed: cluster.key('n3').seed,
    });
    expect(r.closeReason).toBe('wrong-direction');
    expect(refusals()).toMatchObject({
      'wrong-cluster': 1,
      'wrong-target': 1,
      'wrong-direction': 1,
    });
  });

  it('times out a peer that never finishes the handshake', async () => {
    const before = refusals().timeout ?? 0;
    const r = await attempt(n1Port, { from: 'c1', key: '00'.repeat(32), seed: null, silent: true });
    expect(r.closeReason).toBe('timeout');
    expect(refusals().timeout).toBe(before + 1);
  });

  it('refuses an oversized handshake message, and closes a connection on a frame over 1 MiB', async () => {
    const c1 = cluster.file.clients.find((c) => c.id === 'c1')!;
    const seed = cluster.key('c1').seed;
    const big = await attempt(n1Port, { from: 'c1', key: c1.publicKey, seed, helloPadding: 8192 });
    expect(big.closeReason).toBe('too-large');

    const ok = await attempt(n1Port, { from: 'c1', key: c1.publicKey, seed });
    expect(ok.welcomed).toBe(true);
    const before = refusals()['frame-too-large'] ?? 0;
    const closed = new Promise<number>((resolve) => ok.ws.on('close', (code) => resolve(code)));
    ok.ws.send(Buffer.alloc((1 << 20) + MAC_BYTES + 1));
    expect(await closed).toBe(1009);
    await waitFor(() => (refusals()['frame-too-large'] ?? 0) === before + 1, 2_000, 'count');
    // The node is unharmed: the next authenticated client still gets answers.
    const client = new ClientHost({
      file: cluster.file,
      id: 'c1',
      key: cluster.key('c1'),
      kit: testKit,
    });
    try {
      await client.waitConnected(1, 5_000);
      expect(await client.request({ op: 'get', key: 'a', at: 'n1' }, 5_000)).toMatchObject({
        value: '1',
      });
    } finally {
      await client.close();
    }
  });

  it('a dialer refuses an acceptor that cannot prove it holds the listed key', async () => {
    // Pose as n2 on n2's port with a key of our own.
    const port = cluster.port('n2');
    const fake = generateKey('n2', clusterId);
    const server = new WebSocketServer({ host: '127.0.0.1', port, path: WS_PATH });
    await new Promise<void>((r) => server.once('listening', () => r()));
    server.on('connection', (ws) => {
      ws.on('message', (data) => {
        const hello = JSON.parse(data.toString()) as {
          t: string;
          from: string;
          nonce: string;
          share: string;
        };
        if (hello.t !== 'hello') return;
        const nonce = freshNonce();
        const share = freshEphemeral().share;
        const digest = proofDigest({
          role: 'acceptor',
          cluster: clusterId,
          dialer: hello.from,
          acceptor: 'n2',
          dialerNonce: hello.nonce,
          acceptorNonce: nonce,
          dialerShare: hello.share,
          acceptorShare: share,
        });
        const real = cluster.file.nodes.find((n) => n.id === 'n2')!.publicKey;
        // Claim n2's real public key, but sign with ours.
        ws.send(
          JSON.stringify({
            t: 'challenge',
            from: 'n2',
            key: real,
            nonce,
            share,
            sig: toHex(nodeBackend.sign(fake.seed, digest)),
          }),
        );
      });
    });
    const client = new ClientHost({
      file: cluster.file,
      id: 'c0',
      key: cluster.key('c0'),
      kit: testKit,
      transport: { backoff: { initialMs: 50, maxMs: 100 } },
    });
    try {
      await waitFor(
        () => (client.host.status().rejections.transport['bad-signature'] ?? 0) >= 1,
        5_000,
        'dialer refusal',
      );
      const n2 = client.host.status().peers.find((p) => p.id === 'n2');
      expect(n2?.connected).toBe(false);
      expect(n2?.lastError).toMatch(/bad-signature/);
      // Sends to an unconnected peer are dropped and counted, never queued.
      expect(client.host.transport.send('n2', '{}')).toBe(false);
      expect(client.host.status().dropped.transport['not-connected']).toBeGreaterThan(0);
    } finally {
      await client.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('send queues', () => {
  it('drop frames (and count them) when a socket buffers more than its limit', async () => {
    const client = new ClientHost({
      file: cluster.file,
      id: 'c1',
      key: cluster.key('c1'),
      kit: testKit,
      transport: { maxBufferedBytes: 1 << 20 },
    });
    try {
      await client.waitConnected(1, 5_000);
      const frame = JSON.stringify({ t: 'a', i: 1, s: 1, pad: 'z'.repeat(500_000) });
      let sent = 0;
      for (let i = 0; i < 40; i++) if (client.host.transport.send('n1', frame)) sent++;
      expect(sent).toBeGreaterThan(0);
      expect(sent).toBeLessThan(40);
      expect(client.host.status().dropped.transport.backpressure).toBe(40 - sent);
      // The receiver rejects them in admission (not link frames), and counts that.
      await waitFor(
        () => (n1.status().rejections.admission['bad-shape'] ?? 0) >= sent,
        5_000,
        'admission count',
      );
    } finally {
      await client.close();
    }
  });
});

describe('replica mesh', () => {
  it('replicas connect once per pair, the earlier one in the file dialing', async () => {
    const hosts = ['n0', 'n2', 'n3'].map((id) =>
      testReplica(cluster, id, {
        transport: { backoff: { initialMs: 50, maxMs: 200 } },
      }),
    );
    try {
      for (const h of hosts) await h.listen();
      for (const h of hosts) h.start();
      const all = [n1, ...hosts];
      await waitFor(
        () =>
          all.every((h) =>
            h
              .status()
              .peers.filter((p) => p.kind === 'replica')
              .every((p) => p.connected),
          ),
        10_000,
        'full mesh',
      );
      for (const h of all) {
        const rank = cluster.file.nodes.findIndex((n) => n.id === h.id);
        for (const p of h.status().peers.filter((q) => q.kind === 'replica')) {
          const peerRank = cluster.file.nodes.findIndex((n) => n.id === p.id);
          expect(p.direction).toBe(rank < peerRank ? 'out' : 'in');
        }
      }
      // Every replica heard the others' Hello over the links (retransmitted until connected).
      await waitFor(
        () => all.every((h) => (h.status().notes.hello?.count ?? 0) >= 3),
        10_000,
        'hellos',
      );
      await sleep(10);
    } finally {
      for (const h of hosts) await h.close();
    }
  });
});
