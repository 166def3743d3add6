/**
 * Client sessions for exactly-once semantics: every request carries (client id, sequence
 * number). A replica remembers, per client, the last sequence number it executed and that
 * request's result; a retried request gets the cached result and is not applied again, and
 * an older one is ignored (its client has already moved on).
 */
import type { Json } from '../crypto/json.js';

export interface SessionEntry<R extends Json = Json> {
  seq: number;
  result: R;
}

export type SessionVerdict<R extends Json> =
  | { kind: 'new' }
  | { kind: 'duplicate'; result: R }
  | { kind: 'stale' };

export class SessionTable<R extends Json = Json> {
  private readonly last = new Map<string, SessionEntry<R>>();

  check(client: string, seq: number): SessionVerdict<R> {
    const entry = this.last.get(client);
    if (entry === undefined || seq > entry.seq) return { kind: 'new' };
    if (seq === entry.seq) return { kind: 'duplicate', result: entry.result };
    return { kind: 'stale' };
  }

  record(client: string, seq: number, result: R): void {
    this.last.set(client, { seq, result });
  }

  /** Canonical snapshot (sorted by client) for checkpoints and state transfer. */
  snapshot(): Json {
    return [...this.last.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([client, e]) => [client, e.seq, e.result]);
  }

  static restore<R extends Json>(snapshot: Json): SessionTable<R> {
    const table = new SessionTable<R>();
    for (const row of snapshot as [string, number, R][]) table.record(row[0], row[1], row[2]);
    return table;
  }
}
