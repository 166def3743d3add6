/**
 * PBFT replica unit tests over FakeContext (fake signatures "sig:<from>"): the normal case,
 * execution order, exactly-once, checkpoints, view change, evidence, persistence, recovery
 * and state transfer.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Json } from '../../src/crypto/json.js';
import { NULL_DIGEST } from '../../src/pbft/certificates.js';
import { digestOf } from '../../src/pbft/digest.js';
import { checkEvidence } from '../../src/pbft/evidence.js';
import type { RequestEnvelope, ViewChangeEnvelope } from '../../src/pbft/messages.js';
import type { PbftReplica } from '../../src/pbft/replica.js';
import { takeSnapshot } from '../../src/pbft/state-transfer.js';
import { kvApp } from '../../src/smr/kv.js';
import { SessionTable } from '../../src/smr/sessions.js';
import {
  checkpoint,
  commit,
  commitSlot,
  deliver,
  forged,
  makeReplica,
  newView,
  notes,
  prePrepare,
  prepare,
  preparedCert,
  request,
  signed,
  viewChange,
} from './helpers.js';

/** The body of a message the test expects to exist. */
function bodyOf<B>(message: Envelope | undefined): B {
  if (message === undefined) throw new Error('no such message');
  return message.body as B;
}

/** A key's value in a replica's key-value state (its snapshot: entries sorted by key). */
function readKey(replica: PbftReplica, key: string): string | null {
  const entries = replica.appState() as [string, string][];
  return entries.find(([k]) => k === key)?.[1] ?? null;
}

describe('pre-prepare acceptance', () => {
  it('a backup accepts a valid pre-prepare and multicasts a matching PREPARE', () => {
    const { ctx, replica } = makeReplica('r1');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    deliver(replica, pp);
    const [p] = ctx.sent('PREPARE');
    expect(p?.body).toEqual({ view: 0, seq: 1, digest: pp.body.digest });
    expect(p?.from).toBe('r1');
  });

  it('rejects a pre-prepare not from the primary of the view', () => {
    const { ctx, replica } = makeReplica('r1');
    deliver(replica, prePrepare(0, 1, [request('c0', 1)], 'r2'));
    expect(ctx.sent('PREPARE')).toHaveLength(0);
    expect(replica.rejected.get('not-from-primary')).toBe(1);
  });

  it('rejects a pre-prepare of another view', () => {
    const { ctx, replica } = makeReplica('r1');
    deliver(replica, prePrepare(1, 1, [request('c0', 1)]));
    expect(ctx.sent('PREPARE')).toHaveLength(0);
  });

  it('rejects sequence numbers outside the watermarks h < s ≤ h + L', () => {
    const { ctx, replica } = makeReplica('r1', { watermarkWindow: 4, checkpointInterval: 2 });
    deliver(replica, prePrepare(0, 0, [request('c0', 1)]));
    deliver(replica, prePrepare(0, 5, [request('c0', 2)]));
    expect(ctx.sent('PREPARE')).toHaveLength(0);
    deliver(replica, prePrepare(0, 4, [request('c0', 3)]));
    expect(ctx.sent('PREPARE')).toHaveLength(1);
  });

  it('rejects a batch that does not match its digest, and complains about the primary', () => {
    const { ctx, replica } = makeReplica('r1');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    const bad = signed('r0', 'PRE-PREPARE', { ...pp.body, digest: digestOf(['other']) });
    deliver(replica, bad);
    expect(ctx.sent('PREPARE')).toHaveLength(0);
    expect(ctx.sent('VIEW-CHANGE')).toHaveLength(1);
  });

  it('holds batches to the application weight: the primary cuts within it, a backup refuses more', () => {
    // Each command weighs 2, a batch at most 3: one request per batch.
    const heavy = { ...kvApp, weight: () => 2, maxBatchWeight: 3 };
    const backup = makeReplica('r1', { app: heavy, batchSize: 4 });
    deliver(backup.replica, prePrepare(0, 1, [request('c0', 1), request('c1', 1)]));
    expect(backup.ctx.sent('PREPARE')).toHaveLength(0);
    expect(backup.replica.rejected.get('batch-too-heavy')).toBe(1);
    expect(backup.ctx.sent('VIEW-CHANGE')).toHaveLength(1);
    const light = makeReplica('r1', { app: heavy, batchSize: 4 });
    deliver(light.replica, prePrepare(0, 1, [request('c0', 1)]));
    expect(light.ctx.sent('PREPARE')).toHaveLength(1);

    const primary = makeReplica('r0', { app: heavy, batchSize: 4, batchTimeoutMs: 5 });
    deliver(primary.replica, request('c0', 1));
    deliver(primary.replica, request('c1', 1));
    primary.replica.onTimer('batch');
    const proposals = primary.ctx.sent('PRE-PREPARE');
    expect(proposals.map((m) => bodyOf<{ batch: unknown[] }>(m).batch.length)).toEqual([1, 1]);
  });

  it('verifies every client signature inside the batch, and rejects a forged request', () => {
    const { ctx, replica } = makeReplica('r1');
    const fake = forged('c0', 'REQUEST', {
      client: 'c0',
      timestamp: 1,
      command: { op: 'put', key: 'k0', value: 'evil' },
    }) as RequestEnvelope;
    deliver(replica, prePrepare(0, 1, [request('c1', 1), fake]));
    expect(ctx.sent('PREPARE')).toHaveLength(0);
    expect(replica.rejected.get('bad-signature')).toBe(1);
    expect(ctx.sent('VIEW-CHANGE')).toHaveLength(1);
  });

  it('rejects a request relayed under another client name', () => {
    const { ctx, replica } = makeReplica('r1');
    const relayed = signed('c1', 'REQUEST', {
      client: 'c0',
      timestamp: 1,
      command: { op: 'get', key: 'k0' },
    }) as RequestEnvelope;
    deliver(replica, prePrepare(0, 1, [relayed]));
    expect(ctx.sent('PREPARE')).toHaveLength(0);
  });

  it('rejects malformed bodies before they reach the protocol logic', () => {
    const { ctx, replica } = makeReplica('r1');
    deliver(replica, signed('r0', 'PRE-PREPARE', { view: 0, seq: 1, digest: 'xyz', batch: [] }));
    deliver(replica, signed('r0', 'WHATEVER', {}));
    expect(ctx.sent()).toHaveLength(0);
    expect(replica.rejected.get('bad-shape')).toBe(1);
    expect(replica.rejected.get('unknown-kind')).toBe(1);
  });
});

