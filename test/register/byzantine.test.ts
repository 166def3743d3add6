import { describe, expect, it } from 'vitest';
import { makeClusterView } from '../../src/core/cluster-view.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Json } from '../../src/crypto/json.js';
import {
  ByzantineRegisterClient,
  ByzantineRegisterReplica,
  STORE_KEY,
} from '../../src/register/byzantine.js';
import type { SignedWrite } from '../../src/register/messages.js';
import { FakeContext } from '../helpers/fake-context.js';

const cluster = makeClusterView({
  id: 'unit',
  protocol: 'byz-register',
  model: 'byzantine',
  replicas: ['n0', 'n1', 'n2', 'n3'],
  clients: ['c0', 'c1', 'c2'],
  f: 1,
});

/** What the writer c0 signs for (ts, v) under FakeContext: sig "sig:c0". */
function signedWrite(ts: number, value: string, from = 'c0', sig = `sig:${from}`): SignedWrite {
  return { kind: 'WRITE', from, body: { ts, value }, sig };
}
const msg = (kind: string, from: string, body: Json): Envelope => ({
  kind,
  from,
  body,
  sig: `sig:${from}`,
});
const value = (from: string, rid: number, write: SignedWrite | null): Envelope =>
  msg('VALUE', from, { rid, write });

function outputs(ctx: FakeContext): unknown[] {
  return ctx.effects.flatMap((e) => (e.type === 'output' ? [e.event] : []));
}
function notes(ctx: FakeContext, event: string): Json[] {
  return ctx.effects.flatMap((e) =>
    e.type === 'note' && e.event === event ? [e.data ?? null] : [],
  );
}

describe('Byzantine register replica', () => {
  function replica(): { ctx: FakeContext; r: ByzantineRegisterReplica } {
    const ctx = new FakeContext('n0', cluster);
    const r = new ByzantineRegisterReplica(ctx);
    r.start(null);
    return { ctx, r };
  }

  it('adopts a higher timestamp, keeps the writer’s whole envelope, persists, then acks', () => {
    const { ctx, r } = replica();
    r.onMessage('c0', signedWrite(2, 'b'));
    expect(r.ts).toBe(2);
    expect(ctx.stored.get(STORE_KEY)).toEqual(signedWrite(2, 'b'));
    const effects = ctx.drain();
    expect(effects.map((e) => e.type)).toEqual(['persist', 'send']);
    expect(effects[1]).toMatchObject({
      type: 'send',
      to: 'c0',
      message: { kind: 'ACK', body: { ts: 2 } },
    });
  });

  it('keeps a newer value on an older WRITE but still acks it', () => {
    const { ctx, r } = replica();
    r.onMessage('c0', signedWrite(3, 'c'));
    ctx.drain();
    r.onMessage('c0', signedWrite(1, 'a'));
    expect(r.ts).toBe(3);
    expect(ctx.sent('ACK').map((m) => m.body)).toEqual([{ ts: 1 }]);
    ctx.drain();
    r.onMessage('c1', msg('READ', 'c1', { rid: 7 }));
    expect(ctx.sent('VALUE')[0]?.body).toEqual({ rid: 7, write: signedWrite(3, 'c') });
  });

  it('answers ⊥ (write null) before any write', () => {
    const { ctx, r } = replica();
    r.onMessage('c2', msg('READ', 'c2', { rid: 1 }));
    expect(ctx.effects).toEqual([
      { type: 'send', to: 'c2', message: msg('VALUE', 'n0', { rid: 1, write: null }) },
    ]);
  });

  it('drops a WRITE that is not the writer’s, and notes it', () => {
    const { ctx, r } = replica();
    r.onMessage('c1', signedWrite(5, 'x', 'c1'));
    r.onMessage('c0', signedWrite(5, 'x', 'c0', 'forged'));
    expect(r.ts).toBe(0);
    expect(ctx.sent()).toEqual([]);
    expect(notes(ctx, 'register-rejected')).toHaveLength(2);
  });

  it('recovers (ts, val, σ) from what it persisted', () => {
    const ctx = new FakeContext('n1', cluster);
    const r = new ByzantineRegisterReplica(ctx);
    r.start(new Map([[STORE_KEY, signedWrite(4, 'd')]]));
    expect(r.ts).toBe(4);
    r.onMessage('c1', msg('READ', 'c1', { rid: 1 }));
    expect(ctx.sent('VALUE')[0]?.body).toEqual({ rid: 1, write: signedWrite(4, 'd') });
  });
});

