/**
 * Link acknowledgements over a real connection (src/links/perfect-link.ts with the process
 * host's delayed ACKs): while requests and replies flow both ways, every ACK rides on a DATA
 * frame and no ACK frame of its own is sent; and what was written into a connection that then
 * died is delivered once the connection is back, resent on reconnect (the retransmission
 * timer, set far beyond the test's length here, never fires).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientHost } from '../../src/node/client-host.js';
import type { ProcessHost } from '../../src/node/host.js';
import { testKit } from '../node/fixtures/test-kit.js';
import { testReplica } from '../node/fixtures/test-replica.js';
import { makeCluster, type TempCluster } from '../node/helpers.js';

/**
 * The standalone ACK waits out far more than the exchange takes, so a stall of this loaded
 * machine cannot make one legitimately due; the timer cannot resend within the test either.
 */
const LINK = { ackDelayMs: 30_000, retransmitMs: 60_000, maxRetransmitMs: 60_000 };
const BACKOFF = { initialMs: 50, maxMs: 200 };

let cluster: TempCluster;
let n1: ProcessHost;
let client: ClientHost;

/** Count the link frames a host's transport sends to `peer`: standalone ACKs and DATA. */
function countFrames(host: ProcessHost, peer: string) {
  const counts = { acks: 0, data: 0 };
  const send = host.transport.send.bind(host.transport);
  host.transport.send = (to, text) => {
    if (to === peer) {
      if (text.startsWith('{"t":"a"')) counts.acks++;
      else if (text.startsWith('{"t":"d"')) counts.data++;
    }
    return send(to, text);
  };
  return counts;
}

beforeAll(async () => {
  cluster = await makeCluster(4, 1);
  n1 = testReplica(cluster, 'n1', {
    transport: { backoff: BACKOFF },
    link: LINK,
  });
  await n1.listen();
  n1.start();
  client = new ClientHost({
    file: cluster.file,
    id: 'c0',
    key: cluster.key('c0'),
    kit: testKit,
    transport: { backoff: BACKOFF },
    link: LINK,
  });
  await client.waitConnected(1, 10_000);
});

afterAll(async () => {
  await client?.close();
  await n1?.close();
  cluster?.cleanup();
});

describe('link acknowledgements over a real connection', () => {
  it('a steady two-way exchange sends no standalone ACK frame', async () => {
    const fromReplica = countFrames(n1, 'c0');
    const fromClient = countFrames(client.host, 'n1');
    for (let i = 0; i < 200; i++) {
      const reply = await client.request({ op: 'put', key: `k${i % 8}`, value: `${i}`, at: 'n1' });
      expect(reply).toEqual({ from: 'n1', key: `k${i % 8}`, value: `${i}` });
    }
    expect(fromClient.data).toBeGreaterThanOrEqual(200);
    expect(fromReplica.data).toBeGreaterThanOrEqual(200);
    expect([fromClient.acks, fromReplica.acks]).toEqual([0, 0]);
    // And yet each side has forgotten what it sent: the other's DATA acknowledged it.
    expect(client.host.runtime.pendingTo('n1')).toBe(0);
    expect(n1.runtime.pendingTo('c0')).toBeLessThanOrEqual(1); // the last reply, ACK still owed
  });

  it('a request written into a connection that dies is delivered after the reconnect', async () => {
    const ups: string[] = [];
    const peerUp = n1.runtime.peerUp.bind(n1.runtime);
    n1.runtime.peerUp = (peer) => {
      ups.push(peer);
      peerUp(peer);
    };
    const send = client.host.transport.send.bind(client.host.transport);
    let cut = false;
    client.host.transport.send = (to, text) => {
      const written = send(to, text);
      // The request is in the client's socket; n1 stops reading this connection before it
      // can arrive and then closes it: the request dies with the connection, unread.
      if (!cut && written && text.includes('"kind":"Put"')) {
        cut = true;
        n1.transport.ban('c0', 1);
      }
      return written;
    };
    const reply = await client.request({ op: 'put', key: 'after', value: 'cut', at: 'n1' });
    expect(cut).toBe(true);
    expect(reply).toEqual({ from: 'n1', key: 'after', value: 'cut' });
    expect(ups).toContain('c0');
  });
});
