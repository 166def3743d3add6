/**
 * The replicated state on disk (src/pbft/durable.ts): the stable checkpoint's snapshot is
 * persisted before its CHECKPOINT is sent, every committed batch before it is executed and
 * answered, and a replica restarted with nothing but what it persisted restores the state —
 * with or without a stable checkpoint, with batches committed but not yet executed — and
 * executes each request once.
 */
import { describe, expect, it } from 'vitest';
import type { Json } from '../../src/crypto/json.js';
import type { PbftReplica } from '../../src/pbft/replica.js';
import type { FakeContext } from '../helpers/fake-context.js';
import {
  checkpoint,
  commitSlot,
  deliver,
  makeReplica,
  notes,
  prePrepare,
  request,
} from './helpers.js';

/** The stateDigest of the first CHECKPOINT `ctx` sent. */
function checkpointDigest(ctx: FakeContext): string {
  const [cp] = ctx.sent('CHECKPOINT');
  if (cp === undefined) throw new Error('no CHECKPOINT sent');
  return (cp.body as { stateDigest: string }).stateDigest;
}

function readKey(replica: PbftReplica, key: string): string | null {
  const entries = replica.appState() as [string, string][];
  return entries.find(([k]) => k === key)?.[1] ?? null;
}

const put = (key: string, value: string) => ({ op: 'put', key, value }) as const;
const cas = (key: string, from: string | null, to: string) =>
  ({ op: 'cas', key, from, to }) as const;

/** Index of the first effect matching `test` (−1: none). */
function indexOf(ctx: FakeContext, test: (e: FakeContext['effects'][number]) => boolean): number {
  return ctx.effects.findIndex(test);
}

/** The disk after a run that started on `disk`: its writes and deletes applied in order. */
function diskAfter(disk: ReadonlyMap<string, Json>, ctx: FakeContext): Map<string, Json> {
  const next = new Map(disk);
  for (const e of ctx.effects) {
    if (e.type !== 'persist') continue;
    if (e.value === null) next.delete(e.key);
    else next.set(e.key, e.value);
  }
  return next;
}

/** r1 with a checkpoint every 2: slots 1–2 committed, executed, their checkpoint stable. */
function withStableCheckpoint(options = {}) {
  const made = makeReplica('r1', { checkpointInterval: 2, ...options });
  commitSlot(made.replica, 0, 1, [request('c0', 1, put('k0', 'a'))]);
  commitSlot(made.replica, 0, 2, [request('c1', 1, put('k1', 'b'))]);
  const stateDigest = checkpointDigest(made.ctx);
  deliver(made.replica, checkpoint('r2', 2, stateDigest));
  deliver(made.replica, checkpoint('r3', 2, stateDigest));
  expect(made.replica.lowWatermark).toBe(2);
  return { ...made, stateDigest };
}

