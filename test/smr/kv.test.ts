/**
 * The replicated key-value store (src/smr/kv.ts) and the client sessions that make it
 * exactly-once (src/smr/sessions.ts): what each operation returns, that snapshots are
 * canonical, and that a retried request is answered from the session table.
 */
import { describe, expect, it } from 'vitest';
import { commandWeight, fitsOneBatch } from '../../src/smr/app.js';
import { KvStore, kvApp, kvCommandSchema } from '../../src/smr/kv.js';
import { SessionTable } from '../../src/smr/sessions.js';

describe('KvStore', () => {
  it('get, put and compare-and-swap return what the seeds say', () => {
    const kv = new KvStore();
    expect(kv.apply({ op: 'get', key: 'x' })).toEqual({ ok: true, value: null });
    expect(kv.apply({ op: 'cas', key: 'x', from: null, to: 'a' })).toEqual({
      ok: true,
      value: 'a',
    });
    expect(kv.apply({ op: 'cas', key: 'x', from: null, to: 'b' })).toEqual({
      ok: false,
      value: 'a',
    });
    expect(kv.apply({ op: 'put', key: 'x', value: 'c' })).toEqual({ ok: true, value: 'c' });
    expect(kv.apply({ op: 'cas', key: 'x', from: 'c', to: 'd' })).toEqual({ ok: true, value: 'd' });
    expect(kv.apply({ op: 'get', key: 'x' })).toEqual({ ok: true, value: 'd' });
  });

  it('equal states have equal snapshots, whatever order the keys were written in', () => {
    const a = new KvStore();
    const b = new KvStore();
    a.apply({ op: 'put', key: 'k1', value: '1' });
    a.apply({ op: 'put', key: 'k0', value: '0' });
    b.apply({ op: 'put', key: 'k0', value: '0' });
    b.apply({ op: 'put', key: 'k1', value: '1' });
    expect(a.snapshot()).toEqual([
      ['k0', '0'],
      ['k1', '1'],
    ]);
    expect(b.snapshot()).toEqual(a.snapshot());
    const restored = KvStore.restore(a.snapshot());
    expect(restored.size).toBe(2);
    expect(restored.apply({ op: 'get', key: 'k1' })).toEqual({ ok: true, value: '1' });
  });

  it('refuses a snapshot or a command of the wrong shape', () => {
    expect(() => KvStore.restore([['k0', 7]])).toThrow();
    expect(kvCommandSchema.safeParse({ op: 'put', key: '', value: 'v' }).success).toBe(false);
    expect(kvCommandSchema.safeParse({ op: 'get', key: 'k', extra: 1 }).success).toBe(false);
  });

  it('as an application: one result per request of a batch, in batch order', () => {
    // The KV store uses nothing of its replica's context (the ledger does).
    const app = kvApp.create(undefined as never);
    const results = app.executeBatch(
      [
        { client: 'c0', command: { op: 'put', key: 'k', value: 'v' } },
        { client: 'c1', command: { op: 'cas', key: 'k', from: 'x', to: 'y' } },
      ],
      0,
      1,
    );
    expect(results).toEqual([
      { ok: true, value: 'v' },
      { ok: false, value: 'v' },
    ]);
    // Without a weight function every command weighs one and any batch fits.
    expect(commandWeight(kvApp, { op: 'get', key: 'k' })).toBe(1);
    expect(fitsOneBatch(kvApp, new Array(1000).fill({ op: 'get', key: 'k' }))).toBe(true);
  });
});

describe('SessionTable', () => {
  it('a new request runs; its retry gets the cached result; an older one is stale', () => {
    const sessions = new SessionTable();
    expect(sessions.check('c0', 1)).toEqual({ kind: 'new' });
    sessions.record('c0', 1, { ok: true, value: 'a' });
    expect(sessions.check('c0', 1)).toEqual({
      kind: 'duplicate',
      result: { ok: true, value: 'a' },
    });
    expect(sessions.check('c0', 2)).toEqual({ kind: 'new' });
    sessions.record('c0', 2, { ok: true, value: 'b' });
    expect(sessions.check('c0', 1)).toEqual({ kind: 'stale' });
    expect(sessions.check('c1', 1)).toEqual({ kind: 'new' });
  });

  it('its snapshot is sorted by client and restores the same verdicts', () => {
    const sessions = new SessionTable();
    sessions.record('c1', 4, 'r4');
    sessions.record('c0', 9, 'r9');
    expect(sessions.snapshot()).toEqual([
      ['c0', 9, 'r9'],
      ['c1', 4, 'r4'],
    ]);
    const restored = SessionTable.restore(sessions.snapshot());
    expect(restored.check('c0', 9)).toEqual({ kind: 'duplicate', result: 'r9' });
    expect(restored.check('c1', 3)).toEqual({ kind: 'stale' });
  });
});