describe('prepared and committed-local with q = 3 (n = 4, f = 1)', () => {
  it('prepared needs the pre-prepare and q−1 matching prepares from distinct backups', () => {
    const { ctx, replica } = makeReplica('r1');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    deliver(replica, pp);
    const d = pp.body.digest;
    // a prepare from the primary and a mismatching one do not count
    deliver(replica, prepare('r0', 0, 1, d));
    deliver(replica, prepare('r3', 0, 1, NULL_DIGEST));
    expect(ctx.sent('COMMIT')).toHaveLength(0);
    deliver(replica, prepare('r2', 0, 1, d)); // own + r2 = q−1
    expect(ctx.sent('COMMIT')).toHaveLength(1);
    expect(ctx.sent('COMMIT')[0]?.body).toEqual({ view: 0, seq: 1, digest: d });
  });

  it('committed-local needs q matching commits, own included; then it executes and replies', () => {
    const { ctx, replica } = makeReplica('r1');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    deliver(replica, pp);
    const d = pp.body.digest;
    deliver(replica, prepare('r2', 0, 1, d));
    deliver(replica, commit('r2', 0, 1, d));
    deliver(replica, commit('r3', 0, 1, NULL_DIGEST));
    expect(notes(ctx, 'commit')).toHaveLength(0);
    deliver(replica, commit('r0', 0, 1, d)); // own + r2 + r0 = q
    expect(notes(ctx, 'commit')).toEqual([{ view: 0, seq: 1, digest: d }]);
    expect(notes(ctx, 'execute')).toEqual([{ seq: 1, digest: d, requests: [['c0', 1]] }]);
    const reply = ctx.effects.find((e) => e.type === 'send' && e.message.kind === 'REPLY');
    expect(reply).toMatchObject({
      to: 'c0',
      message: {
        body: { view: 0, timestamp: 1, client: 'c0', replica: 'r1', result: { ok: true } },
      },
    });
    expect(readKey(replica, 'k0')).toBe('c0.1');
  });

  it('the primary proposes a batch and commits with the backups', () => {
    const { ctx, replica } = makeReplica('r0', { batchSize: 2, batchTimeoutMs: 10 });
    deliver(replica, request('c0', 1));
    expect(ctx.sent('PRE-PREPARE')).toHaveLength(0); // batch not full yet: timer
    expect(ctx.timers.has('batch')).toBe(true);
    deliver(replica, request('c1', 1));
    const [pp] = ctx.sent('PRE-PREPARE');
    expect(bodyOf<{ batch: unknown[] }>(pp).batch).toHaveLength(2);
    const d = bodyOf<{ digest: string }>(pp).digest;
    deliver(replica, prepare('r1', 0, 1, d));
    deliver(replica, prepare('r2', 0, 1, d));
    expect(ctx.sent('COMMIT')).toHaveLength(1);
    deliver(replica, commit('r1', 0, 1, d));
    deliver(replica, commit('r2', 0, 1, d));
    expect(notes(ctx, 'execute')).toHaveLength(1);
  });

  it('the batch timer cuts a partial batch', () => {
    const { ctx, replica } = makeReplica('r0', { batchSize: 4, batchTimeoutMs: 10 });
    deliver(replica, request('c0', 1));
    expect(ctx.sent('PRE-PREPARE')).toHaveLength(0);
    replica.onTimer('batch');
    expect(ctx.sent('PRE-PREPARE')).toHaveLength(1);
  });
});

