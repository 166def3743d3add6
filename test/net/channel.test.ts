/**
 * The MAC channel after the handshake (src/net/channel.ts): unit tests of its keys and
 * counters, then a replica host on loopback and a hand-driven client that sends frames
 * tampered with, replayed and reordered. Each is refused by its MAC, closes the connection
 * (4002), is counted as 'bad-mac', and never reaches admission.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { toHex } from '../../src/crypto/hex.js';
import {
  type ChannelTranscript,
  freshEphemeral,
  MAC_BYTES,
  openChannel,
} from '../../src/net/channel.js';
import { freshNonce } from '../../src/net/handshake.js';
import { CLOSE_BAD_MAC } from '../../src/net/transport.js';
import type { ProcessHost } from '../../src/node/host.js';
import { type HandDialOutcome, handDial } from '../helpers/hand-dialer.js';
import { testReplica } from '../node/fixtures/test-replica.js';
import { makeCluster, type TempCluster, waitFor } from '../node/helpers.js';

function pair() {
  const d = freshEphemeral();
  const a = freshEphemeral();
  const transcript: ChannelTranscript = {
    cluster: 'alpha',
    dialer: 'c0',
    acceptor: 'n0',
    dialerNonce: freshNonce(),
    acceptorNonce: freshNonce(),
    dialerShare: d.share,
    acceptorShare: a.share,
  };
  return {
    dialer: openChannel('dialer', d, transcript)!,
    acceptor: openChannel('acceptor', a, transcript)!,
    transcript,
    d,
    a,
  };
}

describe('channel keys and counters', () => {
  it('both ends derive the same keys: frames open in order, each direction on its own', () => {
    const { dialer, acceptor } = pair();
    expect(acceptor.open(dialer.seal('one'))).toBe('one');
    expect(acceptor.open(dialer.seal('two ü'))).toBe('two ü');
    expect(dialer.open(acceptor.seal('back'))).toBe('back');
    expect(dialer.seal('x').length).toBe(1 + MAC_BYTES);
  });

  it('refuses a frame altered in any byte, replayed, reordered or reflected', () => {
    const { dialer, acceptor } = pair();
    const first = dialer.seal('{"t":"d"}');
    const altered = Buffer.from(first);
    altered[2] = altered[2]! ^ 1;
    expect(acceptor.open(altered)).toBe(null);
    expect(acceptor.open(first)).toBe('{"t":"d"}');
    expect(acceptor.open(first)).toBe(null); // replayed
    const second = dialer.seal('2');
    const third = dialer.seal('3');
    expect(acceptor.open(third)).toBe(null); // reordered
    expect(acceptor.open(second)).toBe('2');
    expect(dialer.open(dialer.seal('mine'))).toBe(null); // reflected back at its sender
  });

  it('another connection (other nonces or shares) has other keys', () => {
    const one = pair();
    const other = openChannel('acceptor', one.a, { ...one.transcript, dialerNonce: freshNonce() })!;
    expect(other.open(one.dialer.seal('x'))).toBe(null);
  });

  it('refuses a share that is not a usable X25519 key', () => {
    const { transcript, d } = pair();
    // The all-zero point has small order: the shared secret would be all zeros.
    expect(openChannel('dialer', d, { ...transcript, acceptorShare: '00'.repeat(32) })).toBe(null);
  });
});

let cluster: TempCluster;
let n1: ProcessHost;

beforeAll(async () => {
  cluster = await makeCluster(4, 2);
  n1 = testReplica(cluster, 'n1', {
    transport: { backoff: { initialMs: 50, maxMs: 200 } },
  });
  await n1.listen();
  n1.start();
});

afterAll(async () => {
  await n1?.close();
  cluster?.cleanup();
});

const transportRefusals = () => n1.status().rejections.transport as Record<string, number>;
/** '{}' is no link frame: admission refuses it as 'bad-shape' — proof that it got there. */
const admissionRefusals = () =>
  (n1.status().rejections.admission as Record<string, number>)['bad-shape'] ?? 0;

async function connect(client: string): Promise<HandDialOutcome> {
  const seed = cluster.key(client).seed;
  const r = await handDial(cluster.port('n1'), {
    cluster: cluster.file.clusterId,
    from: client,
    to: 'n1',
    key: toHex(nodeBackend.publicKey(seed)),
    seed,
  });
  expect(r.welcomed).toBe(true);
  await waitFor(() => n1.transport.isConnected(client), 5_000, `${client} connected`);
  return r;
}

/** Send `frames` in order; resolve with the close code once n1 closes the connection. */
async function sendUntilClosed(conn: HandDialOutcome, frames: Buffer[]): Promise<number> {
  const closed = new Promise<number>((resolve) => conn.ws.on('close', (code) => resolve(code)));
  for (const frame of frames) conn.ws.send(frame);
  return closed;
}

describe('the channel on a real connection', () => {
  const attacks: [string, (seal: (text: string) => Buffer) => Buffer[]][] = [
    [
      'a frame with an altered byte',
      (seal) => {
        const frame = seal('{}');
        frame[0] = '['.charCodeAt(0);
        return [frame];
      },
    ],
    [
      'a replayed frame',
      (seal) => {
        const frame = seal('{}');
        return [frame, Buffer.from(frame)];
      },
    ],
    [
      'two frames in the wrong order',
      (seal) => {
        const first = seal('{}');
        return [seal('{}'), first];
      },
    ],
    ['an unauthenticated text frame', () => []],
  ];

  it.each(attacks)('%s is refused, closes the connection and is counted', async (name, make) => {
    const conn = await connect('c0');
    const channel = conn.channel!;
    const badMac = transportRefusals()['bad-mac'] ?? 0;
    // One genuine frame first: it reaches admission (and is refused there as no link frame).
    const admitted = admissionRefusals();
    conn.ws.send(channel.seal('{}'));
    await waitFor(() => admissionRefusals() === admitted + 1, 5_000, 'genuine frame admitted');
    const frames = make((text) => channel.seal(text));
    const genuine = name === 'a replayed frame' ? 1 : 0;
    const code =
      frames.length > 0
        ? await sendUntilClosed(conn, frames)
        : await new Promise<number>((resolve) => {
            conn.ws.on('close', (c) => resolve(c));
            conn.ws.send('{}', { binary: false });
          });
    expect(code).toBe(CLOSE_BAD_MAC);
    expect(transportRefusals()['bad-mac']).toBe(badMac + 1);
    expect(admissionRefusals()).toBe(admitted + 1 + genuine);
    await waitFor(() => !n1.transport.isConnected('c0'), 5_000, 'c0 disconnected');
  });
});
