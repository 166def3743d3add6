import { describe, expect, it } from 'vitest';
import type { AdversaryDefinition } from '../../src/adversary/api.js';
import { registerAdversaries } from '../../src/adversary/register.js';
import { makeClusterView } from '../../src/core/cluster-view.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Protocol } from '../../src/core/protocol.js';
import type { Json } from '../../src/crypto/json.js';
import { byzantineReplica } from '../../src/register/byzantine.js';
import type { ByzValueBody, SignedWrite } from '../../src/register/messages.js';
import { FakeContext } from '../helpers/fake-context.js';

const cluster = makeClusterView({
  id: 'unit',
  protocol: 'byz-register',
  model: 'byzantine',
  replicas: ['n0', 'n1', 'n2', 'n3'],
  clients: ['c0', 'c1', 'c2'],
  f: 1,
});

const write = (ts: number, value: string): SignedWrite => ({
  kind: 'WRITE',
  from: 'c0',
  body: { ts, value },
  sig: 'sig:c0',
});
const read = (from: string, rid: number): Envelope => ({
  kind: 'READ',
  from,
  body: { rid },
  sig: `sig:${from}`,
});

function adversary(
  name: string,
  params: Record<string, Json> = {},
): { ctx: FakeContext; p: Protocol } {
  const def = registerAdversaries.find((d) => d.name === name) as AdversaryDefinition;
  const ctx = new FakeContext('n0', cluster);
  const p = def.create(byzantineReplica, def.params.parse(params))(ctx);
  p.start(null);
  return { ctx, p };
}
function actions(ctx: FakeContext): string[] {
  return ctx.effects.flatMap((e) =>
    e.type === 'note' && e.event === 'adversary' ? [(e.data as { action: string }).action] : [],
  );
}
/** (to, ts) of every VALUE sent, with the rid. */
function values(ctx: FakeContext): { to: string; rid: number; ts: number; value: string | null }[] {
  return ctx.effects.flatMap((e) => {
    if (e.type !== 'send' || e.message.kind !== 'VALUE') return [];
    const { rid, write: w } = e.message.body as ByzValueBody;
    return [{ to: e.to, rid, ts: w?.body.ts ?? 0, value: w?.body.value ?? null }];
  });
}
function writeThree(p: Protocol): void {
  for (const ts of [1, 2, 3]) p.onMessage('c0', write(ts, `v${ts - 1}`));
}