describe('execution order', () => {
  it('executes strictly in sequence order: a gap holds back later batches', () => {
    const { ctx, replica } = makeReplica('r1');
    commitSlot(replica, 0, 2, [request('c1', 1)]);
    expect(notes(ctx, 'commit')).toHaveLength(1);
    expect(notes(ctx, 'execute')).toHaveLength(0);
    commitSlot(replica, 0, 1, [request('c0', 1)]);
    expect(notes(ctx, 'execute').map((e) => (e as { seq: number }).seq)).toEqual([1, 2]);
  });
});

describe('exactly-once', () => {
  it('a duplicate request gets the cached reply and is not executed again', () => {
    const { ctx, replica } = makeReplica('r1');
    const req = request('c0', 1, { op: 'cas', key: 'k1', from: null, to: 'x' });
    commitSlot(replica, 0, 1, [req]);
    ctx.drain();
    deliver(replica, req); // retransmission
    const replies = ctx.sent('REPLY');
    expect(replies).toHaveLength(1);
    expect(replies[0]?.body).toMatchObject({ timestamp: 1, result: { ok: true, value: 'x' } });
    // the same request ordered again (e.g. proposed twice) is not applied twice
    commitSlot(replica, 0, 2, [req]);
    expect(notes(ctx, 'execute')).toEqual([
      { seq: 2, digest: digestOf([req] as unknown as Json), requests: [] },
    ]);
    expect(readKey(replica, 'k1')).toBe('x');
  });

  it('an older request than the last executed one is ignored', () => {
    const { ctx, replica } = makeReplica('r1');
    commitSlot(replica, 0, 1, [request('c0', 2)]);
    ctx.drain();
    deliver(replica, request('c0', 1));
    expect(ctx.sent()).toHaveLength(0);
  });
});

describe('checkpoints and garbage collection', () => {
  it('every K a CHECKPOINT; q matching ones make it stable, move h and discard the log', () => {
    const { ctx, replica } = makeReplica('r1', { checkpointInterval: 2, watermarkWindow: 4 });
    commitSlot(replica, 0, 1, [request('c0', 1)]);
    commitSlot(replica, 0, 2, [request('c1', 1)]);
    deliver(replica, prePrepare(0, 3, [request('c0', 2)]));
    const [cp] = ctx.sent('CHECKPOINT');
    expect(cp?.body).toMatchObject({ seq: 2 });
    const stateDigest = bodyOf<{ stateDigest: string }>(cp).stateDigest;
    expect(replica.lowWatermark).toBe(0);
    expect(replica.logSize).toBe(3);
    deliver(replica, checkpoint('r2', 2, stateDigest));
    expect(replica.lowWatermark).toBe(0); // 2 of q = 3
    deliver(replica, checkpoint('r3', 2, stateDigest));
    expect(replica.lowWatermark).toBe(2);
    expect(replica.logSize).toBe(1); // only seq 3 is left
    // the persisted votes at or below the stable checkpoint are deleted
    expect(
      [...ctx.stored.keys()].filter((k) => /^(vote|cert)\/(prepare|commit|cp|\d)/.test(k)),
    ).toEqual(['vote/prepare/0/3']);
    // the window moved: h < s ≤ h + L = 6
    ctx.drain();
    deliver(replica, prePrepare(0, 6, [request('c1', 2)]));
    expect(ctx.sent('PREPARE')).toHaveLength(1);
  });

  it('checkpoints that disagree are not counted together', () => {
    const { ctx, replica } = makeReplica('r1', { checkpointInterval: 1, watermarkWindow: 4 });
    commitSlot(replica, 0, 1, [request('c0', 1)]);
    const [cp] = ctx.sent('CHECKPOINT');
    const stateDigest = bodyOf<{ stateDigest: string }>(cp).stateDigest;
    deliver(replica, checkpoint('r2', 1, stateDigest));
    deliver(replica, checkpoint('r3', 1, NULL_DIGEST));
    expect(replica.lowWatermark).toBe(0);
    // r3 changing its mind is evidence
    deliver(replica, checkpoint('r3', 1, stateDigest));
    expect(notes(ctx, 'evidence')).toHaveLength(1);
    expect(replica.lowWatermark).toBe(0);
  });
});

