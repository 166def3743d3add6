/**
 * The replicated key-value store (seeds/004 "Linearizable compare-and-swap"): get, put and
 * compare-and-swap, applied deterministically in log order. Raft and PBFT run the same one.
 */
import { z } from 'zod';
import type { Json } from '../crypto/json.js';
import type { AppDefinition, AppRequest, ReplicatedApp } from './app.js';

export const KEY_MAX = 256;
export const VALUE_MAX = 4096;

const key = z.string().min(1).max(KEY_MAX);
const value = z.string().max(VALUE_MAX);

export const kvCommandSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('get'), key }).strict(),
  z.object({ op: z.literal('put'), key, value }).strict(),
  /** Set key to `to` only if its current value is `from` (null: the key is absent). */
  z.object({ op: z.literal('cas'), key, from: value.nullable(), to: value }).strict(),
]);
export type KvCommand = z.infer<typeof kvCommandSchema>;

/** get: the value (null if absent); put: ok; cas: ok, or the value that was found instead. */
export type KvResult = { ok: true; value: string | null } | { ok: false; value: string | null };

export const kvResultSchema = z.object({ ok: z.boolean(), value: value.nullable() }).strict();

/** Most entries of a snapshot's table. */
export const MAX_KV_ENTRIES = 100_000;

/** A snapshot: the entries sorted by key. */
export const kvSnapshotSchema = z.array(z.tuple([key, value])).max(MAX_KV_ENTRIES);

export class KvStore {
  private readonly data = new Map<string, string>();

  apply(command: KvCommand): KvResult {
    const current = this.data.get(command.key) ?? null;
    switch (command.op) {
      case 'get':
        return { ok: true, value: current };
      case 'put':
        this.data.set(command.key, command.value);
        return { ok: true, value: command.value };
      case 'cas':
        if (current !== command.from) return { ok: false, value: current };
        this.data.set(command.key, command.to);
        return { ok: true, value: command.to };
    }
  }

  /** Canonical snapshot: entries sorted by key, so equal states have equal snapshots. */
  snapshot(): Json {
    return [...this.data.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  static restore(snapshot: Json): KvStore {
    const store = new KvStore();
    const entries = kvSnapshotSchema.parse(snapshot);
    for (const [k, v] of entries) store.data.set(k, v);
    return store;
  }

  get size(): number {
    return this.data.size;
  }
}

/** The key-value store as a replicated application (smr/app.ts): PBFT's default. */
export const kvApp: AppDefinition = {
  name: 'kv',
  command: kvCommandSchema,
  result: kvResultSchema,
  snapshot: kvSnapshotSchema,
  create: () => new KvApp(),
};

class KvApp implements ReplicatedApp {
  private store = new KvStore();

  executeBatch(requests: readonly AppRequest[]): Json[] {
    return requests.map((r) => this.store.apply(r.command as KvCommand));
  }

  snapshot(): Json {
    return this.store.snapshot();
  }

  restore(snapshot: Json): void {
    this.store = KvStore.restore(snapshot);
  }
}
