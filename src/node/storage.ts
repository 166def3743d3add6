/**
 * Durable storage for a process host: one SQLite database per node, in its data directory.
 *
 * Why SQLite through better-sqlite3: it is embedded (no server to run next to each node), its
 * API is synchronous — which is exactly the runtime's contract, "durable when persist()
 * returns", without promises racing the step that must not send before it has persisted —
 * and in WAL mode with synchronous=FULL every commit fsyncs the write-ahead log, so a
 * committed transaction survives a kill -9 or a power cut. It is also one of the most
 * carefully tested pieces of software there is.
 *
 * Schema (format bftkit-store/1):
 *   meta(key TEXT PRIMARY KEY, value TEXT)  format, cluster, node, starts, incarnation
 *   kv(key TEXT PRIMARY KEY, value TEXT)    the protocol's keys, each value as JSON text
 *
 * Durability rule: persist(writes) is ONE transaction — the group commit of everything one
 * step (or one event-loop turn of steps) persisted — and returns only after it is durable.
 * persistAsync(writes, done) is the same transaction, made durable in the background: `done`
 * runs once it is, and the runtime holds the steps' messages until then (runtime.ts).
 *
 * How a commit becomes durable. The connection runs with synchronous=OFF and
 * wal_autocheckpoint=0, and the store syncs the write-ahead log itself: COMMIT appends the
 * transaction's frames to the WAL (in the page cache), then fdatasync(WAL) — synchronously in
 * persist, on libuv's thread pool in persistAsync, so the event loop keeps working meanwhile.
 * That is exactly what synchronous=FULL does in WAL mode (sync the WAL at every commit);
 * WAL frames carry checksums, so a torn tail after a crash is ignored on recovery.
 * Checkpoints (copying the WAL into the database, then truncating it) are the store's too:
 * run with synchronous=FULL, which syncs the WAL before and the database after copying, so a
 * WAL is never cut before what it held is durable in the database — every 4 MiB of WAL and
 * on close.
 *
 * Every open counts a start and takes a new incarnation, committed before anything else
 * happens: max(previous + 1, wall-clock ms), so it is strictly increasing per data directory
 * and, because of the clock, also larger than what a peer remembers from before a wiped
 * data directory.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DB_FILE } from '../core/data-dir.js';
import { InputError } from '../core/errors.js';
import type { Recovered } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';

export const STORE_FORMAT = 'bftkit-store/1';

/** What a host needs from stable storage. */
export interface Store {
  /** Distinct and increasing for every start of this node. */
  readonly incarnation: number;
  /** How many times this store has been opened, this time included. */
  readonly starts: number;
  /** The persisted state, or null on the very first start. */
  readonly recovered: Recovered | null;
  persist(writes: ReadonlyArray<readonly [string, Json | null]>): void;
  /**
   * Optional: the same transaction, durable in the background; `done` runs once it is durable
   * (or with the error). Commits become durable in the order they were made.
   */
  persistAsync?(
    writes: ReadonlyArray<readonly [string, Json | null]>,
    done: (error: Error | null) => void,
  ): void;
  close(): void;
}

/** Checkpoint the WAL into the database once it is this large. */
const CHECKPOINT_WAL_BYTES = 4 << 20;

export interface StoreIdentity {
  cluster: string;
  node: string;
}

export class SqliteStore implements Store {
  readonly incarnation: number;
  readonly starts: number;
  readonly recovered: Recovered | null;
  readonly path: string;
  private readonly db: Database.Database;
  private readonly commit: (writes: ReadonlyArray<readonly [string, Json | null]>) => void;
  /** A descriptor of the WAL file: fdatasync on it makes every commit so far durable. */
  private readonly walFd: number;
  /** persistAsync syncs still running (the descriptor stays open until they finish). */
  private syncing = 0;
  private syncsStarted = 0;
  private readonly waiting: { seq: number; done: (error: Error | null) => void }[] = [];
  private closed = false;