describe('evidence', () => {
  it('two pre-prepares for (v, s) with different digests are evidence, and a complaint', () => {
    const { ctx, replica } = makeReplica('r2');
    const a = prePrepare(0, 1, [request('c0', 1)]);
    const b = prePrepare(0, 1, [request('c1', 1)]);
    deliver(replica, a);
    deliver(replica, b);
    const [evidence] = notes(ctx, 'evidence');
    expect(evidence).toMatchObject({ kind: 'equivocation', replica: 'r0' });
    const verify = (m: Envelope) => ctx.verify(m);
    expect(checkEvidence(evidence, verify)).toBe(true);
    // a complaint about the primary: our VIEW-CHANGE for view 1
    const [vc] = ctx.sent('VIEW-CHANGE');
    expect(vc?.body).toMatchObject({ newView: 1 });
    expect(ctx.sent('PREPARE')).toHaveLength(1); // only for the first
    // and the proof goes to the others, once
    const forwarded = ctx.sent('EVIDENCE');
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]?.body).toEqual({ a, b });
    deliver(replica, prePrepare(0, 1, [request('c2', 1)]));
    expect(ctx.sent('EVIDENCE')).toHaveLength(1);
  });

  it('a replica handed the proof complains at once and records it', () => {
    const { ctx, replica } = makeReplica('r1');
    const a = prePrepare(0, 1, [request('c0', 1)]);
    const b = prePrepare(0, 1, [request('c1', 1)]);
    deliver(replica, a);
    deliver(replica, signed('r2', 'EVIDENCE', { a, b }));
    const [evidence] = notes(ctx, 'evidence');
    expect(evidence).toMatchObject({ kind: 'equivocation', replica: 'r0', a, b });
    expect(bodyOf<{ newView: number }>(ctx.sent('VIEW-CHANGE')[0]).newView).toBe(1);
  });

  it('forged or harmless EVIDENCE moves nobody', () => {
    const a = prePrepare(0, 1, [request('c0', 1)]);
    const b = prePrepare(0, 1, [request('c1', 1)]);
    const cases: [string, Json][] = [
      ['b not signed by the primary', { a, b: { ...b, sig: 'sig:mallory' } }],
      ['the same proposal twice', { a, b: a }],
      ['two slots', { a, b: prePrepare(0, 2, [request('c1', 1)]) }],
      [
        'not the primary',
        { a: prePrepare(0, 1, [request('c0', 1)], 'r3'), b: prePrepare(0, 1, [], 'r3') },
      ],
    ];
    for (const [why, body] of cases) {
      const { ctx, replica } = makeReplica('r1');
      deliver(replica, signed('r2', 'EVIDENCE', body));
      expect(notes(ctx, 'evidence'), why).toHaveLength(0);
      expect(ctx.sent('VIEW-CHANGE'), why).toHaveLength(0);
    }
  });

  it('checkEvidence refuses forgeries and non-conflicts', () => {
    const verify = (m: Envelope) => m.sig === `sig:${m.from}`;
    const a = prePrepare(0, 1, [request('c0', 1)]);
    const b = prePrepare(0, 1, [request('c1', 1)]);
    expect(checkEvidence({ kind: 'equivocation', replica: 'r0', a, b }, verify)).toBe(true);
    expect(checkEvidence({ kind: 'equivocation', replica: 'r0', a, b: a }, verify)).toBe(false);
    const other = prePrepare(0, 2, [request('c1', 1)]);
    expect(checkEvidence({ kind: 'equivocation', replica: 'r0', a, b: other }, verify)).toBe(false);
    const fake = { ...b, sig: 'sig:mallory' };
    expect(checkEvidence({ kind: 'equivocation', replica: 'r0', a, b: fake }, verify)).toBe(false);
    expect(checkEvidence({ kind: 'equivocation', replica: 'r1', a, b }, verify)).toBe(false);
    const p1 = prepare('r3', 0, 1, a.body.digest);
    const p2 = prepare('r3', 0, 1, b.body.digest);
    expect(checkEvidence({ kind: 'equivocation', replica: 'r3', a: p1, b: p2 }, verify)).toBe(true);
    expect(checkEvidence(null, verify)).toBe(false);
  });

  it('two different PREPAREs of one backup for one slot are kept as evidence', () => {
    const { ctx, replica } = makeReplica('r1');
    deliver(replica, prePrepare(0, 1, [request('c0', 1)]));
    deliver(replica, prepare('r3', 0, 1, NULL_DIGEST));
    deliver(replica, prepare('r3', 0, 1, digestOf(['x'])));
    expect(notes(ctx, 'evidence')).toHaveLength(1);
    expect(ctx.sent('VIEW-CHANGE')).toHaveLength(0); // r3 is not the primary
  });

  it('two different VIEW-CHANGEs of one replica for one view are evidence', () => {
    const { ctx, replica } = makeReplica('r2');
    deliver(replica, viewChange('r3', 1));
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    deliver(replica, viewChange('r3', 1, [preparedCert(pp)]));
    const [evidence] = notes(ctx, 'evidence');
    expect(evidence).toMatchObject({ kind: 'equivocation', replica: 'r3' });
    expect(checkEvidence(evidence, (m) => m.sig === `sig:${m.from}`)).toBe(true);
  });
});

