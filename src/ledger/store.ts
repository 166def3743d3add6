/**
 * Certified blocks in the node's SQLite database: the same file as src/node/storage.ts
 * (`<data>/state.db`), in tables of the ledger's own, never touching the node's `meta` / `kv`.
 *
 *   ledger_meta(key TEXT PRIMARY KEY, value TEXT)            format, cluster
 *   ledger_blocks(height INTEGER PRIMARY KEY, hash TEXT, block TEXT)
 *       block = canonical JSON of the certified block; hash = its block hash (an index for
 *       lookups — the auditor recomputes it and never trusts this column)
 *
 * Append-only: `append` takes exactly the next height whose prevHash is the stored tip's
 * hash, in one fsynced transaction (WAL, synchronous=FULL, as the node's store), and triggers
 * refuse any UPDATE or DELETE of a stored block. The store checks only that cheap link; the
 * full verification is `LedgerChain.append` before storing and `auditLedger` after.
 *
 * Node only (better-sqlite3).
 */
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ClusterFile } from '../core/cluster-file.js';
import { DB_FILE } from '../core/data-dir.js';
import { InputError } from '../core/errors.js';
import { canonical } from '../crypto/canonical.js';
import type { Json } from '../crypto/json.js';
import { type AuditResult, auditLedger } from './audit.js';
import { type BlockHeader, blockHash, type CertifiedBlock } from './block.js';
import type { LedgerCrypto } from './crypto.js';
import { nodeLedgerCrypto } from './node-crypto.js';

export const LEDGER_STORE_FORMAT = 'bftkit-ledger/1';

export class LedgerStoreError extends Error {
  override name = 'LedgerStoreError';
}

/** A stored row as read back: the block parsed from JSON, or its raw text if it is not JSON. */
export interface StoredBlock {
  height: number;
  hash: string;
  block: unknown;
}

const SCHEMA =
  'CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;' +
  'CREATE TABLE IF NOT EXISTS ledger_blocks (' +
  '  height INTEGER PRIMARY KEY, hash TEXT NOT NULL, block TEXT NOT NULL) STRICT;' +
  'CREATE TRIGGER IF NOT EXISTS ledger_blocks_no_update BEFORE UPDATE ON ledger_blocks' +
  "  BEGIN SELECT RAISE(ABORT, 'ledger blocks are append-only'); END;" +
  'CREATE TRIGGER IF NOT EXISTS ledger_blocks_no_delete BEFORE DELETE ON ledger_blocks' +
  "  BEGIN SELECT RAISE(ABORT, 'ledger blocks are append-only'); END;";

export class LedgerStore {
  readonly clusterId: string;
  readonly #db: Database.Database;
  readonly #owned: boolean;
  readonly #crypto: LedgerCrypto;
  #closed = false;
  #last: { height: number; hash: string } | null | undefined = undefined;

  /**
   * Use an open database (the node's own handle is fine: separate tables). `clusterId` is
   * recorded on first use and must match afterwards.
   */
  constructor(
    db: Database.Database,
    clusterId: string,
    crypto: LedgerCrypto = nodeLedgerCrypto,
    owned = false,
  ) {
    this.#db = db;
    this.#owned = owned;
    this.#crypto = crypto;
    this.#db.exec(SCHEMA);
    const meta = this.#meta();
    const stored = meta.get('cluster');
    if (stored !== undefined && stored !== clusterId)
      throw new InputError(`this ledger belongs to cluster "${stored}", not "${clusterId}"`);
    const format = meta.get('format');
    if (format !== undefined && format !== LEDGER_STORE_FORMAT)
      throw new InputError(`unknown ledger format "${format}"`);
    if (stored === undefined) {
      const set = this.#db.prepare('INSERT INTO ledger_meta (key, value) VALUES (?, ?)');
      this.#db.transaction(() => {
        set.run('format', LEDGER_STORE_FORMAT);
        set.run('cluster', clusterId);
      })();
    }
    this.clusterId = clusterId;
  }

  /**
   * Open `<dataDir>/state.db` for appending (created 0600 in a 0700 directory if missing,
   * like the node's store).
   */
  static open(dataDir: string, clusterId: string, crypto?: LedgerCrypto): LedgerStore {
    try {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const path = join(dataDir, DB_FILE);
      closeSync(openSync(path, 'a', 0o600));
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      try {
        return new LedgerStore(db, clusterId, crypto, true);
      } catch (e) {
        db.close();
        throw e;
      }
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`cannot open the ledger in ${dataDir}: ${(e as Error).message}`);
    }
  }

  /** Open an existing ledger read-only (for `ledger verify` / `ledger prove`). */
  static openReadOnly(dataDir: string): ReadOnlyLedger {
    const path = join(dataDir, DB_FILE);
    if (!existsSync(path)) throw new InputError(`no node database at ${path}`);
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (e) {
      throw new InputError(`cannot open ${path}: ${(e as Error).message}`);
    }
    try {
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ledger_%'")
        .all() as { name: string }[];
      const names = new Set(tables.map((t) => t.name));
      if (!names.has('ledger_meta') || !names.has('ledger_blocks'))
        throw new InputError(`${path} holds no ledger`);
      const meta = metaOf(db);
      return new ReadOnlyLedger(db, meta.get('cluster') ?? '');
    } catch (e) {
      db.close();
      if (e instanceof InputError) throw e;
      throw new InputError(`cannot read ${path}: ${(e as Error).message}`);
    }
  }

  #meta(): Map<string, string> {
    return metaOf(this.#db);
  }

  /** Height of the last stored block (0: none). */
  height(): number {
    return heightOf(this.#db);
  }

  /**
   * Store the next certified block, durably. Throws LedgerStoreError unless its height is the
   * next one and its prevHash is the stored tip's hash (height 1: any — it is checked against
   * the cluster's genesis by the chain and the auditor).
   */
  append(block: CertifiedBlock): void {
    if (this.#closed) throw new LedgerStoreError('ledger store is closed');
    const hash = blockHash(this.clusterId, block.header, this.#crypto);
    const text = canonical(block as unknown as Json);
    this.#db.transaction(() => {
      const tip = this.#tip();
      const next = (tip?.height ?? 0) + 1;
      if (block.header.height !== next)
        throw new LedgerStoreError(`expected block ${next}, got ${block.header.height}`);
      if (tip !== null && block.header.prevHash !== tip.hash)
        throw new LedgerStoreError(`block ${next} does not link to stored block ${tip.height}`);
      this.#db
        .prepare('INSERT INTO ledger_blocks (height, hash, block) VALUES (?, ?, ?)')
        .run(next, hash, text);
    })();
    this.#last = { height: block.header.height, hash };
  }

  /** The stored tip: remembered after the first look (this store is the only writer). */
  #tip(): { height: number; hash: string } | null {
    if (this.#last === undefined) {
      const row = this.#db
        .prepare('SELECT height, block FROM ledger_blocks ORDER BY height DESC LIMIT 1')
        .get() as { height: number; block: string } | undefined;
      this.#last =
        row === undefined
          ? null
          : {
              height: row.height,
              hash: blockHash(
                this.clusterId,
                (JSON.parse(row.block) as { header: BlockHeader }).header,
                this.#crypto,
              ),
            };
    }
    return this.#last;
  }

  /** Every stored block in height order. */
  read(): StoredBlock[] {
    return readRows(this.#db);
  }

  /** Up to `limit` stored blocks from height `from` on, in height order. */
  range(from: number, limit: number): StoredBlock[] {
    return parseRows(
      this.#db
        .prepare(
          'SELECT height, hash, block FROM ledger_blocks WHERE height >= ? ORDER BY height LIMIT ?',
        )
        .all(from, limit) as Row[],
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) this.#db.close();
  }
}

