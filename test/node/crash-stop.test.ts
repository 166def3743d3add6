/**
 * Crash-stop on a broken invariant, in a real process: a `bftkit node` (test kit) whose core
 * throws in a step exits with code 70 and a clear line naming the step, and none of that
 * step's effects left — its Ack never reaches the client and its write is not on disk when
 * the node restarts from the same data directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientHost, RequestTimeout } from '../../src/node/client-host.js';
import { testKit } from './fixtures/test-kit.js';
import { killAll, makeCluster, spawnNode, type TempCluster, waitStatus } from './helpers.js';

let cluster: TempCluster;

beforeAll(async () => {
  cluster = await makeCluster(4, 1);
});

afterAll(async () => {
  await killAll();
  cluster?.cleanup();
});

describe('a node whose core throws', () => {
  it('exits 70 with a clear line, and leaks nothing of the step', { timeout: 60_000 }, async () => {
    const port = cluster.port('n0');
    let node = spawnNode(cluster, 'n0');
    await waitStatus(port, () => true, 30_000, 'n0 up');
    const connect = async () => {
      const client = new ClientHost({
        file: cluster.file,
        id: 'c0',
        key: cluster.key('c0'),
        kit: testKit,
        transport: { backoff: { initialMs: 50, maxMs: 300 } },
      });
      await client.waitConnected(1, 10_000);
      return client;
    };
    const first = await connect();
    try {
      const ok = await first.request({ op: 'put', key: 'k1', value: 'v1', at: 'n0' }, 10_000);
      expect(ok).toMatchObject({ from: 'n0', key: 'k1', value: 'v1' });
      // The core persists v:throw, sends its Ack, then throws.
      const answer = first
        .request({ op: 'put', key: 'throw', value: 'x', at: 'n0' }, 3_000)
        .catch((e: unknown) => e);
      const { code, signal } = await node.exited;
      expect(signal).toBe(null);
      expect(code).toBe(70);
      const output = node.output();
      expect(output).toContain(
        'bftkit: fatal: protocol core threw while handling a frame from c0: test kit: a Put of "throw" breaks an invariant',
      );
      expect(output).toContain("none of the step's effects left; stopping (crash-stop)");
      expect(await answer).toBeInstanceOf(RequestTimeout); // the Ack never left
    } finally {
      // (its link would resend the unacknowledged Put to the restarted node, which would
      // stop again: a deterministic bug is a crash loop, as it should be)
      await first.close();
    }
    // Restarted from the same directory: the step's write is not there, the one before is.
    node = spawnNode(cluster, 'n0');
    const after = await waitStatus(port, (s) => s.recovered, 30_000, 'n0 back');
    expect(after.notes.recovered?.data).toEqual({ keys: 1, commits: 1 });
    const second = await connect();
    try {
      const read = await second.request({ op: 'get', key: 'throw', at: 'n0' }, 10_000);
      expect(read).toMatchObject({ from: 'n0', key: 'throw', value: null });
    } finally {
      await second.close();
    }
  });
});