describe('evidence of a new primary', () => {
  it('two different NEW-VIEWs for one view are evidence, and a complaint', () => {
    const { ctx, replica } = makeReplica('r2');
    const nv1 = newView(1, [viewChange('r0', 1), viewChange('r1', 1), viewChange('r3', 1)], []);
    const nv2 = newView(1, [viewChange('r0', 1), viewChange('r1', 1), viewChange('r2', 1)], []);
    deliver(replica, nv1);
    expect(replica.currentView).toBe(1);
    deliver(replica, nv2);
    const [evidence] = notes(ctx, 'evidence');
    expect(evidence).toMatchObject({ kind: 'equivocation', replica: 'r1' });
    expect(checkEvidence(evidence, (m) => ctx.verify(m))).toBe(true);
    expect(bodyOf<{ newView: number }>(ctx.sent('VIEW-CHANGE')[0]).newView).toBe(2);
  });
});

describe('persist before send', () => {
  it('every signed vote is persisted before it is sent', () => {
    const { ctx, replica } = makeReplica('r1', { checkpointInterval: 1 });
    commitSlot(replica, 0, 1, [request('c0', 1)]);
    replica.onTimer('request'); // nothing pending: no complaint
    deliver(replica, request('c1', 1));
    replica.onTimer('request');
    const votes = ['PREPARE', 'COMMIT', 'CHECKPOINT', 'VIEW-CHANGE'];
    const sends = ctx.effects.flatMap((e, i) =>
      e.type === 'broadcast' && votes.includes(e.message.kind) ? [{ i, message: e.message }] : [],
    );
    expect(sends.map((s) => s.message.kind).sort()).toEqual(votes.sort());
    for (const { i, message } of sends) {
      const persistedAt = ctx.effects.findIndex(
        (e) => e.type === 'persist' && JSON.stringify(e.value) === JSON.stringify(message),
      );
      expect(persistedAt, message.kind).toBeGreaterThanOrEqual(0);
      expect(persistedAt, message.kind).toBeLessThan(i);
    }
    // the prepared certificate is persisted with the COMMIT, so a VIEW-CHANGE survives a crash
    expect([...ctx.stored.keys()]).toContain('cert/0/1');
  });
});