  /** Open (or create, mode 0700) the data directory `dir` and its database. */
  constructor(dir: string, identity: StoreIdentity) {
    prepareDirectory(dir);
    this.path = join(dir, DB_FILE);
    this.db = openDatabase(this.path);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(
        'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;' +
          'CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;',
      );
      const { starts, incarnation } = countStart(this.db, this.path, identity);
      this.starts = starts;
      this.incarnation = incarnation;
      this.recovered = starts === 1 ? null : readKv(this.db);
      this.commit = commitTransaction(this.db);
      this.walFd = syncWalOurselves(this.db, this.path, dir);
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  /** One transaction for the whole batch; durable (fsynced) when this returns. */
  persist(writes: ReadonlyArray<readonly [string, Json | null]>): void {
    if (this.closed) throw new Error('store is closed');
    if (writes.length === 0) return;
    this.maybeCheckpoint();
    this.commit(writes);
    fdatasyncSync(this.walFd);
  }

  /** One transaction for the whole batch, synced on the thread pool; `done` once durable. */
  persistAsync(
    writes: ReadonlyArray<readonly [string, Json | null]>,
    done: (error: Error | null) => void,
  ): void {
    if (this.closed) throw new Error('store is closed');
    this.maybeCheckpoint();
    if (writes.length > 0) this.commit(writes);
    // Syncs run on the thread pool and may finish out of order; a sync that finishes makes
    // every commit made before it started durable, so callbacks are released in order.
    const seq = ++this.syncsStarted;
    this.waiting.push({ seq, done });
    this.syncing++;
    fdatasync(this.walFd, (error) => {
      this.syncing--;
      if (this.closed && this.syncing === 0) closeSync(this.walFd);
      if (error !== null) {
        for (const w of this.waiting.splice(0)) w.done(error);
        return;
      }
      while (this.waiting.length > 0 && this.waiting[0]!.seq <= seq)
        this.waiting.shift()!.done(null);
    });
  }

  /** Copy the WAL into the database (both synced) and truncate it, once it has grown. */
  private maybeCheckpoint(force = false): void {
    if (!force && fstatSync(this.walFd).size < CHECKPOINT_WAL_BYTES) return;
    this.db.pragma('synchronous = FULL');
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.pragma('synchronous = OFF');
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      // Everything committed is in the WAL; sync it, then let the final checkpoint sync the
      // database before SQLite removes the WAL.
      fdatasyncSync(this.walFd);
      this.db.pragma('synchronous = FULL');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      if (this.syncing === 0) closeSync(this.walFd);
      this.db.close();
    }
  }
}

/** For hosts that need no durability (an in-process client in a test): nothing survives. */
export class MemoryStore implements Store {
  private static last = 0;
  readonly incarnation: number;
  readonly starts = 1;
  readonly recovered = null;
  readonly data = new Map<string, Json>();

  constructor() {
    MemoryStore.last = Math.max(MemoryStore.last + 1, Date.now());
    this.incarnation = MemoryStore.last;
  }

  persist(writes: ReadonlyArray<readonly [string, Json | null]>): void {
    for (const [key, value] of writes) {
      if (value === null) this.data.delete(key);
      else this.data.set(key, value);
    }
  }

  close(): void {}
}

/** The database file, created 0600 by us: SQLite gives its -wal and -shm files the same mode. */
function openDatabase(path: string): Database.Database {
  try {
    closeSync(openSync(path, 'a', 0o600));
  } catch (e) {
    throw new InputError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  try {
    return new Database(path);
  } catch (e) {
    throw new InputError(`cannot open ${path}: ${(e as Error).message}`);
  }
}

/** Check the store is this node's, and count this start (durably, before anything else). */
function countStart(db: Database.Database, path: string, identity: StoreIdentity) {
  const rows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
  const meta = new Map(rows.map((r) => [r.key, r.value]));
  checkIdentity(path, meta, identity);
  const starts = Number(meta.get('starts') ?? '0') + 1;
  const incarnation = Math.max(Number(meta.get('incarnation') ?? '0') + 1, Date.now());
  const setMeta = db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  );
  db.transaction(() => {
    setMeta.run('format', STORE_FORMAT);
    setMeta.run('cluster', identity.cluster);
    setMeta.run('node', identity.node);
    setMeta.run('starts', String(starts));
    setMeta.run('incarnation', String(incarnation));
  })();
  return { starts, incarnation };
}

function readKv(db: Database.Database): Recovered {
  const rows = db.prepare('SELECT key, value FROM kv').all() as { key: string; value: string }[];
  return new Map(rows.map((r) => [r.key, JSON.parse(r.value) as Json]));
}

/** One transaction for a batch of writes (null deletes the key). */
function commitTransaction(db: Database.Database) {
  const upsert = db.prepare(
    'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  );
  const remove = db.prepare('DELETE FROM kv WHERE key = ?');
  return db.transaction((writes: ReadonlyArray<readonly [string, Json | null]>) => {
    for (const [key, value] of writes) {
      if (value === null) remove.run(key);
      else upsert.run(key, JSON.stringify(value));
    }
  });
}

/**
 * From here on the store syncs the WAL itself (see the top of this file). The WAL file exists
 * (the meta transaction wrote it, synchronously); make its directory entry durable once, then
 * keep a descriptor to sync it. Returns that descriptor.
 */
function syncWalOurselves(db: Database.Database, path: string, dir: string): number {
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('synchronous = OFF');
  const walFd = openSync(`${path}-wal`, 'r');
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return walFd;
}

function prepareDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new InputError(
      `cannot create data directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  const stat = statSync(dir);
  if (!stat.isDirectory()) throw new InputError(`${dir}: not a directory`);
  if ((stat.mode & 0o077) !== 0)
    throw new InputError(`${dir}: data directory is accessible by others (chmod 700 it)`);
}

function checkIdentity(path: string, meta: Map<string, string>, identity: StoreIdentity): void {
  const format = meta.get('format');
  if (format !== undefined && format !== STORE_FORMAT)
    throw new InputError(`${path}: unknown store format "${format}"`);
  for (const field of ['cluster', 'node'] as const) {
    const stored = meta.get(field);
    if (stored !== undefined && stored !== identity[field])
      throw new InputError(
        `${path}: this data directory belongs to ${field} "${stored}", not "${identity[field]}"`,
      );
  }
}
