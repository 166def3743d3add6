/**
 * A client in a process: a kit's client core in a ProcessHost that does not listen. It dials
 * every replica over the authenticated transport; replicas answer over those connections.
 *
 * `request(op)` hands one operation to the core and resolves with the `result` of the core's
 * next `{type: 'reply', result}` output. Replies arrive in the order requests were made (a
 * client core serves its queue in order), so a request that timed out keeps its place in the
 * queue: its late reply is consumed by it, never handed to the next request.
 */
import type { Logger } from 'pino';
import type { ClusterFile } from '../core/cluster-file.js';
import type { SecretKey } from '../core/keyfile.js';
import type { HostedKit, Params } from '../core/kit.js';
import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import { type HostOptions, ProcessHost } from './host.js';
import { MemoryStore, SqliteStore, type Store } from './storage.js';

export class RequestTimeout extends Error {
  override name = 'RequestTimeout';
}

export interface ClientHostOptions {
  file: ClusterFile;
  id: NodeId;
  key: SecretKey;
  kit: HostedKit;
  params?: Params;
  /** Where the client core persists (its request counters); in memory if absent. */
  dataDir?: string;
  /** A store of the caller's instead (closed with the host); takes precedence over dataDir. */
  store?: Store;
  logger?: Logger;
  transport?: HostOptions['transport'];
  link?: HostOptions['link'];
}

interface Waiter {
  resolve(result: Json): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | null;
  abandoned: boolean;
}

export class ClientHost {
  readonly host: ProcessHost;
  private readonly waiters: Waiter[] = [];

  constructor(options: ClientHostOptions) {
    const store: Store =
      options.store ??
      (options.dataDir === undefined
        ? new MemoryStore()
        : new SqliteStore(options.dataDir, { cluster: options.file.clusterId, node: options.id }));
    try {
      this.host = new ProcessHost({
        file: options.file,
        id: options.id,
        key: options.key,
        role: 'client',
        kit: options.kit,
        store,
        ...(options.params === undefined ? {} : { params: options.params }),
        ...(options.logger === undefined ? {} : { logger: options.logger }),
        ...(options.transport === undefined ? {} : { transport: options.transport }),
        ...(options.link === undefined ? {} : { link: options.link }),
        onOutput: (event) => this.onOutput(event),
      });
    } catch (e) {
      store.close();
      throw e;
    }
    this.host.start();
  }

  get id(): NodeId {
    return this.host.id;
  }

  /** Replicas with an authenticated connection up. */
  connected(): NodeId[] {
    return this.host.transport
      .status()
      .filter((p) => p.connected)
      .map((p) => p.id);
  }

  /** Resolve once at least `count` replicas are connected (default: all of them). */
  async waitConnected(count?: number, timeoutMs = 10_000): Promise<void> {
    const want = count ?? this.host.options.file.nodes.length;
    const deadline = Date.now() + timeoutMs;
    while (this.connected().length < want) {
      if (Date.now() > deadline)
        throw new RequestTimeout(
          `${this.id}: only ${this.connected().length}/${want} replicas connected`,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Hand `op` to the client core; resolve with its reply's result. */
  request(op: Json, timeoutMs = 10_000): Promise<Json> {
    return new Promise<Json>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: null, abandoned: false };
      waiter.timer = setTimeout(() => {
        waiter.abandoned = true;
        waiter.timer = null;
        reject(new RequestTimeout(`${this.id}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
      this.host.request(op);
    });
  }

  async close(): Promise<void> {
    for (const w of this.waiters.splice(0)) {
      if (w.timer !== null) clearTimeout(w.timer);
      if (!w.abandoned) w.reject(new Error(`${this.id}: client closed`));
    }
    await this.host.close();
  }

  private onOutput(event: unknown): void {
    const reply = event as { type?: unknown; result?: Json };
    if (reply === null || typeof reply !== 'object' || reply.type !== 'reply') return;
    const waiter = this.waiters.shift();
    if (waiter === undefined) return;
    if (waiter.timer !== null) clearTimeout(waiter.timer);
    if (!waiter.abandoned) waiter.resolve(reply.result ?? null);
  }
}