describe('view change', () => {
  it('a backup complains (VIEW-CHANGE for v+1) when a request waits too long', () => {
    const { ctx, replica } = makeReplica('r1');
    deliver(replica, request('c0', 1));
    expect(ctx.timers.has('request')).toBe(true);
    replica.onTimer('request');
    const [vc] = ctx.sent('VIEW-CHANGE');
    expect(vc?.body).toEqual({ newView: 1, stableSeq: 0, checkpointProof: [], prepared: [] });
    expect(replica.inViewChange).toBe(true);
    // it stops accepting messages of view 0
    ctx.drain();
    deliver(replica, prePrepare(0, 1, [request('c0', 1)]));
    expect(ctx.sent('PREPARE')).toHaveLength(0);
  });

  it('its VIEW-CHANGE carries the prepared certificates above the stable checkpoint', () => {
    const { ctx, replica } = makeReplica('r1');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    deliver(replica, pp);
    deliver(replica, prepare('r2', 0, 1, pp.body.digest));
    deliver(replica, request('c1', 1));
    replica.onTimer('request');
    const vc = ctx.sent('VIEW-CHANGE')[0] as unknown as ViewChangeEnvelope;
    expect(vc.body.prepared).toHaveLength(1);
    expect(vc.body.prepared[0]?.prePrepare).toEqual(pp);
    expect(vc.body.prepared[0]?.prepares.map((p) => p.from).sort()).toEqual(['r1', 'r2']);
  });

  it('joins on f+1 VIEW-CHANGEs (amplification) and trusts the new primary on q', () => {
    const { ctx, replica } = makeReplica('r2');
    deliver(replica, viewChange('r3', 1));
    expect(ctx.sent('VIEW-CHANGE')).toHaveLength(0); // f complaints alone: nothing
    expect(replica.inViewChange).toBe(false);
    deliver(replica, viewChange('r0', 1));
    expect(ctx.sent('VIEW-CHANGE')).toHaveLength(1); // f+1: joined …
    expect(replica.round).toBe(1); // … which makes q with its own: trusts r1
    expect(replica.currentView).toBe(0); // until r1's NEW-VIEW comes
    expect(replica.inViewChange).toBe(true);
    expect(ctx.timers.has('view-change')).toBe(true);
  });

  it('the new primary builds NEW-VIEW from q VIEW-CHANGEs with O recomputed from V', () => {
    const { ctx, replica } = makeReplica('r1');
    const pp = prePrepare(0, 2, [request('c0', 1)]);
    deliver(replica, viewChange('r2', 1, [preparedCert(pp)]));
    deliver(replica, viewChange('r3', 1));
    // joined at f+1; q with its own
    const [nv] = ctx.sent('NEW-VIEW');
    expect(nv).toBeDefined();
    const body = nv?.body as {
      view: number;
      prePrepares: { body: { seq: number; digest: string } }[];
    };
    expect(body.view).toBe(1);
    expect(body.prePrepares.map((p) => [p.body.seq, p.body.digest])).toEqual([
      [1, NULL_DIGEST],
      [2, pp.body.digest],
    ]);
    expect(replica.currentView).toBe(1);
    expect(notes(ctx, 'view').at(-1)).toEqual({ view: 1, primary: 'r1' });
  });

  it('a backup accepts a NEW-VIEW whose O it recomputes, and prepares O in the new view', () => {
    const { ctx, replica } = makeReplica('r2');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    const V = [viewChange('r0', 1, [preparedCert(pp)]), viewChange('r1', 1), viewChange('r3', 1)];
    const o = [prePrepare(1, 1, pp.body.batch, 'r1')];
    deliver(replica, newView(1, V, o));
    expect(replica.currentView).toBe(1);
    expect(replica.round).toBe(1);
    expect(ctx.sent('PREPARE').map((p) => p.body)).toEqual([
      { view: 1, seq: 1, digest: pp.body.digest },
    ]);
  });

  it('rejects a NEW-VIEW whose O does not match V, and complains about the new primary', () => {
    const { ctx, replica } = makeReplica('r2');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    const V = [viewChange('r0', 1, [preparedCert(pp)]), viewChange('r1', 1), viewChange('r3', 1)];
    // Byzantine r1 drops the prepared request: proposes the null request at seq 1 instead
    deliver(replica, viewChange('r0', 1, [preparedCert(pp)]));
    deliver(replica, viewChange('r3', 1)); // f+1: r2 joins
    deliver(replica, viewChange('r1', 1)); // q: trusts r1
    ctx.drain();
    deliver(replica, newView(1, V, [prePrepare(1, 1, [], 'r1')]));
    expect(replica.currentView).toBe(0);
    expect(replica.rejected.get('new-view-mismatch')).toBe(1);
    const [vc] = ctx.sent('VIEW-CHANGE');
    expect(vc?.body).toMatchObject({ newView: 2 });
  });

  it('rejects a NEW-VIEW with a forged or short V', () => {
    const { replica } = makeReplica('r2');
    const V = [
      viewChange('r0', 1),
      viewChange('r1', 1),
      forged('r3', 'VIEW-CHANGE', {
        newView: 1,
        stableSeq: 0,
        checkpointProof: [],
        prepared: [],
      }) as unknown as ViewChangeEnvelope,
    ];
    deliver(replica, newView(1, V, []));
    deliver(replica, newView(1, V.slice(0, 2), []));
    expect(replica.currentView).toBe(0);
    expect(replica.rejected.get('bad-signature')).toBe(1);
    expect(replica.rejected.get('too-few-votes')).toBe(1);
  });

  it('rejects a VIEW-CHANGE whose prepared certificate is short of prepares', () => {
    const { replica } = makeReplica('r2');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    const cert = preparedCert(pp);
    deliver(replica, viewChange('r3', 1, [{ ...cert, prepares: cert.prepares.slice(0, 1) }]));
    expect(replica.rejected.get('too-few-votes')).toBe(1);
  });

  it('unsafeSkipNewViewCheck accepts the bad O (the deliberately unsafe variant)', () => {
    const { replica } = makeReplica('r2', { unsafeSkipNewViewCheck: true });
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    const V = [viewChange('r0', 1, [preparedCert(pp)]), viewChange('r1', 1), viewChange('r3', 1)];
    deliver(replica, newView(1, V, [prePrepare(1, 1, [], 'r1')]));
    expect(replica.currentView).toBe(1);
  });

  it('when NEW-VIEW does not come in time, complains about the new primary too (doubling)', () => {
    const { ctx, replica } = makeReplica('r3');
    for (const r of ['r0', 'r1', 'r2']) deliver(replica, viewChange(r, 1));
    expect(replica.round).toBe(1);
    const first = ctx.effects.findLast((e) => e.type === 'setTimer' && e.name === 'view-change');
    expect(first).toMatchObject({ delayMs: 1000 }); // base 500, one round without progress
    replica.onTimer('view-change');
    const vcs = ctx.sent('VIEW-CHANGE').map((m) => (m.body as { newView: number }).newView);
    expect(vcs).toEqual([1, 2]);
    for (const r of ['r0', 'r1', 'r2']) deliver(replica, viewChange(r, 2));
    expect(replica.round).toBe(2);
    const second = ctx.effects.findLast((e) => e.type === 'setTimer' && e.name === 'view-change');
    expect(second).toMatchObject({ delayMs: 2000 });
  });
});