describe('register adversaries', () => {
  it('are registered for the register kits, each with a description and default params', () => {
    expect(registerAdversaries.map((d) => d.name)).toEqual([
      'silent',
      'stale',
      'forging',
      'replaying',
      'equivocating',
      'colluding',
    ]);
    for (const d of registerAdversaries) {
      expect(d.protocols).toContain('byz-register');
      expect(d.description.length).toBeGreaterThan(10);
      expect(() => d.params.parse({})).not.toThrow();
      expect(() => d.params.parse({ nonsense: 1 })).toThrow();
    }
  });

  it('silent sends nothing and reports what it withholds', () => {
    const { ctx, p } = adversary('silent');
    p.onMessage('c0', write(1, 'v0'));
    p.onMessage('c1', read('c1', 1));
    expect(ctx.sent()).toEqual([]);
    expect(actions(ctx)).toEqual(['silent', 'withhold', 'withhold']);
  });

  it('stale acks honestly but answers reads with the version it kept', () => {
    const { ctx, p } = adversary('stale', { keep: 2 });
    p.onMessage('c1', read('c1', 1)); // nothing kept yet, nothing newer: honest ⊥
    writeThree(p);
    p.onMessage('c1', read('c1', 2));
    expect(ctx.sent('ACK').map((m) => m.body)).toEqual([{ ts: 1 }, { ts: 2 }, { ts: 3 }]);
    expect(values(ctx)).toEqual([
      { to: 'c1', rid: 1, ts: 0, value: null },
      { to: 'c1', rid: 2, ts: 2, value: 'v1' },
    ]);
    expect(actions(ctx)).toEqual(['stale-value']);
  });

  it('forging answers with values the writer never signed', () => {
    const { ctx, p } = adversary('forging');
    writeThree(p);
    for (const rid of [1, 2, 3]) p.onMessage('c1', read('c1', rid));
    const sent = ctx.effects.flatMap((e) =>
      e.type === 'send' && e.message.kind === 'VALUE'
        ? [(e.message.body as ByzValueBody).write]
        : [],
    );
    // rid 1: the oldest value with a higher timestamp under its old σ; rid 2: its own
    // signature; rid 3: a made-up value with the latest timestamp and σ
    expect(sent[0]).toMatchObject({
      from: 'c0',
      body: { ts: 1_000_003, value: 'v0' },
      sig: 'sig:c0',
    });
    expect(sent[1]).toMatchObject({ from: 'n0', body: { ts: 1_000_003, value: 'forged-2' } });
    expect(sent[2]).toMatchObject({ from: 'c0', body: { ts: 3, value: 'forged-3' } });
    expect(actions(ctx)).toEqual(['forge', 'forge', 'forge']);
  });

  it('replaying replays earlier VALUEs and ACKs and withholds the fresh answer', () => {
    const { ctx, p } = adversary('replaying', { burst: 2 });
    p.onMessage('c0', write(1, 'v0'));
    p.onMessage('c1', read('c1', 1));
    p.onMessage('c0', write(2, 'v1'));
    p.onMessage('c2', read('c2', 1));
    p.onMessage('c1', read('c1', 2));
    expect(ctx.sent('ACK').map((m) => m.body)).toEqual([{ ts: 1 }, { ts: 1 }, { ts: 2 }]);
    expect(values(ctx)).toEqual([
      { to: 'c2', rid: 1, ts: 1, value: 'v0' }, // c1's old answer, with a matching rid for c2
      { to: 'c1', rid: 1, ts: 2, value: 'v1' }, // c2's answer: an old rid for c1
      { to: 'c1', rid: 1, ts: 1, value: 'v0' },
    ]);
    expect(actions(ctx)).toEqual([
      'withhold',
      'replay-ack',
      'replay-value',
      'withhold',
      'replay-value',
      'replay-value',
      'withhold',
    ]);
  });

  it('equivocating tells the victims an old value, then the latest; the others the latest', () => {
    const { ctx, p } = adversary('equivocating', { lag: 2 });
    writeThree(p);
    p.onMessage('c1', read('c1', 4));
    p.onMessage('c2', read('c2', 4));
    expect(values(ctx)).toEqual([
      { to: 'c1', rid: 4, ts: 1, value: 'v0' },
      { to: 'c1', rid: 4, ts: 3, value: 'v2' },
      { to: 'c2', rid: 4, ts: 3, value: 'v2' },
    ]);
    expect(actions(ctx)).toEqual(['equivocate']);
  });

  it('colluding acks without storing and answers with the oldest value, or ⊥', () => {
    const oldest = adversary('colluding');
    writeThree(oldest.p);
    oldest.p.onMessage('c1', read('c1', 1));
    expect(oldest.ctx.sent('ACK').map((m) => m.body)).toEqual([{ ts: 1 }, { ts: 2 }, { ts: 3 }]);
    expect(oldest.ctx.effects.some((e) => e.type === 'persist')).toBe(false);
    expect(values(oldest.ctx)).toEqual([{ to: 'c1', rid: 1, ts: 1, value: 'v0' }]);

    const bottom = adversary('colluding', { answer: 'bottom' });
    writeThree(bottom.p);
    bottom.p.onMessage('c2', read('c2', 1));
    expect(values(bottom.ctx)).toEqual([{ to: 'c2', rid: 1, ts: 0, value: null }]);
    expect(actions(bottom.ctx)).toEqual([
      'collude',
      'ack-without-store',
      'ack-without-store',
      'ack-without-store',
      'stale-value',
    ]);
  });
});
