import { describe, expect, it } from 'vitest';
import { makeClusterView } from '../../src/core/cluster-view.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Json } from '../../src/crypto/json.js';
import { RaftClient, type RaftClientOutput } from '../../src/raft/client.js';
import type { KvCommand } from '../../src/smr/kv.js';
import { FakeContext } from '../helpers/fake-context.js';

const view = makeClusterView({
  id: 'unit',
  protocol: 'raft',
  model: 'crash',
  replicas: ['n0', 'n1', 'n2'],
  clients: ['c0'],
  f: 1,
});

const env = (kind: string, from: string, body: unknown): Envelope => ({
  kind,
  from,
  body: body as Json,
  sig: `sig:${from}`,
});

const put: KvCommand = { op: 'put', key: 'k', value: 'v' };
const ok = { ok: true, value: 'v' };

function make(recovered: Map<string, Json> | null = null) {
  const ctx = new FakeContext<RaftClientOutput>('c0', view);
  const client = new RaftClient(ctx, { retryMs: 500, redirectBackoffMs: 20 });
  client.start(recovered);
  return { ctx, client };
}

function requests(ctx: FakeContext<RaftClientOutput>): { to: string; seq: number }[] {
  return ctx.effects.flatMap((e) =>
    e.type === 'send' && e.message.kind === 'ClientRequest'
      ? [{ to: e.to, seq: (e.message.body as { seq: number }).seq }]
      : [],
  );
}

function outputs(ctx: FakeContext<RaftClientOutput>): unknown[] {
  return ctx.effects.flatMap((e) => (e.type === 'output' ? [e.event] : []));
}

describe('Raft client', () => {
  it('sends (client, seq, command) to one replica, persisting seq first, and arms a retry', () => {
    const { ctx, client } = make();
    client.onRequest(put);
    const send = ctx.effects.findIndex((e) => e.type === 'send');
    const persist = ctx.effects.findIndex((e) => e.type === 'persist' && e.key === 'seq');
    expect(persist).toBeGreaterThanOrEqual(0);
    expect(persist).toBeLessThan(send);
    const sent = ctx.sent('ClientRequest');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).toEqual({ client: 'c0', seq: 1, command: put });
    expect(view.replicas).toContain(requests(ctx)[0]?.to);
    expect(ctx.effects).toContainEqual({ type: 'setTimer', name: 'retry', delayMs: 500 });
  });

  it('outputs the result of the matching reply once, and follows the leader hint', () => {
    const { ctx, client } = make();
    client.onRequest(put);
    client.onMessage('n1', env('ClientReply', 'n1', { seq: 7, result: ok, leaderHint: 'n1' }));
    expect(outputs(ctx)).toEqual([]); // not our seq
    client.onMessage('c0', env('ClientReply', 'c0', { seq: 1, result: ok, leaderHint: 'n1' }));
    expect(outputs(ctx)).toEqual([]); // not a replica
    client.onMessage('n2', env('ClientReply', 'n2', { seq: 1, result: ok, leaderHint: 'n2' }));
    client.onMessage('n2', env('ClientReply', 'n2', { seq: 1, result: ok, leaderHint: 'n2' }));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: ok }]);
    expect(ctx.effects).toContainEqual({ type: 'cancelTimer', name: 'retry' });
    ctx.drain();
    client.onRequest({ op: 'get', key: 'k' });
    expect(requests(ctx)).toEqual([{ to: 'n2', seq: 2 }]);
  });

  it('a retry keeps the seq and rotates to the next replica', () => {
    const { ctx, client } = make();
    client.onRequest(put);
    const first = requests(ctx)[0]?.to ?? '';
    client.onTimer('retry');
    client.onTimer('retry');
    const i = view.replicas.indexOf(first);
    expect(requests(ctx)).toEqual([
      { to: first, seq: 1 },
      { to: view.replicas[(i + 1) % 3], seq: 1 },
      { to: view.replicas[(i + 2) % 3], seq: 1 },
    ]);
  });

  it('a redirect with a hint resends at once to the hinted leader', () => {
    const { ctx, client } = make();
    client.onRequest(put);
    const first = requests(ctx)[0]?.to ?? '';
    const hint = view.replicas.find((r) => r !== first) ?? '';
    client.onMessage(first, env('Redirect', first, { seq: 1, leaderHint: hint }));
    expect(requests(ctx)).toEqual([
      { to: first, seq: 1 },
      { to: hint, seq: 1 },
    ]);
  });

  it('"no leader, retry" waits the back-off before trying again', () => {
    const { ctx, client } = make();
    client.onRequest(put);
    const first = requests(ctx)[0]?.to ?? '';
    ctx.drain();
    client.onMessage(first, env('Redirect', first, { seq: 1, leaderHint: null }));
    expect(requests(ctx)).toEqual([]);
    expect(ctx.effects).toContainEqual({ type: 'setTimer', name: 'retry', delayMs: 20 });
  });

  it('redirect loops are bounded: after n redirects in a row it falls back to the timer', () => {
    const { ctx, client } = make();
    client.onRequest(put);
    for (let i = 0; i < 10; i++) {
      const to = requests(ctx).at(-1)?.to ?? '';
      const other = view.replicas.find((r) => r !== to) ?? '';
      client.onMessage(to, env('Redirect', to, { seq: 1, leaderHint: other }));
    }
    expect(requests(ctx).length).toBe(1 + view.replicas.length);
  });

  it('a restarted client continues its sequence numbers', () => {
    const { ctx, client } = make(new Map<string, Json>([['seq', 41]]));
    client.onRequest(put);
    expect(requests(ctx)[0]?.seq).toBe(42);
  });

  it('a request that arrives while one is outstanding waits for the reply', () => {
    const { ctx, client } = make();
    client.onRequest(put);
    client.onRequest({ op: 'get', key: 'k' });
    expect(requests(ctx)).toHaveLength(1);
    const to = requests(ctx)[0]?.to ?? '';
    client.onMessage(to, env('ClientReply', to, { seq: 1, result: ok, leaderHint: to }));
    expect(requests(ctx).map((r) => r.seq)).toEqual([1, 2]);
  });
});
