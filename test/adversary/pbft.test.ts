/**
 * The PBFT adversaries (src/adversary/pbft*.ts) one at a time, over a FakeContext: each
 * rewrites what the honest replica does the way its description says, reports it with
 * act(), and what it produces is refused by the honest checks (certificates, NEW-VIEW
 * recomputation, signatures) — or, for the equivocator, becomes checkable evidence.
 */
import { describe, expect, it } from 'vitest';
import type { AdversaryDefinition } from '../../src/adversary/api.js';
import {
  censoringPrimary,
  equivocatingPrimary,
  forger,
  pbftAdversaries,
  phantomVoter,
  quorumSplitter,
  silent,
  silentPrimary,
  slowPrimary,
} from '../../src/adversary/pbft.js';
import { FLAVOURS, floodingReplica } from '../../src/adversary/pbft-flood.js';
import {
  badNewView,
  badViewChange,
  oldViewReplayer,
} from '../../src/adversary/pbft-view-change.js';
import { alternativeBatch, wrapPbft } from '../../src/adversary/pbft-wrap.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Protocol, ProtocolFactory } from '../../src/core/protocol.js';
import type { Json } from '../../src/crypto/json.js';
import type { Verifier } from '../../src/pbft/certificates.js';
import { digestOf } from '../../src/pbft/digest.js';
import { checkEvidence } from '../../src/pbft/evidence.js';
import type {
  NewViewEnvelope,
  PrePrepareBody,
  PrePrepareEnvelope,
  StateBody,
  ViewChangeEnvelope,
} from '../../src/pbft/messages.js';
import { type PbftOptions, PbftReplica } from '../../src/pbft/replica.js';
import { checkNewView, checkViewChange } from '../../src/pbft/view-change.js';
import { findAdversary } from '../../src/scenario/adversaries.js';
import { type Effect, FakeContext } from '../helpers/fake-context.js';
import {
  cluster,
  deliver,
  makeReplica,
  notes,
  prePrepare,
  preparedCert,
  request,
  viewChange,
} from '../pbft/helpers.js';

const OPTIONS: Partial<PbftOptions> = { batchTimeoutMs: 0, batchSize: 1, viewChangeTimeoutMs: 100 };
const verifier: Verifier = {
  cluster,
  verify: (m) => m.sig === `sig:${m.from}`,
  window: 64,
};

// biome-ignore lint/suspicious/noExplicitAny: each adversary has its own parameter type
function node(self: string, adversary: AdversaryDefinition<any>, params: Json = {}) {
  const ctx = new FakeContext(self, cluster);
  const honest: ProtocolFactory = (c) => new PbftReplica(c, OPTIONS);
  const core: Protocol = adversary.create(honest, adversary.params.parse(params))(ctx);
  core.start(null);
  return { ctx, core };
}

function send(core: Protocol, message: Envelope): void {
  core.onMessage(message.from, message);
}

/** Every message sent, with its destination (null: a broadcast). */
function outbox(ctx: FakeContext, kind?: string): { to: string | null; message: Envelope }[] {
  return ctx.effects.flatMap((e: Effect): { to: string | null; message: Envelope }[] => {
    if (e.type === 'send' && (kind === undefined || e.message.kind === kind))
      return [{ to: e.to, message: e.message }];
    if (e.type === 'broadcast' && (kind === undefined || e.message.kind === kind))
      return [{ to: null, message: e.message }];
    return [];
  });
}

function actions(ctx: FakeContext, action: string): Json[] {
  return notes(ctx, 'adversary').filter((d) => (d as { action?: string }).action === action);
}

describe('the PBFT adversaries are registered', () => {
  it('every one is found by name for protocol pbft, with its defaults', () => {
    expect(pbftAdversaries.map((a) => a.name)).toEqual([
      'silent',
      'silent-primary',
      'equivocating-primary',
      'censoring-primary',
      'covert-censor',
      'slow-primary',
      'phantom-voter',
      'forger',
      'bad-view-change',
      'bad-new-view',
      'old-view-replayer',
      'flooding-replica',
      'quorum-splitter',
      'digest-liar',
      'request-forger',
      'beyond-watermark',
      'short-certificate',
      'commit-splitter',
      'replaying-primary',
      'equivocating-client',
      'replaying-client',
      'impersonating-client',
      'time-traveller',
    ]);
    for (const a of pbftAdversaries) {
      expect(findAdversary(a.name, 'pbft')).toBe(a);
      expect(a.params.safeParse({}).success).toBe(true);
      expect(a.params.safeParse({ bogus: 1 }).success).toBe(false);
    }
    // the register kits keep their own `silent`
    expect(findAdversary('silent', 'byz-register')).not.toBe(silent);
  });
});

