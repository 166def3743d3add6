/**
 * Connection liveness on a slow machine: a replica host (heartbeat every 100 ms) and a client
 * that does the handshake by hand, so that the test decides what the client answers. A
 * connection stays up while anything arrives from the peer, even with no pong; it stays up
 * through an event-loop stall of many heartbeats (CPU starvation); it is closed once the peer
 * is silent for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { toHex } from '../../src/crypto/hex.js';
import type { Channel } from '../../src/net/channel.js';
import type { ProcessHost } from '../../src/node/host.js';
import { handDial } from '../helpers/hand-dialer.js';
import { testReplica } from '../node/fixtures/test-replica.js';
import { makeCluster, sleep, type TempCluster, waitFor } from '../node/helpers.js';

const HEARTBEAT_MS = 100;

let cluster: TempCluster;
let n1: ProcessHost;

beforeAll(async () => {
  cluster = await makeCluster(4, 3);
  n1 = testReplica(cluster, 'n1', {
    transport: { heartbeatMs: HEARTBEAT_MS, backoff: { initialMs: 50, maxMs: 200 } },
  });
  await n1.listen();
  n1.start();
});

afterAll(async () => {
  await n1?.close();
  cluster?.cleanup();
});

/** Connect to n1 as `client`, authenticated; `autoPong: false` leaves pings unanswered. */
async function connect(
  client: string,
  autoPong: boolean,
): Promise<{ ws: WebSocket; channel: Channel }> {
  const seed = cluster.key(client).seed;
  const r = await handDial(cluster.port('n1'), {
    cluster: cluster.file.clusterId,
    from: client,
    to: 'n1',
    key: toHex(nodeBackend.publicKey(seed)),
    seed,
    autoPong,
  });
  if (!r.welcomed || r.channel === null)
    throw new Error(`closed ${r.closeCode} during the handshake`);
  return { ws: r.ws, channel: r.channel };
}

const connected = (id: string) => n1.transport.isConnected(id);

/** Block this process's event loop: what a starved process lives through. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

describe('connection liveness', () => {
  it('a peer that sends frames but never answers a ping stays connected', async () => {
    const { ws, channel } = await connect('c0', false);
    let pings = 0;
    ws.on('ping', () => pings++);
    await waitFor(() => connected('c0'), 5_000);
    let closed = false;
    ws.on('close', () => {
      closed = true;
    });
    // A frame every 50 ms (junk to the protocol, which rejects it: traffic all the same).
    const chatter = setInterval(() => ws.send(channel.seal('{}')), HEARTBEAT_MS / 2);
    try {
      await waitFor(() => pings >= 8, 10_000);
      expect(closed).toBe(false);
      expect(connected('c0')).toBe(true);
    } finally {
      clearInterval(chatter);
    }
    // Silent now (no frame, no pong): closed after a few heartbeats.
    await waitFor(() => closed && !connected('c0'), 10_000);
  });

  it('an event-loop stall of many heartbeats does not drop a connection', async () => {
    const { ws } = await connect('c1', true);
    await waitFor(() => connected('c1'), 5_000);
    let closed = false;
    ws.on('close', () => {
      closed = true;
    });
    let pings = 0;
    ws.on('ping', () => pings++);
    for (let i = 0; i < 3; i++) {
      // Ten heartbeats' worth of starvation, then a moment of CPU, three times.
      stall(HEARTBEAT_MS * 10);
      await sleep(HEARTBEAT_MS / 4);
    }
    const seen = pings;
    await waitFor(() => pings >= seen + 3, 10_000);
    expect(closed).toBe(false);
    expect(connected('c1')).toBe(true);
    ws.close();
  });
});
