import { describe, expect, it } from 'vitest';
import { makeClusterView } from '../../src/core/cluster-view.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Json } from '../../src/crypto/json.js';
import { STORE_KEY } from '../../src/register/byzantine.js';
import { MajorityRegisterClient, MajorityRegisterReplica } from '../../src/register/majority.js';
import { FakeContext } from '../helpers/fake-context.js';

const cluster = makeClusterView({
  id: 'unit',
  protocol: 'atomic-register',
  model: 'crash',
  replicas: ['n0', 'n1', 'n2', 'n3', 'n4'],
  clients: ['c0', 'c1', 'c2'],
  f: 2,
});

const msg = (kind: string, from: string, body: Json): Envelope => ({
  kind,
  from,
  body,
  sig: `sig:${from}`,
});
const outputs = (ctx: FakeContext): unknown[] =>
  ctx.effects.flatMap((e) => (e.type === 'output' ? [e.event] : []));

describe('majority register replica', () => {
  it('adopts (ts, v) only if newer, persists it, and acks every WRITE', () => {
    const ctx = new FakeContext('n0', cluster);
    const r = new MajorityRegisterReplica(ctx);
    r.start(null);
    r.onMessage('c0', msg('WRITE', 'c0', { ts: 2, value: 'b' }));
    r.onMessage('c0', msg('WRITE', 'c0', { ts: 1, value: 'a' }));
    expect(ctx.stored.get(STORE_KEY)).toEqual({ ts: 2, value: 'b' });
    expect(ctx.sent('ACK').map((m) => m.body)).toEqual([{ ts: 2 }, { ts: 1 }]);
    r.onMessage('c1', msg('READ', 'c1', { rid: 3 }));
    expect(ctx.sent('VALUE').map((m) => m.body)).toEqual([{ rid: 3, ts: 2, value: 'b' }]);
  });

  it('ignores WRITE from anyone but the writer', () => {
    const ctx = new FakeContext('n0', cluster);
    const r = new MajorityRegisterReplica(ctx);
    r.onMessage('c1', msg('WRITE', 'c1', { ts: 9, value: 'x' }));
    expect(ctx.sent()).toEqual([]);
  });

  it('adopts a newer RWRITE and acknowledges every RWRITE, newer or not', () => {
    const ctx = new FakeContext('n0', cluster);
    const r = new MajorityRegisterReplica(ctx);
    r.onMessage('c1', msg('RWRITE', 'c1', { rid: 1, ts: 3, value: 'c' }));
    r.onMessage('c2', msg('RWRITE', 'c2', { rid: 4, ts: 1, value: 'a' }));
    expect(ctx.sent('RACK').map((m) => m.body)).toEqual([
      { rid: 1, ts: 3 },
      { rid: 4, ts: 1 },
    ]);
    expect(ctx.stored.get(STORE_KEY)).toEqual({ ts: 3, value: 'c' });
  });

  it('recovers what it persisted', () => {
    const ctx = new FakeContext('n0', cluster);
    const r = new MajorityRegisterReplica(ctx);
    r.start(new Map([[STORE_KEY, { ts: 5, value: 'e' }]]));
    r.onMessage('c1', msg('READ', 'c1', { rid: 1 }));
    expect(ctx.sent('VALUE')[0]?.body).toEqual({ rid: 1, ts: 5, value: 'e' });
  });
});

describe('majority register clients', () => {
  it('the writer returns after a majority of distinct ACKs', () => {
    const ctx = new FakeContext('c0', cluster);
    const w = new MajorityRegisterClient(ctx, { atomic: false });
    w.onRequest({ op: 'write', value: 'a' });
    expect(ctx.sent('WRITE').map((m) => m.body)).toEqual([{ ts: 1, value: 'a' }]);
    w.onMessage('n0', msg('ACK', 'n0', { ts: 1 }));
    w.onMessage('n0', msg('ACK', 'n0', { ts: 1 }));
    w.onMessage('n1', msg('ACK', 'n1', { ts: 1 }));
    expect(outputs(ctx)).toEqual([]);
    w.onMessage('n4', msg('ACK', 'n4', { ts: 1 }));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { ok: true } }]);
  });

  it('a regular reader returns the highest timestamp of a majority, without write-back', () => {
    const ctx = new FakeContext('c1', cluster);
    const c = new MajorityRegisterClient(ctx, { atomic: false });
    c.onRequest({ op: 'read' });
    c.onMessage('n0', msg('VALUE', 'n0', { rid: 1, ts: 2, value: 'b' }));
    c.onMessage('n0', msg('VALUE', 'n0', { rid: 1, ts: 2, value: 'b' })); // counts once
    c.onMessage('n1', msg('VALUE', 'n1', { rid: 1, ts: 1, value: 'a' }));
    expect(outputs(ctx)).toEqual([]);
    c.onMessage('n2', msg('VALUE', 'n2', { rid: 1, ts: 0, value: null }));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { value: 'b' } }]);
    expect(ctx.sent('RWRITE')).toEqual([]);
  });

  it('an atomic reader writes (rts, rval) back and returns after a majority of RACKs for its rid', () => {
    const ctx = new FakeContext('c1', cluster);
    const c = new MajorityRegisterClient(ctx, { atomic: true });
    c.onRequest({ op: 'read' });
    c.onMessage('n0', msg('VALUE', 'n0', { rid: 1, ts: 2, value: 'b' }));
    c.onMessage('n1', msg('VALUE', 'n1', { rid: 1, ts: 1, value: 'a' }));
    c.onMessage('n2', msg('VALUE', 'n2', { rid: 1, ts: 1, value: 'a' }));
    expect(outputs(ctx)).toEqual([]);
    expect(ctx.sent('RWRITE').map((m) => m.body)).toEqual([{ rid: 1, ts: 2, value: 'b' }]);
    c.onMessage('n1', msg('RACK', 'n1', { rid: 1, ts: 2 }));
    c.onMessage('n2', msg('RACK', 'n2', { rid: 7, ts: 2 })); // another read's RACK
    c.onMessage('n3', msg('RACK', 'n3', { rid: 1, ts: 1 })); // wrong ts
    c.onMessage('n1', msg('RACK', 'n1', { rid: 1, ts: 2 })); // counts once
    c.onMessage('n4', msg('RACK', 'n4', { rid: 1, ts: 2 }));
    expect(outputs(ctx)).toEqual([]);
    c.onMessage('n0', msg('RACK', 'n0', { rid: 1, ts: 2 }));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { value: 'b' } }]);
  });

  it('an atomic reader ignores VALUEs of old reads', () => {
    const ctx = new FakeContext('c1', cluster);
    const c = new MajorityRegisterClient(ctx, { atomic: true });
    c.onRequest({ op: 'read' });
    for (const r of ['n0', 'n1', 'n2'])
      c.onMessage(r, msg('VALUE', r, { rid: 1, ts: 0, value: null }));
    for (const r of ['n0', 'n1', 'n2']) c.onMessage(r, msg('RACK', r, { rid: 1, ts: 0 }));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { value: null } }]);
    ctx.drain();
    c.onRequest({ op: 'read' });
    for (const r of ['n3', 'n4', 'n0'])
      c.onMessage(r, msg('VALUE', r, { rid: 1, ts: 0, value: null }));
    expect(ctx.sent('RWRITE')).toEqual([]);
  });
});