describe('the wrapper', () => {
  it('tracks the view and leader from the core’s notes, and keeps the core’s timers its own', () => {
    const seen: string[] = [];
    const ctx = new FakeContext('r1', cluster);
    const adversary = wrapPbft(
      (c) => new PbftReplica(c, OPTIONS),
      (spy) => ({
        onTimer: (name) => seen.push(`${name}@${spy.view}/${spy.leader}/${spy.leading}`),
      }),
    );
    const core = adversary(ctx);
    core.start(null);
    send(core, request('c0', 1));
    // the core armed its own request timer; firing it reaches the core (it complains)
    expect(ctx.timers.has('request')).toBe(true);
    core.onTimer('request');
    expect(outbox(ctx, 'VIEW-CHANGE')).toHaveLength(1);
    // a timer with the adversary prefix goes to the adversary only
    core.onTimer('adversary:tick');
    expect(seen).toEqual(['tick@0/r0/false']);
    // r2, r3 complain too: r1 is trusted as primary of view 1 and says so
    send(core, viewChange('r2', 1));
    send(core, viewChange('r3', 1));
    core.onTimer('adversary:tick');
    expect(seen.at(-1)).toBe('tick@1/r1/true');
  });
});

describe('silent and silent-primary', () => {
  it('silent sends nothing, and says so', () => {
    const { ctx, core } = node('r1', silent);
    send(core, prePrepare(0, 1, [request('c0', 1)]));
    expect(outbox(ctx)).toEqual([]);
    expect(actions(ctx, 'withhold')).toHaveLength(1);
  });

  it('silent-primary withholds its PRE-PREPAREs as primary; as a backup it prepares', () => {
    const primary = node('r0', silentPrimary);
    send(primary.core, request('c0', 1));
    expect(outbox(primary.ctx)).toEqual([]);
    const backup = node('r1', silentPrimary);
    send(backup.core, prePrepare(0, 1, [request('c0', 1)]));
    expect(outbox(backup.ctx, 'PREPARE')).toHaveLength(1);
  });
});

describe('equivocating-primary', () => {
  it('sends one batch to half the backups, another to the rest, both to the witness — evidence', () => {
    const { ctx, core } = node('r0', equivocatingPrimary);
    send(core, request('c0', 1));
    const sent = outbox(ctx, 'PRE-PREPARE');
    const to = (r: string) => sent.filter((s) => s.to === r).map((s) => s.message);
    const real = to('r1')[0]?.body as PrePrepareBody;
    const other = to('r3')[0]?.body as PrePrepareBody;
    expect(other.digest).not.toBe(real.digest);
    expect(other.seq).toBe(real.seq);
    expect(to('r2')).toHaveLength(2); // the witness
    expect(actions(ctx, 'equivocate')).toHaveLength(1);

    const witness = makeReplica('r2', OPTIONS);
    for (const m of to('r2')) deliver(witness.replica, m);
    const [evidence] = notes(witness.ctx, 'evidence');
    expect(checkEvidence(evidence, verifier.verify)).toBe(true);
    expect(outbox(witness.ctx, 'VIEW-CHANGE')).toHaveLength(1); // it complains at once
  });

  it('the alternative batch is the reverse order, or the null request for one request', () => {
    const a = request('c0', 1);
    const b = request('c1', 1);
    expect(alternativeBatch([a, b])).toEqual([b, a]);
    expect(alternativeBatch([a])).toEqual([]);
  });
});

describe('censoring-primary', () => {
  it('drops the censored client’s requests as primary, and only those', () => {
    const { ctx, core } = node('r0', censoringPrimary, { client: 'c0' });
    send(core, request('c0', 1));
    expect(outbox(ctx, 'PRE-PREPARE')).toEqual([]);
    expect(actions(ctx, 'censor')).toEqual([
      { action: 'censor', client: 'c0', timestamp: 1, view: 0 },
    ]);
    send(core, request('c1', 1));
    expect(outbox(ctx, 'PRE-PREPARE')).toHaveLength(1);
  });

  it('as a backup it lets the request through (and starts its timer)', () => {
    const { ctx, core } = node('r1', censoringPrimary, { client: 'c0' });
    send(core, request('c0', 1));
    expect(ctx.timers.has('request')).toBe(true);
    expect(actions(ctx, 'censor')).toEqual([]);
  });
});