/** A ledger opened read-only: what the offline tools use. */
export class ReadOnlyLedger {
  constructor(
    readonly db: Database.Database,
    /** The cluster the ledger says it belongs to ("" if unrecorded). */
    readonly clusterId: string,
  ) {}

  height(): number {
    return heightOf(this.db);
  }

  read(): StoredBlock[] {
    return readRows(this.db);
  }

  /** The newest `limit` blocks, newest first. */
  latest(limit: number): StoredBlock[] {
    return parseRows(
      this.db
        .prepare('SELECT height, hash, block FROM ledger_blocks ORDER BY height DESC LIMIT ?')
        .all(limit) as Row[],
    );
  }

  /** Every block, newest first, one at a time (a search that stops early reads little). */
  *newestFirst(): Generator<unknown> {
    const rows = this.db
      .prepare('SELECT height, hash, block FROM ledger_blocks ORDER BY height DESC')
      .iterate() as IterableIterator<Row>;
    for (const row of rows) yield parseRows([row])[0]?.block;
  }

  close(): void {
    this.db.close();
  }
}

interface Row {
  height: number;
  hash: string;
  block: string;
}

function metaOf(db: Database.Database): Map<string, string> {
  const rows = db.prepare('SELECT key, value FROM ledger_meta').all() as {
    key: string;
    value: string;
  }[];
  return new Map(rows.map((r) => [r.key, r.value]));
}

function heightOf(db: Database.Database): number {
  const row = db.prepare('SELECT MAX(height) AS h FROM ledger_blocks').get() as {
    h: number | null;
  };
  return row.h ?? 0;
}

function readRows(db: Database.Database): StoredBlock[] {
  return parseRows(
    db.prepare('SELECT height, hash, block FROM ledger_blocks ORDER BY height').all() as Row[],
  );
}

function parseRows(rows: readonly Row[]): StoredBlock[] {
  return rows.map((r) => {
    let block: unknown;
    try {
      block = JSON.parse(r.block);
    } catch {
      block = r.block; // not JSON any more: the auditor reports it as malformed
    }
    return { height: r.height, hash: r.hash, block };
  });
}

/**
 * `ledger verify`: the offline audit of the ledger in a node's data directory, with the public
 * keys of `file` only. Throws InputError when there is no ledger there, or it belongs to
 * another cluster (`clusterSource` names the cluster file in that message).
 */
export function auditDataDir(
  dataDir: string,
  file: ClusterFile,
  clusterSource = 'the cluster file',
): AuditResult {
  const ledger = LedgerStore.openReadOnly(dataDir);
  let rows: StoredBlock[];
  try {
    if (ledger.clusterId !== '' && ledger.clusterId !== file.clusterId)
      throw new InputError(
        `${dataDir}: the ledger belongs to cluster "${ledger.clusterId}", ${clusterSource} is "${file.clusterId}"`,
      );
    rows = ledger.read();
  } finally {
    ledger.close();
  }
  return auditLedger(
    rows.map((r) => r.block),
    file,
    nodeLedgerCrypto,
  );
}