describe('Byzantine register writer', () => {
  it('signs WRITE ‖ wts ‖ v, sends it to all replicas and returns after more than (n+f)/2 distinct ACKs', () => {
    const ctx = new FakeContext('c0', cluster);
    const w = new ByzantineRegisterClient(ctx);
    w.onRequest({ op: 'write', value: 'a' });
    expect(ctx.effects).toEqual([
      { type: 'broadcast', message: signedWrite(1, 'a'), includeSelf: true },
    ]);
    ctx.drain();
    w.onMessage('n0', msg('ACK', 'n0', { ts: 1 }));
    w.onMessage('n0', msg('ACK', 'n0', { ts: 1 })); // counts once
    w.onMessage('n1', msg('ACK', 'n1', { ts: 0 })); // another write's ACK
    w.onMessage('c1', msg('ACK', 'c1', { ts: 1 })); // not a replica
    w.onMessage('n1', msg('ACK', 'n1', { ts: 1 }));
    expect(outputs(ctx)).toEqual([]);
    w.onMessage('n3', msg('ACK', 'n3', { ts: 1 }));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { ok: true } }]);
    ctx.drain();
    w.onMessage('n2', msg('ACK', 'n2', { ts: 1 })); // late: ignored
    expect(ctx.effects).toEqual([]);
  });

  it('runs queued operations one at a time, with increasing timestamps', () => {
    const ctx = new FakeContext('c0', cluster);
    const w = new ByzantineRegisterClient(ctx);
    w.onRequest({ op: 'write', value: 'a' });
    w.onRequest({ op: 'write', value: 'b' });
    expect(ctx.sent('WRITE')).toHaveLength(1);
    for (const r of ['n0', 'n1', 'n2']) w.onMessage(r, msg('ACK', r, { ts: 1 }));
    expect(ctx.sent('WRITE').map((m) => m.body)).toEqual([
      { ts: 1, value: 'a' },
      { ts: 2, value: 'b' },
    ]);
  });

  it('refuses writes from a client that is not the writer, and malformed requests', () => {
    const ctx = new FakeContext('c1', cluster);
    const c = new ByzantineRegisterClient(ctx);
    c.onRequest({ op: 'write', value: 'a' });
    c.onRequest({ op: 'delete' });
    c.onRequest({ op: 'write', value: 'x'.repeat(5000) });
    expect(ctx.sent()).toEqual([]);
    expect(outputs(ctx)).toHaveLength(3);
    for (const o of outputs(ctx))
      expect(o).toMatchObject({ type: 'reply', result: { error: expect.any(String) } });
  });
});

