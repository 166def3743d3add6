import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE } from '../../src/core/data-dir.js';
import { InputError } from '../../src/core/errors.js';
import type { Json } from '../../src/crypto/json.js';
import { MemoryStore, SqliteStore } from '../../src/node/storage.js';

const id = { cluster: 'test-cluster', node: 'n0' };
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bftkit-store-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('SqliteStore', () => {
  it('creates its directory 0700 and its database 0600; a new store recovers null', () => {
    const dir = join(tempDir(), 'data', 'n0');
    const store = new SqliteStore(dir, id);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, DB_FILE)).mode & 0o777).toBe(0o600);
    expect(store.recovered).toBeNull();
    expect(store.starts).toBe(1);
    store.close();
  });

  it('recovers exactly what was persisted, with a larger incarnation on every start', () => {
    const dir = join(tempDir(), 'n0');
    const first = new SqliteStore(dir, id);
    first.persist([
      ['term', 3],
      ['votedFor', 'n2'],
      ['log', [{ term: 1, cmd: { op: 'put', key: 'k', value: 'v' } }]],
      ['gone', true],
    ]);
    first.persist([
      ['gone', null],
      ['term', 4],
    ]);
    first.close();

    const second = new SqliteStore(dir, id);
    expect(second.starts).toBe(2);
    expect(second.incarnation).toBeGreaterThan(first.incarnation);
    expect(second.recovered).toEqual(
      new Map<string, unknown>([
        ['term', 4],
        ['votedFor', 'n2'],
        ['log', [{ term: 1, cmd: { op: 'put', key: 'k', value: 'v' } }]],
      ]),
    );
    second.close();

    // A start that persisted nothing still recovers (an empty map, not null).
    const empty = join(tempDir(), 'n0');
    new SqliteStore(empty, id).close();
    const again = new SqliteStore(empty, id);
    expect(again.recovered).toEqual(new Map());
    expect(again.starts).toBe(2);
    again.close();
  });

  it('a batch is one transaction: a failing write leaves none of the batch behind', () => {
    const dir = join(tempDir(), 'n0');
    const store = new SqliteStore(dir, id);
    store.persist([['a', 1]]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const notJson = cyclic as unknown as Json;
    expect(() =>
      store.persist([
        ['a', 2],
        ['b', notJson],
      ]),
    ).toThrow();
    store.close();
    const reopened = new SqliteStore(dir, id);
    expect(reopened.recovered).toEqual(new Map([['a', 1]]));
    reopened.close();
  });

  it("refuses another node's or cluster's data directory, and one others can read", () => {
    const dir = join(tempDir(), 'n0');
    new SqliteStore(dir, id).close();
    expect(() => new SqliteStore(dir, { ...id, node: 'n1' })).toThrow(/belongs to node "n0"/);
    expect(() => new SqliteStore(dir, { ...id, cluster: 'other' })).toThrow(InputError);
    const open = join(tempDir(), 'open');
    mkdirSync(open);
    chmodSync(open, 0o755);
    expect(() => new SqliteStore(open, id)).toThrow(/chmod 700/);
  });
});

describe('MemoryStore', () => {
  it('gives every instance a larger incarnation and recovers nothing', () => {
    const a = new MemoryStore();
    const b = new MemoryStore();
    expect(b.incarnation).toBeGreaterThan(a.incarnation);
    expect(a.recovered).toBeNull();
    a.persist([['x', 1]]);
    expect(a.data.get('x')).toBe(1);
  });
});