describe('slow-primary', () => {
  it('holds each PRE-PREPARE back for delayMs on a timer of its own', () => {
    const { ctx, core } = node('r0', slowPrimary, { delayMs: 250 });
    send(core, request('c0', 1));
    expect(outbox(ctx, 'PRE-PREPARE')).toEqual([]);
    expect(ctx.timers.get('adversary:release')).toBe(250);
    ctx.time = 100;
    send(core, request('c1', 1));
    ctx.time = 250;
    core.onTimer('adversary:release');
    expect(outbox(ctx, 'PRE-PREPARE')).toHaveLength(1);
    expect(ctx.timers.get('adversary:release')).toBe(350);
    ctx.time = 350;
    core.onTimer('adversary:release');
    expect(outbox(ctx, 'PRE-PREPARE')).toHaveLength(2);
    expect(actions(ctx, 'delay')).toHaveLength(2);
  });

  it('the honest core still gets its own timers (its batch timer here)', () => {
    const ctx = new FakeContext('r0', cluster);
    const core = slowPrimary.create(
      (c) => new PbftReplica(c, { batchTimeoutMs: 5, batchSize: 8 }),
      { delayMs: 10 },
    )(ctx);
    core.start(null);
    send(core, request('c0', 1));
    expect(ctx.timers.has('batch')).toBe(true);
    core.onTimer('batch'); // the core cuts the batch, the adversary holds it
    expect(actions(ctx, 'delay')).toHaveLength(1);
    ctx.time = 10;
    core.onTimer('adversary:release');
    expect(outbox(ctx, 'PRE-PREPARE')).toHaveLength(1);
  });
});

describe('phantom-voter', () => {
  it('prepares a digest it never saw, and votes ahead for slots nobody proposed', () => {
    const { ctx, core } = node('r1', phantomVoter, { ahead: 2 });
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    send(core, pp);
    const votes = outbox(ctx).map((o) => o.message);
    const prepare = votes.find((v) => v.kind === 'PREPARE' && (v.body as { seq: number }).seq === 1)
      ?.body as { digest: string };
    expect(prepare.digest).not.toBe(pp.body.digest);
    const seqs = votes.map((v) => `${v.kind}/${(v.body as { seq: number }).seq}`);
    expect(seqs).toEqual(['PREPARE/1', 'PREPARE/2', 'COMMIT/2', 'PREPARE/3', 'COMMIT/3']);
    expect(actions(ctx, 'phantom-vote')).toHaveLength(5);
  });
});

describe('forger', () => {
  it('sends votes and replies in other replicas’ names, under its own key', () => {
    const { ctx, core } = node('r1', forger);
    send(core, prePrepare(0, 1, [request('c0', 1)]));
    const prepares = outbox(ctx, 'PREPARE').map((o) => o.message);
    expect(prepares.map((p) => p.from)).toEqual(['r1', 'r2']); // r0 is the primary: not a preparer
    expect(verifier.verify(prepares[0] as Envelope)).toBe(true);
    expect(verifier.verify(prepares[1] as Envelope)).toBe(false);
  });

  it('answers a client with a wrong result, in its own name and in another’s', () => {
    const { ctx, core } = node('r1', forger);
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    send(core, pp);
    for (const from of ['r2', 'r3'])
      send(core, {
        kind: 'PREPARE',
        from,
        body: { view: 0, seq: 1, digest: pp.body.digest },
        sig: `sig:${from}`,
      });
    for (const from of ['r0', 'r2'])
      send(core, {
        kind: 'COMMIT',
        from,
        body: { view: 0, seq: 1, digest: pp.body.digest },
        sig: `sig:${from}`,
      });
    const replies = outbox(ctx, 'REPLY').map((o) => o.message);
    expect(replies).toHaveLength(2);
    expect(replies[0]?.from).toBe('r1');
    expect(replies[1]?.from).not.toBe('r1');
    for (const r of replies)
      expect((r.body as { result: Json }).result).toEqual({ ok: true, value: 'forged-1' });
    expect(verifier.verify(replies[0] as Envelope)).toBe(true);
    expect(verifier.verify(replies[1] as Envelope)).toBe(false);
  });

  it('answers FETCH-STATE with forged certificates, which an honest replica refuses', () => {
    const { ctx, core } = node('r1', forger, { stateInterval: 16 });
    core.onMessage('r3', {
      kind: 'FETCH-STATE',
      from: 'r3',
      body: { lastExecuted: 0, view: 0 },
      sig: 'sig:r3',
    });
    const states = outbox(ctx, 'STATE').map((o) => o.message);
    expect(states).toHaveLength(2);
    const first = states[0]?.body as unknown as StateBody;
    expect(first.checkpoint?.seq).toBe(16_000);
    const lagging = makeReplica('r3', OPTIONS);
    for (const s of states) deliver(lagging.replica, s);
    expect(notes(lagging.ctx, 'reject')).toEqual([
      expect.objectContaining({ kind: 'STATE', reason: 'bad-signature' }),
      expect.objectContaining({
        kind: 'STATE',
        reason: 'bad-signature',
        detail: expect.stringMatching(/^batch 1: /),
      }),
    ]);
    expect(notes(lagging.ctx, 'state')).toEqual([]);
    expect(lagging.replica.executed).toBe(0);
  });
});

