/**
 * (1,N) Byzantine regular register with signed values, n > 3f (seeds/002 §6.1.1; Cachin,
 * Guerraoui & Rodrigues, Alg. 4.15 "Authenticated-Data Byzantine Quorum"). The pseudocode
 * is in docs/reference/byzantine-register.md and, line by line, in ./README.md.
 *
 * The writer is clients[0]. It signs every (wts, v) as a WRITE envelope; a replica keeps the
 * whole signed envelope, (ts, val, σ), and returns it in VALUE. A reader believes a VALUE
 * only if the embedded envelope verifies as the writer's, so a Byzantine replica can answer
 * with an old value but never a newer one. Quorums are strictly more than (n+f)/2 replicas
 * (cluster.quorum): any two share a correct replica, and the n−f correct ones form one.
 */
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, Protocol, ProtocolFactory, Recovered } from '../core/protocol.js';
import {
  type AckBody,
  type ByzValueBody,
  type ReadBody,
  type RegisterReply,
  type RegisterRequest,
  type SignedWrite,
  signedWriteSchema,
  type WriteBody,
} from './messages.js';
import { OperationQueue } from './operations.js';

/** The key under which a replica persists its (ts, val, σ). */
export const STORE_KEY = 'register';

/** The single writer of a (1,N) register: the cluster's first client. */
export function writerOf(ctx: Context<unknown>): NodeId | undefined {
  return ctx.cluster.clients[0];
}

/** A replica: state (ts, val, σ) := (0, ⊥, ⊥), kept as the writer's signed WRITE envelope. */
export class ByzantineRegisterReplica implements Protocol {
  /** (ts, val, σ); null is (0, ⊥, ⊥). */
  private stored: SignedWrite | null = null;

  constructor(private readonly ctx: Context<unknown>) {}

  get ts(): number {
    return this.stored?.body.ts ?? 0;
  }

  start(recovered: Recovered | null): void {
    const saved = recovered?.get(STORE_KEY);
    if (saved === undefined || saved === null) return;
    const parsed = signedWriteSchema.safeParse(saved);
    if (parsed.success) this.stored = parsed.data;
    else this.ctx.note('register-store-unreadable');
  }

  onMessage(from: NodeId, message: Envelope): void {
    if (message.kind === 'WRITE') this.onWrite(from, message as Envelope<'WRITE', WriteBody>);
    else if (message.kind === 'READ') this.onRead(from, message.body as ReadBody);
  }

  onTimer(): void {}
  onRequest(): void {}

  /** on [WRITE, ts', v', σ'] from the writer */
  private onWrite(from: NodeId, message: Envelope<'WRITE', WriteBody>): void {
    //   if not verify_writer(σ', WRITE ‖ ts' ‖ v'): drop it (count the rejection)
    // (The host has already checked σ' against `from`; what only the register knows is that
    // `from` must be the writer.)
    if (from !== writerOf(this.ctx) || message.from !== from || !this.ctx.verify(message)) {
      this.ctx.note('register-rejected', { reason: 'not-the-writer', kind: 'WRITE', from });
      return;
    }
    const { ts, value } = message.body;
    //   if ts' > ts: (ts, val, σ) := (ts', v', σ')
    if (ts > this.ts) {
      this.stored = {
        kind: 'WRITE',
        from: message.from,
        body: { ts, value },
        sig: message.sig,
      };
      this.ctx.persist(STORE_KEY, this.stored);
    }
    //   send [ACK, ts'] to the writer          (the runtime persists before it sends)
    this.ctx.send(from, this.ctx.sign('ACK', { ts } satisfies AckBody));
  }

  /** on [READ, rid] from reader r: send [VALUE, rid, ts, val, σ] to r */
  private onRead(from: NodeId, body: ReadBody): void {
    this.ctx.send(from, this.ctx.sign('VALUE', { rid: body.rid, write: this.stored }));
  }
}

/** A reader's view of one replica's answer. */
interface Answer {
  ts: number;
  value: string | null;
}

/**
 * A client: the writer (clients[0]) writes and reads; every other client reads.
 * One operation at a time; requests that arrive meanwhile wait in a bounded queue.
 */