describe('Byzantine register reader', () => {
  function reader(): { ctx: FakeContext; c: ByzantineRegisterClient } {
    const ctx = new FakeContext('c1', cluster);
    const c = new ByzantineRegisterClient(ctx);
    c.onRequest({ op: 'read' });
    expect(ctx.sent('READ').map((m) => m.body)).toEqual([{ rid: 1 }]);
    return { ctx, c };
  }

  it('returns the highest timestamp among more than (n+f)/2 verified answers', () => {
    const { ctx, c } = reader();
    c.onMessage('n0', value('n0', 1, signedWrite(1, 'a')));
    c.onMessage('n1', value('n1', 1, signedWrite(3, 'c')));
    expect(outputs(ctx)).toEqual([]);
    c.onMessage('n2', value('n2', 1, null));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { value: 'c' } }]);
  });

  it('returns ⊥ when every answer is the initial value', () => {
    const { ctx, c } = reader();
    for (const r of ['n1', 'n2', 'n3']) c.onMessage(r, value(r, 1, null));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { value: null } }]);
  });

  it('rejects values whose writer signature does not verify or whose signer is not the writer', () => {
    const { ctx, c } = reader();
    c.onMessage('n0', value('n0', 1, signedWrite(99, 'forged', 'c0', 'sig:n0'))); // bad σ
    c.onMessage('n1', value('n1', 1, signedWrite(99, 'forged', 'n1'))); // valid σ, wrong signer
    c.onMessage('n2', value('n2', 1, signedWrite(1, 'a')));
    c.onMessage('n3', value('n3', 1, signedWrite(1, 'a')));
    expect(outputs(ctx)).toEqual([]);
    expect(notes(ctx, 'register-rejected')).toEqual([
      { reason: 'bad-writer-signature', kind: 'VALUE', from: 'n0' },
      { reason: 'not-the-writer', kind: 'VALUE', from: 'n1' },
    ]);
    // The forgers may still answer properly later; only then do they count.
    c.onMessage('n0', value('n0', 1, signedWrite(2, 'b')));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { value: 'b' } }]);
  });

  it('counts a replica once, notes an equivocating one, and keeps its first answer', () => {
    const { ctx, c } = reader();
    c.onMessage('n0', value('n0', 1, signedWrite(1, 'a')));
    c.onMessage('n0', value('n0', 1, signedWrite(1, 'a'))); // duplicate
    c.onMessage('n0', value('n0', 1, signedWrite(2, 'b'))); // equivocation
    c.onMessage('n1', value('n1', 1, signedWrite(1, 'a')));
    expect(outputs(ctx)).toEqual([]);
    expect(notes(ctx, 'register-equivocation')).toEqual([{ replica: 'n0', rid: 1 }]);
    c.onMessage('n2', value('n2', 1, signedWrite(1, 'a')));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { value: 'a' } }]);
  });

  it('ignores answers to old reads and answers from non-replicas', () => {
    const { ctx, c } = reader();
    for (const r of ['n0', 'n1', 'n2']) c.onMessage(r, value(r, 1, signedWrite(1, 'a')));
    expect(outputs(ctx)).toHaveLength(1);
    ctx.drain();
    c.onRequest({ op: 'read' });
    expect(ctx.sent('READ').map((m) => m.body)).toEqual([{ rid: 2 }]);
    c.onMessage('n3', value('n3', 1, signedWrite(1, 'a'))); // a late answer to rid 1
    c.onMessage('n0', value('n0', 1, signedWrite(1, 'a'))); // a replay of rid 1
    c.onMessage('c2', value('c2', 2, signedWrite(5, 'e'))); // not a replica
    c.onMessage('n1', value('n1', 2, signedWrite(2, 'b')));
    c.onMessage('n2', value('n2', 2, signedWrite(2, 'b')));
    expect(outputs(ctx)).toEqual([]);
    c.onMessage('n3', value('n3', 2, signedWrite(1, 'a')));
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { value: 'b' } }]);
  });

  it('completes with f silent replicas (n − f answers are a quorum when n > 3f)', () => {
    const big = makeClusterView({
      id: 'unit',
      protocol: 'byz-register',
      model: 'byzantine',
      replicas: ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'],
      clients: ['c0', 'c1'],
      f: 2,
    });
    const ctx = new FakeContext('c1', big);
    const c = new ByzantineRegisterClient(ctx);
    c.onRequest({ op: 'read' });
    for (const r of ['n0', 'n1', 'n2', 'n3', 'n4'])
      c.onMessage(r, value(r, 1, signedWrite(1, 'a')));
    expect(big.quorum).toBe(5);
    expect(outputs(ctx)).toEqual([{ type: 'reply', result: { value: 'a' } }]);
  });
});