describe('recovery', () => {
  it('a restarted replica never signs a different digest for a slot it voted on', () => {
    const first = makeReplica('r1');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    deliver(first.replica, pp);
    expect(first.ctx.sent('PREPARE')).toHaveLength(1);
    // crash, restart with what was persisted
    const again = makeReplica('r1', {}, new Map(first.ctx.stored));
    expect(again.ctx.sent('FETCH-STATE')).toHaveLength(1); // catches up by state transfer
    const other = prePrepare(0, 1, [request('c1', 1)]);
    deliver(again.replica, other);
    expect(again.ctx.sent('PREPARE')).toHaveLength(0);
    expect(again.replica.rejected.get('contradicts-own-vote')).toBe(1);
    // the same pre-prepare gets the very same vote again
    deliver(again.replica, pp);
    expect(again.ctx.sent('PREPARE')).toEqual(first.ctx.sent('PREPARE'));
  });

  it('a restarted primary goes on after the sequence numbers it already assigned', () => {
    const first = makeReplica('r0');
    deliver(first.replica, request('c0', 1));
    expect(bodyOf<{ seq: number }>(first.ctx.sent('PRE-PREPARE')[0]).seq).toBe(1);
    const again = makeReplica('r0', {}, new Map(first.ctx.stored));
    deliver(again.replica, request('c1', 1));
    expect(bodyOf<{ seq: number }>(again.ctx.sent('PRE-PREPARE')[0]).seq).toBe(2);
  });

  it('a restarted replica keeps its VIEW-CHANGE and its prepared certificates', () => {
    const first = makeReplica('r2');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    deliver(first.replica, pp);
    deliver(first.replica, prepare('r1', 0, 1, pp.body.digest));
    deliver(first.replica, request('c1', 1));
    first.replica.onTimer('request');
    const [vc] = first.ctx.sent('VIEW-CHANGE');
    const again = makeReplica('r2', {}, new Map(first.ctx.stored));
    expect(again.ctx.sent('VIEW-CHANGE')).toEqual([vc]);
    expect(again.replica.inViewChange).toBe(true);
    // a new complaint (a later round) still reports the certificate
    for (const r of ['r0', 'r1', 'r3']) deliver(again.replica, viewChange(r, 1));
    expect(again.replica.round).toBe(1);
    again.replica.onTimer('view-change');
    const later = again.ctx.sent('VIEW-CHANGE').at(-1) as unknown as ViewChangeEnvelope;
    expect(later.body.newView).toBe(2);
    expect(later.body.prepared.map((c) => c.prePrepare)).toEqual([pp]);
  });
});

