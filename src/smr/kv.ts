/**
 * The replicated key-value store (seeds/004 "Linearizable compare-and-swap"): get, put and
 * compare-and-swap, applied deterministically in log order. Raft and PBFT run the same one.
 */
import { z } from 'zod';
import type { Json } from '../core/json.js';

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
    const entries = z.array(z.tuple([key, value])).parse(snapshot);
    for (const [k, v] of entries) store.data.set(k, v);
    return store;
  }

  get size(): number {
    return this.data.size;
  }
}
