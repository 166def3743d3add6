/**
 * A replica's HTTP side under hostile clients (issue 14): request targets and query numbers
 * read strictly, slowloris and idle connections closed by the host's own deadlines.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessHost } from '../../src/node/host.js';
import { decimal } from '../../src/node/ledger-sink.js';
import { testReplica } from './fixtures/test-replica.js';
import { makeCluster, type TempCluster, waitFor } from './helpers.js';

let cluster: TempCluster;
let host: ProcessHost;
let port: number;

beforeAll(async () => {
  cluster = await makeCluster(4, 1);
  port = cluster.port('n1');
  host = testReplica(cluster, 'n1', {
    http: { requestMs: 1_000, idleMs: 1_500, checkIntervalMs: 200 },
  });
  await host.listen();
  host.start();
});

afterAll(async () => {
  await host?.close();
  cluster?.cleanup();
});

/** Send raw bytes and collect the answer until the server closes the connection. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString();
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

function closedYet(socket: Socket): () => boolean {
  let closed = false;
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => {});
  socket.resume(); // read what the server says (a 408), so its close is seen
  return () => closed;
}

describe('HTTP request targets and numbers', () => {
  it('"//status" is not "/": only origin-form targets are served', async () => {
    const answer = await raw('GET //status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    const ok = await raw('GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
  });

  it('query numbers are decimal digits: 0x10, 1.0, 1e3, " 1" and "" are not numbers', () => {
    expect(decimal('16')).toBe(16);
    expect(decimal('0')).toBe(0);
    for (const text of ['0x10', '1.0', '1e3', ' 1', '', '+1', '01', '-1', '99999999999999999'])
      expect(decimal(text), text).toBeNaN();
  });
});

describe('slow and idle connections', () => {
  it('a slowloris request (a header byte now and then) is closed by the request deadline', async () => {
    const socket = connect(port, '127.0.0.1');
    const closed = closedYet(socket);
    socket.write('GET /status HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => {
      if (!closed()) socket.write('X-a: b\r\n');
    }, 100);
    try {
      // Every drip resets an idle timer; only a deadline on the whole request ends it.
      await waitFor(closed, 6_000, 'the slowloris connection to close');
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });

  it('many idle TCP connections are closed, not kept', async () => {
    const sockets = Array.from({ length: 200 }, () => connect(port, '127.0.0.1'));
    const states = sockets.map(closedYet);
    try {
      await waitFor(() => states.every((s) => s()), 6_000, 'every idle connection to close');
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