/** Drive a backup r1 into its VIEW-CHANGE for view 1 (a request, then its timer). */
function complainAtR1(adversary: AdversaryDefinition<Json>, params: Json) {
  const n = node('r1', adversary, params);
  send(n.core, request('c0', 1));
  n.core.onTimer('request');
  const [vc] = outbox(n.ctx, 'VIEW-CHANGE').map((o) => o.message as ViewChangeEnvelope);
  return { ...n, vc: vc as ViewChangeEnvelope };
}

describe('bad-view-change', () => {
  it('forged-certificate: a prepared certificate of the latest view, refused for its signatures', () => {
    const { ctx, vc } = complainAtR1(badViewChange, { mode: 'forged-certificate' });
    expect(vc.body.prepared[0]?.prePrepare.body).toMatchObject({ view: 0, seq: 1 });
    expect(checkViewChange(verifier, vc)?.code).toBe('bad-signature');
    expect(actions(ctx, 'bad-view-change')).toHaveLength(1);
  });

  it('mismatched-certificate: genuine signatures that do not belong together', () => {
    const n = node('r1', badViewChange, { mode: 'mismatched-certificate' });
    const pp1 = prePrepare(0, 1, [request('c0', 1)]);
    const pp2 = prePrepare(0, 2, [request('c1', 1)]);
    send(n.core, pp1);
    for (const from of ['r2', 'r3'])
      send(n.core, {
        kind: 'PREPARE',
        from,
        body: { view: 0, seq: 1, digest: pp1.body.digest },
        sig: `sig:${from}`,
      });
    send(n.core, pp2);
    send(n.core, request('c0', 2));
    n.core.onTimer('request');
    const [vc] = outbox(n.ctx, 'VIEW-CHANGE').map((o) => o.message as ViewChangeEnvelope);
    expect(checkViewChange(verifier, vc as ViewChangeEnvelope)?.code).toBe('vote-mismatch');
  });

  it('hidden: no certificates and no checkpoint — a lie that passes every check', () => {
    const { vc } = complainAtR1(badViewChange, { mode: 'hidden' });
    expect(vc.body).toMatchObject({ newView: 1, stableSeq: 0, prepared: [] });
    expect(checkViewChange(verifier, vc)).toBeNull();
  });
});

/** r1 becomes primary of view 1: r2 and r3 complain (with a prepared certificate for seq 1). */
function newViewFromR1(mode: string): NewViewEnvelope {
  const n = node('r1', badNewView, { mode });
  send(n.core, request('c1', 7));
  const cert = preparedCert(prePrepare(0, 1, [request('c0', 1)]) as PrePrepareEnvelope);
  send(n.core, viewChange('r2', 1, [cert]));
  send(n.core, viewChange('r3', 1, [cert]));
  const [nv] = outbox(n.ctx, 'NEW-VIEW').map((o) => o.message as NewViewEnvelope);
  expect(actions(n.ctx, 'bad-new-view')).toHaveLength(1);
  return nv as NewViewEnvelope;
}