describe('durable state', () => {
  it("a checkpoint's snapshot is on disk before its CHECKPOINT leaves", () => {
    const { ctx } = withStableCheckpoint();
    const persisted = indexOf(ctx, (e) => e.type === 'persist' && e.key === 'snapshot/2');
    const sent = indexOf(ctx, (e) => e.type === 'broadcast' && e.message.kind === 'CHECKPOINT');
    expect(persisted).toBeGreaterThanOrEqual(0);
    expect(persisted).toBeLessThan(sent);
    expect(ctx.stored.get('snapshot/2')).toEqual({
      app: [
        ['k0', 'a'],
        ['k1', 'b'],
      ],
      sessions: expect.any(Array),
    });
  });

  it('a committed batch is on disk before it is executed and answered; GC removes it', () => {
    const { ctx, replica } = makeReplica('r1', { checkpointInterval: 2 });
    const pp = commitSlot(replica, 0, 1, [request('c0', 1)]);
    const persisted = indexOf(ctx, (e) => e.type === 'persist' && e.key === 'batch/1');
    const replied = indexOf(ctx, (e) => e.type === 'send' && e.message.kind === 'REPLY');
    expect(persisted).toBeGreaterThanOrEqual(0);
    expect(persisted).toBeLessThan(replied);
    expect((ctx.stored.get('batch/1') as { prePrepare: Json }).prePrepare).toEqual(pp);
    // once the checkpoint at 2 is stable, the batches up to it and older snapshots go
    commitSlot(replica, 0, 2, [request('c1', 1)]);
    const digest = checkpointDigest(ctx);
    for (const r of ['r2', 'r3']) deliver(replica, checkpoint(r, 2, digest));
    expect([...ctx.stored.keys()].filter((k) => /^(batch|snapshot)\//.test(k))).toEqual([
      'snapshot/2',
    ]);
  });

  it('without a stable checkpoint, a restart executes the committed batches again', () => {
    const first = makeReplica('r1');
    commitSlot(first.replica, 0, 1, [request('c0', 1, put('k0', 'a'))]);
    commitSlot(first.replica, 0, 2, [request('c1', 1, cas('k0', 'a', 'b'))]);
    expect(readKey(first.replica, 'k0')).toBe('b');
    const again = makeReplica('r1', {}, new Map(first.ctx.stored));
    expect(again.replica.executed).toBe(2);
    expect(readKey(again.replica, 'k0')).toBe('b');
    expect(notes(again.ctx, 'restore')).toEqual([
      { seq: 0, stateDigest: expect.any(String), batches: 2 },
    ]);
    // the clients get their replies again (same results: the cas succeeded once)
    const results = again.ctx.sent('REPLY').map((m) => (m.body as { result: Json }).result);
    expect(results).toEqual([
      { ok: true, value: 'a' },
      { ok: true, value: 'b' },
    ]);
  });

  it('with a stable checkpoint and a committed batch not yet executed, all comes back in order', () => {
    const first = withStableCheckpoint();
    commitSlot(first.replica, 0, 3, [request('c0', 2, cas('k0', 'a', 'c'))]);
    // 5 committed before 4: not executable yet when the replica crashes
    commitSlot(first.replica, 0, 5, [request('c1', 3, put('k1', 'e'))]);
    expect(first.replica.executed).toBe(3);
    const again = makeReplica('r1', { checkpointInterval: 2 }, new Map(first.ctx.stored));
    expect(again.replica.lowWatermark).toBe(2);
    expect(again.replica.executed).toBe(3);
    expect(readKey(again.replica, 'k0')).toBe('c');
    expect(readKey(again.replica, 'k1')).toBe('b');
    expect(notes(again.ctx, 'restore')).toEqual([
      { seq: 2, stateDigest: first.stateDigest, batches: 2 },
    ]);
    // 4 arrives (after the view change, say): 4 then 5 execute
    commitSlot(again.replica, 0, 4, [request('c1', 2, put('k0', 'd'))]);
    expect(again.replica.executed).toBe(5);
    expect(readKey(again.replica, 'k0')).toBe('d');
    expect(readKey(again.replica, 'k1')).toBe('e');
    // exactly once: c0's cas retransmitted gets the cached reply (run again, it would fail)
    const before = again.ctx.sent('REPLY').length;
    deliver(again.replica, request('c0', 2, cas('k0', 'a', 'c')));
    const reply = again.ctx.sent('REPLY')[before];
    expect((reply?.body as { result?: Json } | undefined)?.result).toEqual({
      ok: true,
      value: 'c',
    });
    expect(readKey(again.replica, 'k0')).toBe('d');
    // and a second crash right away restores the same state again
    const disk = diskAfter(first.ctx.stored, again.ctx);
    const third = makeReplica('r1', { checkpointInterval: 2 }, disk);
    expect(third.replica.appState()).toEqual(again.replica.appState());
    expect(third.replica.executed).toBe(5);
  });

  it('the restarted replica can serve the state to a peer (snapshot and batches)', () => {
    const first = withStableCheckpoint();
    commitSlot(first.replica, 0, 3, [request('c0', 2, put('k0', 'z'))]);
    const again = makeReplica('r1', { checkpointInterval: 2 }, new Map(first.ctx.stored));
    again.ctx.drain();
    deliver(again.replica, {
      kind: 'FETCH-STATE',
      from: 'r2',
      body: { lastExecuted: 0, view: 0 },
      sig: 'sig:r2',
    });
    const [state] = again.ctx.sent('STATE');
    const body = state?.body as { checkpoint: { seq: number } | null; batches: unknown[] };
    expect(body.checkpoint?.seq).toBe(2);
    expect(body.batches).toHaveLength(1);
  });

  it('negative control: with unsafeVolatileState the state after a restart is gone', () => {
    const first = withStableCheckpoint({ unsafeVolatileState: true });
    expect([...first.ctx.stored.keys()].some((k) => /^(batch|snapshot)\//.test(k))).toBe(false);
    const again = makeReplica(
      'r1',
      { checkpointInterval: 2, unsafeVolatileState: true },
      new Map(first.ctx.stored),
    );
    expect(again.replica.executed).toBe(2);
    expect(readKey(again.replica, 'k0')).toBe(null); // the acknowledged put is lost
    // it accepts the next batch on top of the wrong state
    deliver(again.replica, prePrepare(0, 3, [request('c0', 2, cas('k0', null, 'x'))]));
  });

  it('a corrupt store stops the replica with the key and the reason (crash-stop)', () => {
    const first = withStableCheckpoint();
    const cases: [string, Json][] = [
      ['stable', { seq: 2, stateDigest: 'not a digest', proof: [] }],
      ['vote/cp/2', { kind: 'CHECKPOINT', from: 'r1', body: { seq: -1 }, sig: 's' }],
      ['vote/pp/x/1', null],
      ['snapshot/2', { app: [], sessions: 'none' }],
    ];
    for (const [key, value] of cases) {
      const disk = new Map(first.ctx.stored);
      disk.set(key, value);
      expect(() => makeReplica('r1', { checkpointInterval: 2 }, disk)).toThrow(
        new RegExp(`^corrupt PBFT store: ${key.replaceAll('/', '\\/')}: `),
      );
    }
  });
});
