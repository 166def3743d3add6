import { describe, expect, it } from 'vitest';
import type { Json } from '../../src/crypto/json.js';
import { PbftClient } from '../../src/pbft/client.js';
import { FakeContext } from '../helpers/fake-context.js';
import { cluster, signed } from './helpers.js';

function makeClient(recovered: Map<string, Json> | null = null) {
  const ctx = new FakeContext('c0', cluster);
  const client = new PbftClient(ctx, { requestTimeoutMs: 100 });
  client.start(recovered);
  return { ctx, client };
}

function reply(from: string, timestamp: number, value: string | null, view = 0) {
  return signed(from, 'REPLY', {
    view,
    timestamp,
    client: 'c0',
    replica: from,
    result: { ok: true, value },
  });
}

const outputs = (ctx: FakeContext) =>
  ctx.effects.flatMap((e) => (e.type === 'output' ? [e.event] : []));

describe('PBFT client', () => {
  it('signs the request and sends it to the primary of the view it knows', () => {
    const { ctx, client } = makeClient();
    client.onRequest({ op: 'put', key: 'k0', value: 'a' });
    const send = ctx.effects.find((e) => e.type === 'send');
    expect(send).toMatchObject({
      to: 'r0',
      message: {
        kind: 'REQUEST',
        from: 'c0',
        body: { client: 'c0', timestamp: 1, command: { op: 'put', key: 'k0', value: 'a' } },
      },
    });
    // the timestamp is persisted before the request leaves
    const persistAt = ctx.effects.findIndex((e) => e.type === 'persist' && e.key === 'timestamp');
    expect(persistAt).toBeLessThan(ctx.effects.indexOf(send as never));
  });

  it('accepts a result on f+1 matching replies from distinct replicas only', () => {
    const { ctx, client } = makeClient();
    client.onRequest({ op: 'get', key: 'k0' });
    client.onMessage('r1', reply('r1', 1, 'x'));
    client.onMessage('r1', reply('r1', 1, 'x')); // same replica twice
    client.onMessage('r2', reply('r2', 1, 'evil')); // does not match
    client.onMessage('r3', reply('r3', 0, 'x')); // another request
    expect(outputs(ctx)).toEqual([]);
    client.onMessage('r0', reply('r0', 1, 'x'));
    expect(outputs(ctx)).toEqual([
      { type: 'reply', result: { ok: true, value: 'x' }, timestamp: 1 },
    ]);
  });

  it('rejects replies not from the replica they name, or not from a replica', () => {
    const { ctx, client } = makeClient();
    client.onRequest({ op: 'get', key: 'k0' });
    client.onMessage('r1', { ...reply('r1', 1, 'x'), body: { ...reply('r2', 1, 'x').body } });
    client.onMessage('c1', signed('c1', 'REPLY', { ...reply('r1', 1, 'x').body, replica: 'c1' }));
    client.onMessage('r2', reply('r2', 1, 'x'));
    expect(outputs(ctx)).toEqual([]);
  });

  it('re-sends to all replicas on timeout, with growing timeouts', () => {
    const { ctx, client } = makeClient();
    client.onRequest({ op: 'get', key: 'k0' });
    client.onTimer('retry');
    expect(ctx.effects.filter((e) => e.type === 'broadcast')).toHaveLength(1);
    const delays = ctx.effects.flatMap((e) => (e.type === 'setTimer' ? [e.delayMs] : []));
    expect(delays).toEqual([100, 200]);
  });

  it('one request at a time, timestamps strictly increasing, across restarts', () => {
    const { ctx, client } = makeClient();
    client.onRequest({ op: 'get', key: 'k0' });
    client.onRequest({ op: 'get', key: 'k1' });
    expect(ctx.sent('REQUEST')).toHaveLength(1);
    client.onMessage('r0', reply('r0', 1, null));
    client.onMessage('r1', reply('r1', 1, null));
    const stamps = ctx.sent('REQUEST').map((m) => (m.body as { timestamp: number }).timestamp);
    expect(stamps).toEqual([1, 2]);
    const again = makeClient(new Map(ctx.stored));
    again.client.onRequest({ op: 'get', key: 'k0' });
    expect(again.ctx.sent('REQUEST')[0]?.body).toMatchObject({ timestamp: 3 });
  });

  it('learns the view from f+1 replies and sends the next request to its primary', () => {
    const { ctx, client } = makeClient();
    client.onRequest({ op: 'get', key: 'k0' });
    client.onMessage('r1', reply('r1', 1, null, 2));
    client.onMessage('r2', reply('r2', 1, null, 2));
    expect(client.currentView).toBe(2);
    client.onRequest({ op: 'get', key: 'k0' });
    expect(ctx.effects.findLast((e) => e.type === 'send')).toMatchObject({ to: 'r2' });
  });

  it('a single replica cannot drag it to a view on its own', () => {
    const { client } = makeClient();
    client.onRequest({ op: 'get', key: 'k0' });
    client.onMessage('r1', reply('r1', 1, null, 9));
    client.onMessage('r2', reply('r2', 1, null, 0));
    expect(client.currentView).toBe(0);
  });

  it('ignores requests from above that are not KV commands', () => {
    const { ctx, client } = makeClient();
    client.onRequest({ op: 'drop', key: 'k0' });
    expect(ctx.sent()).toHaveLength(0);
  });
});