describe('state transfer', () => {
  function snapshotAfter(requests: RequestEnvelope[]) {
    const app = kvApp.create(null as never);
    const sessions = new SessionTable<Json>();
    const results = app.executeBatch(
      requests.map((r) => ({ client: r.body.client, command: r.body.command })),
      0,
      1,
    );
    requests.forEach((r, i) => {
      sessions.record(r.body.client, r.body.timestamp, results[i] ?? null);
    });
    const snapshot = takeSnapshot(app, sessions);
    return { snapshot, stateDigest: digestOf(snapshot as unknown as Json) };
  }

  it('installs a checkpoint with q signatures, then batches with commit certificates', () => {
    const { ctx, replica } = makeReplica('r3', { checkpointInterval: 2 });
    const reqs = [request('c0', 1), request('c1', 1)];
    const { snapshot, stateDigest } = snapshotAfter(reqs);
    const proof = ['r0', 'r1', 'r2'].map((r) => checkpoint(r, 2, stateDigest));
    const pp3 = prePrepare(0, 3, [request('c0', 2, { op: 'get', key: 'k0' })]);
    const commits = ['r0', 'r1', 'r2'].map((r) => commit(r, 0, 3, pp3.body.digest));
    deliver(
      replica,
      signed('r0', 'STATE', {
        checkpoint: { seq: 2, stateDigest, proof, snapshot },
        batches: [{ prePrepare: pp3, commits }],
        newView: null,
      } as unknown as Json),
    );
    expect(notes(ctx, 'state')).toEqual([{ seq: 2, stateDigest }]);
    expect(replica.lowWatermark).toBe(2);
    expect(replica.executed).toBe(3);
    expect(readKey(replica, 'k0')).toBe('c1.1');
    expect(ctx.sent('REPLY')).toHaveLength(1); // to c0 for its get
  });

  it('refuses a checkpoint without q valid signatures, or a snapshot with another digest', () => {
    const { replica } = makeReplica('r3', { checkpointInterval: 2 });
    const { snapshot, stateDigest } = snapshotAfter([request('c0', 1), request('c1', 1)]);
    const short = ['r0', 'r1'].map((r) => checkpoint(r, 2, stateDigest));
    const forgedProof = [...short, { ...checkpoint('r2', 2, stateDigest), sig: 'sig:mallory' }];
    const send = (body: Json) => deliver(replica, signed('r0', 'STATE', body));
    send({
      checkpoint: { seq: 2, stateDigest, proof: short, snapshot },
      batches: [],
      newView: null,
    } as unknown as Json);
    send({
      checkpoint: { seq: 2, stateDigest, proof: forgedProof, snapshot },
      batches: [],
      newView: null,
    } as unknown as Json);
    const full = [...short, checkpoint('r2', 2, stateDigest)];
    const other = { app: [['k0', 'evil']], sessions: [] };
    send({
      checkpoint: { seq: 2, stateDigest, proof: full, snapshot: other },
      batches: [],
      newView: null,
    } as unknown as Json);
    expect(replica.executed).toBe(0);
    expect(replica.rejected.get('too-few-votes')).toBe(1);
    expect(replica.rejected.get('bad-signature')).toBe(1);
    expect(replica.rejected.get('snapshot-mismatch')).toBe(1);
  });

  it('refuses a batch whose commit certificate is short', () => {
    const { replica } = makeReplica('r3');
    const pp = prePrepare(0, 1, [request('c0', 1)]);
    const commits = ['r0', 'r1'].map((r) => commit(r, 0, 1, pp.body.digest));
    deliver(
      replica,
      signed('r0', 'STATE', {
        checkpoint: null,
        batches: [{ prePrepare: pp, commits }],
        newView: null,
      } as unknown as Json),
    );
    expect(replica.executed).toBe(0);
  });

  it('serves a lagging replica its stable checkpoint and the committed batches after it', () => {
    const { ctx, replica } = makeReplica('r1', { checkpointInterval: 1 });
    const pp = commitSlot(replica, 0, 1, [request('c0', 1)]);
    const [cp] = ctx.sent('CHECKPOINT');
    const stateDigest = bodyOf<{ stateDigest: string }>(cp).stateDigest;
    deliver(replica, checkpoint('r2', 1, stateDigest));
    deliver(replica, checkpoint('r3', 1, stateDigest));
    commitSlot(replica, 0, 2, [request('c1', 1)]);
    ctx.drain();
    deliver(replica, signed('r3', 'FETCH-STATE', { lastExecuted: 0, view: 0 }));
    const [state] = ctx.sent('STATE');
    const body = state?.body as { checkpoint: { seq: number }; batches: unknown[] };
    expect(body.checkpoint.seq).toBe(1);
    expect(body.batches).toHaveLength(1);
    // and a second replica can install it
    const lagging = makeReplica('r3', { checkpointInterval: 1 });
    deliver(lagging.replica, state as Envelope);
    expect(lagging.replica.executed).toBe(2);
    expect(readKey(lagging.replica, 'k0')).toBe('c1.1');
    expect(notes(lagging.ctx, 'commit')).toEqual([{ view: 0, seq: 2, digest: expect.any(String) }]);
    void pp;
  });
});