export class ByzantineRegisterClient implements Protocol {
  private readonly operations: OperationQueue;
  // writer state: wts := 0
  private wts = 0;
  private writing: { ts: number; acks: Set<NodeId> } | null = null;
  // reader state: rid := 0
  private rid = 0;
  private reading: { rid: number; answers: Map<NodeId, Answer> } | null = null;

  constructor(private readonly ctx: Context<RegisterReply>) {
    this.operations = new OperationQueue(ctx, (op) => this.begin(op));
  }

  start(): void {}
  onTimer(): void {}

  onRequest(request: unknown): void {
    this.operations.submit(request);
  }

  onMessage(from: NodeId, message: Envelope): void {
    if (!this.ctx.cluster.replicas.includes(from)) return;
    if (message.kind === 'ACK') this.onAck(from, message.body as AckBody);
    else if (message.kind === 'VALUE') this.onValue(from, message.body as ByzValueBody);
  }

  private begin(op: RegisterRequest): void {
    if (op.op === 'read') this.read();
    else if (this.ctx.self !== writerOf(this.ctx)) {
      this.operations.complete({ error: 'only the writer (the first client) may write' });
    } else this.write(op.value);
  }

  /** Write(v) */
  private write(value: string): void {
    //   wts := wts + 1
    this.wts += 1;
    this.writing = { ts: this.wts, acks: new Set() };
    //   σ := sign_writer(WRITE ‖ wts ‖ v); send [WRITE, wts, v, σ] to all replicas
    this.ctx.broadcast(this.ctx.sign('WRITE', { ts: this.wts, value } satisfies WriteBody));
  }

  //   wait for [ACK, wts] from more than (n+f)/2 replicas
  private onAck(from: NodeId, body: AckBody): void {
    if (this.writing === null || body.ts !== this.writing.ts) return; // an old or stray ACK
    this.writing.acks.add(from); // a replica counts once, however often it acks
    if (this.writing.acks.size < this.ctx.cluster.quorum) return;
    this.writing = null;
    //   return
    this.operations.complete({ ok: true });
  }

  /** Read() */
  private read(): void {
    //   rid := rid + 1; send [READ, rid] to all replicas
    this.rid += 1;
    this.reading = { rid: this.rid, answers: new Map() };
    this.ctx.broadcast(this.ctx.sign('READ', { rid: this.rid } satisfies ReadBody));
  }

  //   wait for [VALUE, rid, ts', v', σ'] with verify_writer(σ', WRITE ‖ ts' ‖ v')
  //        from more than (n+f)/2 distinct replicas
  private onValue(from: NodeId, body: ByzValueBody): void {
    const reading = this.reading;
    if (reading === null || body.rid !== reading.rid) return; // an answer to an old read
    const answer = this.authenticate(from, body.write);
    if (answer === null) return;
    const earlier = reading.answers.get(from);
    if (earlier !== undefined) {
      // A replica counts once. A second, different answer is equivocation: note the evidence.
      if (earlier.ts !== answer.ts || earlier.value !== answer.value) {
        this.ctx.note('register-equivocation', { replica: from, rid: body.rid });
      }
      return;
    }
    reading.answers.set(from, answer);
    if (reading.answers.size < this.ctx.cluster.quorum) return;
    this.reading = null;
    //   return the v' with the highest ts'
    let best: Answer = { ts: 0, value: null };
    for (const a of reading.answers.values()) if (a.ts > best.ts) best = a;
    this.operations.complete({ value: best.value });
  }

  /** The (ts', v') a VALUE vouches for, or null if σ' is not the writer's signature. */
  private authenticate(from: NodeId, write: SignedWrite | null): Answer | null {
    // (0, ⊥, ⊥) carries no value and the lowest timestamp: nothing to sign, nothing to gain.
    if (write === null) return { ts: 0, value: null };
    if (write.from !== writerOf(this.ctx) || !this.ctx.verify(write)) {
      this.ctx.note('register-rejected', {
        reason: write.from === writerOf(this.ctx) ? 'bad-writer-signature' : 'not-the-writer',
        kind: 'VALUE',
        from,
      });
      return null;
    }
    return { ts: write.body.ts, value: write.body.value };
  }
}

export const byzantineReplica: ProtocolFactory = (ctx) => new ByzantineRegisterReplica(ctx);
export const byzantineClient: ProtocolFactory<unknown, RegisterReply> = (ctx) =>
  new ByzantineRegisterClient(ctx);