describe('bad-new-view', () => {
  it.each([
    ['drop-entry', 'new-view-mismatch'],
    ['extra-entry', 'new-view-mismatch'],
    ['short-v', 'too-few-votes'],
  ])('%s: every backup recomputes O from V and refuses it', (mode, code) => {
    const nv = newViewFromR1(mode);
    expect(nv.body.view).toBe(1);
    const verdict = checkNewView(verifier, nv);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? null : verdict.refusal.code).toBe(code);
    // …which the deliberately unsafe variant would have taken as it came
    if (mode !== 'short-v')
      expect(checkNewView(verifier, nv, { unsafeSkipCheck: true }).ok).toBe(true);
  });

  it('drop-entry replaces the prepared batch by the null request', () => {
    const nv = newViewFromR1('drop-entry');
    expect(nv.body.prePrepares.map((pp) => pp.body.digest)).toEqual([digestOf([])]);
  });
});

describe('old-view-replayer', () => {
  it('replays its own old-view votes, and relays others’, when a new view starts', () => {
    const { ctx, core } = node('r2', oldViewReplayer, { burst: 8, relay: 2, rate: 0 });
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    send(core, pp);
    const oldPrepare = outbox(ctx, 'PREPARE')[0]?.message;
    ctx.drain();
    // view 1 by r1's NEW-VIEW (q VIEW-CHANGEs; r2 had not complained itself)
    const vcs = ['r0', 'r1', 'r3'].map((r) => viewChange(r, 1, []));
    send(core, {
      kind: 'NEW-VIEW',
      from: 'r1',
      body: { view: 1, viewChanges: vcs, prePrepares: [] } as unknown as Json,
      sig: 'sig:r1',
    });
    const replayed = outbox(ctx, 'PREPARE').map((o) => o.message);
    expect(replayed).toHaveLength(3); // to r0, r1, r3
    expect(replayed[0]).toEqual(oldPrepare);
    expect(outbox(ctx, 'PRE-PREPARE').map((o) => o.message.from)).toContain('r0'); // relayed
    expect(actions(ctx, 'replay-old').length).toBeGreaterThan(0);
    expect(actions(ctx, 'relay-old').length).toBeGreaterThan(0);
  });
});

describe('flooding-replica', () => {
  it('every interval, burst messages of every flavour to each other replica, one act per burst', () => {
    const { ctx, core } = node('r3', floodingReplica, { intervalMs: 10, burst: FLAVOURS.length });
    expect(ctx.timers.get('adversary:flood')).toBe(10);
    ctx.drain();
    core.onTimer('adversary:flood');
    const sent = outbox(ctx);
    expect(sent.filter((s) => s.to?.startsWith('r'))).toHaveLength(3 * FLAVOURS.length);
    expect(sent.filter((s) => s.to?.startsWith('c'))).toHaveLength(2); // a REPLY to each client
    const kinds = new Set(sent.map((s) => s.message.kind));
    for (const k of ['GOSSIP', 'PREPARE', 'COMMIT', 'VIEW-CHANGE', 'FETCH-STATE', 'CHECKPOINT'])
      expect(kinds.has(k)).toBe(true);
    expect(sent.some((s) => s.message.from === 'mallory')).toBe(true);
    expect(actions(ctx, 'flood')).toHaveLength(1);
    expect(ctx.timers.get('adversary:flood')).toBe(10);
  });
});

describe('quorum-splitter', () => {
  it('two colluders show the victim one batch and the others another, with matching digests', () => {
    const primary = node('r0', quorumSplitter, { victims: ['r3'] });
    const backup = node('r1', quorumSplitter, { victims: ['r3'] });
    send(primary.core, request('c0', 1));
    const pps = outbox(primary.ctx, 'PRE-PREPARE');
    const toR3 = pps.find((p) => p.to === 'r3')?.message as PrePrepareEnvelope;
    const toR1 = pps.find((p) => p.to === 'r1')?.message as PrePrepareEnvelope;
    expect(toR3.body.digest).not.toBe(toR1.body.digest);
    expect(toR3.body.digest).toBe(digestOf(alternativeBatch(toR1.body.batch)));
    send(backup.core, toR1);
    const prepares = outbox(backup.ctx, 'PREPARE');
    expect(prepares.find((p) => p.to === 'r3')?.message.body).toMatchObject({
      digest: toR3.body.digest,
    });
    expect(prepares.find((p) => p.to === 'r2')?.message.body).toMatchObject({
      digest: toR1.body.digest,
    });
  });
});
