/**
 * The Raft service's client: a closed loop of KV commands, each tagged with the client's next
 * sequence number so that replicas apply it exactly once however often it is retried.
 *
 *   upon ⟨request | command⟩:     seq := seq + 1; send (ClientRequest, self, seq, command)
 *                                 to the replica believed to lead; start retry timer
 *   upon (ClientReply, seq, r, l): if seq is outstanding: leader := l; trigger ⟨reply | r⟩
 *   upon (Redirect, seq, l):      l ≠ null: leader := l, resend now (at most n times in a row);
 *                                 l = null ("no leader, retry"): resend after a short back-off
 *   upon retry timeout:           leader := the next replica in order; resend
 *
 * A retry reuses the seq: the replicas' session table turns a retry of an applied request
 * into its cached result. The seq counter is persisted, so a restarted client never reuses a
 * number for a different command.
 */
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, Protocol, Recovered } from '../core/protocol.js';
import { type KvCommand, type KvResult, kvCommandSchema } from '../smr/kv.js';
import type { ClientReply, ClientRequest, Redirect } from './messages.js';

export interface RaftClientOptions {
  /** How long to wait for a reply before trying the next replica. */
  retryMs: number;
  /** How long to wait after "no leader, retry". */
  redirectBackoffMs: number;
  /** Commands queued if the layer above does not wait for replies (closed loop: ≤ 1). */
  maxQueued: number;
}

export const defaultRaftClientOptions: RaftClientOptions = {
  retryMs: 600,
  redirectBackoffMs: 50,
  maxQueued: 64,
};

export type RaftClientOutput = { type: 'reply'; result: KvResult };

const RETRY_TIMER = 'retry';
const KEY_SEQ = 'seq';

export class RaftClient implements Protocol<KvCommand> {
  private seq = 0;
  private pending: { seq: number; command: KvCommand } | null = null;
  private readonly queued: KvCommand[] = [];
  /** The replica this client believes leads. */
  private leader: NodeId;
  /** Redirects followed in a row for the outstanding request (bounds redirect loops). */
  private redirects = 0;
  private readonly options: RaftClientOptions;
  private readonly replicas: readonly NodeId[];

  constructor(
    private readonly ctx: Context<RaftClientOutput>,
    options: Partial<RaftClientOptions> = {},
  ) {
    this.options = { ...defaultRaftClientOptions, ...options };
    this.replicas = ctx.cluster.replicas;
    const first = this.replicas[0];
    if (first === undefined) throw new Error('a Raft client needs at least one replica');
    this.leader = first;
  }

  start(recovered: Recovered | null): void {
    const seq = recovered?.get(KEY_SEQ);
    if (typeof seq === 'number') this.seq = seq;
    // Start from a random replica: redirects and leader hints find the leader from there.
    this.leader =
      this.replicas[Math.floor(this.ctx.random() * this.replicas.length)] ?? this.leader;
  }

  onRequest(request: KvCommand): void {
    const command = kvCommandSchema.safeParse(request);
    if (!command.success) {
      this.ctx.note('client-rejected', { reason: 'not a KV command' });
      return;
    }
    if (this.pending !== null) {
      if (this.queued.length >= this.options.maxQueued) {
        this.ctx.note('client-rejected', { reason: 'queue full' });
      } else {
        this.queued.push(command.data);
      }
      return;
    }
    this.submit(command.data);
  }

  private submit(command: KvCommand): void {
    this.seq += 1;
    this.ctx.persist(KEY_SEQ, this.seq);
    this.pending = { seq: this.seq, command };
    this.redirects = 0;
    this.transmit();
  }

  private transmit(): void {
    if (this.pending === null) return;
    const body: ClientRequest = {
      client: this.ctx.self,
      seq: this.pending.seq,
      command: this.pending.command,
    };
    this.ctx.send(this.leader, this.ctx.sign('ClientRequest', body));
    this.ctx.setTimer(RETRY_TIMER, this.options.retryMs);
  }

  onTimer(name: string): void {
    if (name !== RETRY_TIMER || this.pending === null) return;
    const i = this.replicas.indexOf(this.leader);
    this.leader = this.replicas[(i + 1) % this.replicas.length] ?? this.leader;
    this.redirects = 0;
    this.transmit();
  }

  onMessage(from: NodeId, message: Envelope): void {
    if (!this.replicas.includes(from) || this.pending === null) return;
    if (message.kind === 'ClientReply') {
      const reply = message.body as ClientReply;
      if (reply.seq !== this.pending.seq) return; // a late reply to an earlier attempt
      this.ctx.cancelTimer(RETRY_TIMER);
      this.pending = null;
      this.leader = reply.leaderHint ?? from;
      this.ctx.output({ type: 'reply', result: reply.result });
      const next = this.queued.shift();
      if (next !== undefined) this.submit(next);
    } else if (message.kind === 'Redirect') {
      const redirect = message.body as Redirect;
      if (redirect.seq !== this.pending.seq) return;
      const hint = redirect.leaderHint;
      if (
        hint !== null &&
        hint !== this.leader &&
        this.replicas.includes(hint) &&
        this.redirects < this.replicas.length
      ) {
        this.redirects++;
        this.leader = hint;
        this.transmit();
      } else {
        // "no leader, retry" (or a redirect loop): wait a little, then try the next replica.
        this.ctx.setTimer(RETRY_TIMER, this.options.redirectBackoffMs);
      }
    }
  }
}
