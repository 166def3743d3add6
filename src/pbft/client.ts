/**
 * PBFT client (docs/reference/pbft.md, "Client"):
 *
 *   client c: ⟨REQUEST, op, t, c⟩σc → primary (re-sent to all on timeout)
 *   client:   accept result after f+1 matching replies from distinct replicas
 *
 * One request outstanding at a time (later ones wait in a bounded queue); timestamps strictly
 * increase, across restarts too (the last one is persisted before a request is sent). The
 * view — hence the primary to send to first — is learnt from the replies.
 */
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, Protocol, Recovered } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import type { AppDefinition } from '../smr/app.js';
import { kvApp } from '../smr/kv.js';
import { primaryOf } from './certificates.js';
import { canonicalJson } from './digest.js';
import { pbftSchemas, type ReplyBody, type RequestEnvelope } from './messages.js';

export interface PbftClientOptions {
  /** How long to wait for f+1 matching replies before re-sending to all replicas. */
  readonly requestTimeoutMs: number;
  /** Most requests waiting behind the outstanding one. */
  readonly maxQueue: number;
  /** The replicated application: what a command and a result look like. */
  readonly app: Pick<AppDefinition, 'command' | 'result' | 'snapshot' | 'name'>;
}

export const DEFAULT_CLIENT_OPTIONS: PbftClientOptions = {
  requestTimeoutMs: 1000,
  maxQueue: 1024,
  app: kvApp,
};

export interface ClientReply {
  readonly type: 'reply';
  readonly result: Json;
  readonly timestamp: number;
}

const TIMER_RETRY = 'retry';
const MAX_BACKOFF = 3;

interface Outstanding {
  readonly request: RequestEnvelope;
  readonly replies: Map<NodeId, ReplyBody>;
  retries: number;
}

export class PbftClient implements Protocol<unknown> {
  private readonly options: PbftClientOptions;
  private view = 0;
  private timestamp = 0;
  private current: Outstanding | null = null;
  private readonly queue: Json[] = [];
  private readonly replyBody: ReturnType<typeof pbftSchemas>['replyBody'];
  readonly rejected = new Map<string, number>();

  constructor(
    private readonly ctx: Context<ClientReply>,
    options: Partial<PbftClientOptions> = {},
  ) {
    this.options = { ...DEFAULT_CLIENT_OPTIONS, ...options };
    this.replyBody = pbftSchemas(this.options.app).replyBody;
  }

  get currentView(): number {
    return this.view;
  }

  start(recovered: Recovered | null): void {
    const last = recovered?.get('timestamp');
    if (typeof last === 'number') this.timestamp = last;
  }

  onRequest(request: unknown): void {
    const parsed = this.options.app.command.safeParse(request);
    if (!parsed.success) {
      this.reject(`not a ${this.options.app.name} command`);
      return;
    }
    if (this.queue.length >= this.options.maxQueue) {
      this.reject('request queue full');
      return;
    }
    this.queue.push(parsed.data);
    if (this.current === null) this.next();
  }

  /**
   * The host's prefilter (src/runtime/runtime.ts Prefilter): a reply to a request this client has
   * already accepted (f+1 matching replies came first) is of no use, so the host may drop it
   * before checking its signature — the slower replicas' replies cost nothing. Anything else,
   * malformed or not, goes through admission as usual.
   */
  wants(_from: NodeId, message: unknown): boolean {
    const m = message as { kind?: unknown; body?: { timestamp?: unknown } } | null;
    if (m === null || typeof m !== 'object' || m.kind !== 'REPLY') return true;
    const timestamp = m.body?.timestamp;
    if (typeof timestamp !== 'number') return true;
    const current = this.current;
    return current === null
      ? timestamp > this.timestamp
      : timestamp >= current.request.body.timestamp;
  }

  onMessage(from: NodeId, message: Envelope): void {
    if (message.kind !== 'REPLY' || message.from !== from) {
      this.reject('not a reply');
      return;
    }
    const parsed = this.replyBody.safeParse(message.body);
    if (!parsed.success) {
      this.reject('malformed reply');
      return;
    }
    const reply = parsed.data;
    const current = this.current;
    if (!this.ctx.cluster.replicas.includes(from) || reply.replica !== from) {
      this.reject('reply not from the replica it names');
      return;
    }
    if (current === null || reply.client !== this.ctx.self) return;
    if (reply.timestamp !== current.request.body.timestamp) return;
    current.replies.set(from, reply);
    const key = canonicalJson(reply.result);
    const matching = [...current.replies.values()].filter((r) => canonicalJson(r.result) === key);
    if (matching.length < this.ctx.cluster.replyQuorum) return;
    // f+1 matching replies: at least one from a correct replica.
    this.learnView([...current.replies.values()].map((r) => r.view));
    this.ctx.cancelTimer(TIMER_RETRY);
    this.current = null;
    this.ctx.output({ type: 'reply', result: reply.result, timestamp: reply.timestamp });
    this.next();
  }

  onTimer(name: string): void {
    if (name !== TIMER_RETRY || this.current === null) return;
    // No f+1 matching replies in time: the primary may be faulty — send to every replica.
    this.current.retries++;
    this.ctx.broadcast(this.current.request, { includeSelf: false });
    this.ctx.setTimer(TIMER_RETRY, this.timeout(this.current.retries));
  }

  private next(): void {
    const command = this.queue.shift();
    if (command === undefined) return;
    this.timestamp += 1;
    this.ctx.persist('timestamp', this.timestamp);
    const request = this.ctx.sign('REQUEST', {
      client: this.ctx.self,
      timestamp: this.timestamp,
      command,
    }) as RequestEnvelope;
    this.current = { request, replies: new Map(), retries: 0 };
    this.ctx.note('request', { timestamp: this.timestamp });
    this.ctx.send(primaryOf(this.ctx.cluster, this.view), request);
    this.ctx.setTimer(TIMER_RETRY, this.timeout(0));
  }

  private timeout(retries: number): number {
    return this.options.requestTimeoutMs * 2 ** Math.min(retries, MAX_BACKOFF);
  }

  /** Adopt a view that f+1 replies vouch for (at least one of them from a correct replica). */
  private learnView(views: number[]): void {
    const sorted = [...views].sort((a, b) => b - a);
    const vouched = sorted[this.ctx.cluster.replyQuorum - 1];
    if (vouched !== undefined && vouched > this.view) this.view = vouched;
  }

  private reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }
}
