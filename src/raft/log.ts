/**
 * Raft's log after compaction (thesis §5.1, "Snapshotting memory-based state machines"):
 * the entries log[0..snapshot.length − 1] are replaced by the snapshot's metadata — how many
 * entries it covers, the term and chain digest of the last of them, and the log's term runs
 * over them — and only the entries after it are held. Indices stay absolute, as on the
 * slides: `length` is the whole log's length, `entry(i)` the entry at absolute index i (an
 * error below the snapshot: a compacted entry is gone), `termAt(snapshot.length − 1)` is the
 * snapshot's last term ("lastIncludedTerm"), so the consistency check of a LogRequest whose
 * prefix ends exactly at the snapshot still works.
 */
import { canonical } from '../crypto/canonical.js';
import { sha256 } from '../crypto/hash-node.js';
import { toHex } from '../crypto/hex.js';
import type { LogEntry } from './messages.js';

/** Hex characters of a log digest kept in notes (128 bits). */
const DIGEST_HEX = 32;
const utf8 = new TextEncoder();

/**
 * The digest of the log prefix log[0..index]: H(digest of log[0..index−1] ‖ canonical(entry)).
 * Two nodes whose digests at one index agree hold the same prefix up to that index; the
 * checkers compare these digests, so they never need to see a node's log.
 */
export function chainDigest(previous: string, entry: LogEntry): string {
  return toHex(sha256(utf8.encode(previous + canonical(entry)))).slice(0, DIGEST_HEX);
}

/** What remains of a compacted prefix (the thesis's lastIncludedIndex/Term, and two digests). */
export interface SnapshotBase {
  /** Entries covered: log[0..length − 1]. */
  length: number;
  /** log[length − 1].term, 0 if length = 0. */
  term: number;
  /** chainDigest of log[0..length − 1], '' if length = 0. */
  digest: string;
  /** The covered prefix as runs of one term, [[first index, term], …] (for the checkers). */
  runs: [number, number][];
}

export const EMPTY_BASE: SnapshotBase = { length: 0, term: 0, digest: '', runs: [] };

export class RaftLog {
  private base: SnapshotBase = EMPTY_BASE;
  private entries: LogEntry[] = [];
  /** digests[k] = chainDigest of log[0..base.length + k]. */
  private digests: string[] = [];

  constructor(private readonly digestOf: (previous: string, entry: LogEntry) => string) {}

  get length(): number {
    return this.base.length + this.entries.length;
  }

  /** The snapshot's metadata (length 0: nothing compacted). */
  get snapshot(): SnapshotBase {
    return this.base;
  }

  entry(index: number): LogEntry {
    const entry = this.entries[index - this.base.length];
    if (index < this.base.length || entry === undefined) {
      throw new Error(
        `log index ${index} is not held (snapshot ${this.base.length}, length ${this.length})`,
      );
    }
    return entry;
  }

  /** The term of log[index]; the snapshot's last term at base.length − 1; 0 before index 0. */
  termAt(index: number): number {
    if (index < 0) return 0;
    if (index === this.base.length - 1) return this.base.term;
    return this.entry(index).term;
  }

  /** chainDigest of log[0..index]. */
  digestAt(index: number): string {
    if (index < 0) return '';
    if (index === this.base.length - 1) return this.base.digest;
    this.entry(index);
    return this.digests[index - this.base.length] ?? '';
  }

  lastTerm(): number {
    return this.termAt(this.length - 1);
  }

  /** log[from..to − 1]; from must not be below the snapshot. */
  slice(from: number, to: number): LogEntry[] {
    if (from < this.base.length) throw new Error(`log index ${from} is compacted`);
    return this.entries.slice(from - this.base.length, to - this.base.length);
  }

  append(entry: LogEntry): void {
    this.digests.push(this.digestOf(this.digestAt(this.length - 1), entry));
    this.entries.push(entry);
  }

  /** log := log[0..length − 1]; never below the snapshot (compacted entries are committed). */
  truncate(length: number): void {
    const keep = Math.max(0, length - this.base.length);
    this.entries.length = Math.min(this.entries.length, keep);
    this.digests.length = this.entries.length;
  }

  /** Discard log[0..base.length − 1], which the new snapshot covers (it must be held). */
  compact(base: SnapshotBase): void {
    const drop = base.length - this.base.length;
    if (drop <= 0) return;
    this.entries = this.entries.slice(drop);
    this.digests = this.digests.slice(drop);
    this.base = base;
  }

  /** Thesis §5.1, InstallSnapshot step 7: "discard the entire log" and start after `base`. */
  reset(base: SnapshotBase): void {
    this.entries = [];
    this.digests = [];
    this.base = base;
  }

  /** The whole log as runs of one term: the snapshot's runs, then the held entries'. */
  runs(): [number, number][] {
    const runs = this.base.runs.map(([i, t]): [number, number] => [i, t]);
    this.entries.forEach((e, k) => {
      if (runs.length === 0 || runs[runs.length - 1]?.[1] !== e.term) {
        runs.push([this.base.length + k, e.term]);
      }
    });
    return runs;
  }

  /** The held entries (after the snapshot), for tests and tools. */
  held(): readonly LogEntry[] {
    return this.entries;
  }
}
