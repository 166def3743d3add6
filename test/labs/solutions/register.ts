/**
 * Reference solution of lab "register": the skeleton (labs/register/register.ts) with its TODOs
 * filled in line by line from the project's own core, src/register/byzantine.ts. CI grades it
 * (test/labs/register.test.ts) and expects full marks.
 */
import type { Context, Envelope, NodeId, Protocol, ProtocolFactory, Recovered } from 'bftkit';

// The messages. The host has checked each envelope's shape, sender and signature before
// onMessage sees it; the bodies below are what the lab's message schemas admit.

/** [WRITE, wts, v], signed by the writer. */
type WriteBody = {
  ts: number;
  value: string;
};
/** The writer's signed WRITE envelope, kept whole: (ts, val, σ) in one piece. */
type SignedWrite = { kind: 'WRITE'; from: NodeId; body: WriteBody; sig: string };
/** [ACK, ts] */
type AckBody = {
  ts: number;
};
/** [READ, rid] */
type ReadBody = {
  rid: number;
};
/** [VALUE, rid, ts, val, σ]; write null is the initial (0, ⊥, ⊥). */
type ValueBody = {
  rid: number;
  write: SignedWrite | null;
};

/** What a client hands back to the layer above. */
type Result = { ok: true } | { value: string | null } | { error: string };

/** The single writer of a (1,N) register: the cluster's first client. */
function writerOf(ctx: Context): NodeId | undefined {
  return ctx.cluster.clients[0];
}

/** The key under which a replica persists (ts, val, σ). */
const STORE_KEY = 'register';

export class Replica implements Protocol {
  /** (ts, val, σ); null is (0, ⊥, ⊥). */
  private stored: SignedWrite | null = null;

  constructor(private readonly ctx: Context) {}

  start(recovered: Recovered | null): void {
    const saved = recovered?.get(STORE_KEY);
    if (saved !== undefined && saved !== null) this.stored = saved as unknown as SignedWrite;
  }

  onMessage(from: NodeId, message: Envelope): void {
    if (message.kind === 'WRITE') this.onWrite(from, message as SignedWrite);
    else if (message.kind === 'READ') this.onRead(from, message.body as ReadBody);
  }

  onTimer(): void {}
  onRequest(): void {}

  /** BR-8 … BR-11: on [WRITE, ts', v', σ'] from process `from`. */
  private onWrite(from: NodeId, message: SignedWrite): void {
    // BR-9: if j is not the writer or σ' is not the writer's signature: drop it
    if (from !== writerOf(this.ctx) || message.from !== from || !this.ctx.verify(message)) {
      this.ctx.note('register-rejected', { reason: 'not-the-writer', kind: 'WRITE', from });
      return;
    }
    const { ts, value } = message.body;
    // BR-10: if ts' > ts: (ts, val, σ) := (ts', v', σ'), persisted
    if (ts > (this.stored?.body.ts ?? 0)) {
      this.stored = { kind: 'WRITE', from: message.from, body: { ts, value }, sig: message.sig };
      this.ctx.persist(STORE_KEY, this.stored);
    }
    // BR-11: send [ACK, ts'] to the writer
    this.ctx.send(from, this.ctx.sign('ACK', { ts } satisfies AckBody));
  }

  /** BR-12: on [READ, rid] from reader `from`. */
  private onRead(from: NodeId, body: ReadBody): void {
    this.ctx.send(
      from,
      this.ctx.sign('VALUE', { rid: body.rid, write: this.stored } satisfies ValueBody),
    );
  }
}

/**
 * A client: the writer (clients[0]) writes; every client reads. The grader runs one operation
 * at a time per client; `reply` answers the one under way.
 */
export class Client implements Protocol {
  // writer state (BR-1): wts := 0
  private wts = 0;
  // reader state (BR-13): rid := 0
  private rid = 0;
  private writing: { ts: number; acks: Set<NodeId> } | null = null;
  private reading: {
    rid: number;
    answers: Map<NodeId, { ts: number; value: string | null }>;
  } | null = null;

  constructor(private readonly ctx: Context<{ type: 'reply'; result: Result }>) {}

  start(): void {}
  onTimer(): void {}

  onRequest(request: unknown): void {
    const op = request as { op: 'write'; value: string } | { op: 'read' };
    if (op.op === 'read') this.read();
    else if (this.ctx.self !== writerOf(this.ctx))
      this.reply({ error: 'only the writer (the first client) may write' });
    else this.write(op.value);
  }

  onMessage(from: NodeId, message: Envelope): void {
    if (!this.ctx.cluster.replicas.includes(from)) return;
    if (message.kind === 'ACK') this.onAck(from, message.body as AckBody);
    else if (message.kind === 'VALUE') this.onValue(from, message.body as ValueBody);
  }

  /** BR-2 … BR-5: Write(v). */
  private write(value: string): void {
    this.wts += 1;
    this.writing = { ts: this.wts, acks: new Set() };
    this.ctx.broadcast(this.ctx.sign('WRITE', { ts: this.wts, value } satisfies WriteBody));
  }

  /** BR-6: wait for [ACK, wts] from q distinct replicas (q is this.ctx.cluster.quorum). */
  private onAck(from: NodeId, body: AckBody): void {
    if (this.writing === null || body.ts !== this.writing.ts) return;
    this.writing.acks.add(from);
    if (this.writing.acks.size < this.ctx.cluster.quorum) return;
    this.writing = null;
    this.reply({ ok: true });
  }

  /** BR-14, BR-15: Read(). */
  private read(): void {
    this.rid += 1;
    this.reading = { rid: this.rid, answers: new Map() };
    this.ctx.broadcast(this.ctx.sign('READ', { rid: this.rid } satisfies ReadBody));
  }

  /** BR-16, BR-17: collect VALUEs for this rid; at q, return the value with the highest ts. */
  private onValue(from: NodeId, body: ValueBody): void {
    const reading = this.reading;
    if (reading === null || body.rid !== reading.rid || reading.answers.has(from)) return;
    const write = body.write;
    if (write !== null && (write.from !== writerOf(this.ctx) || !this.ctx.verify(write))) {
      this.ctx.note('register-rejected', { reason: 'bad-writer-signature', kind: 'VALUE', from });
      return;
    }
    reading.answers.set(from, { ts: write?.body.ts ?? 0, value: write?.body.value ?? null });
    if (reading.answers.size < this.ctx.cluster.quorum) return;
    this.reading = null;
    let best = { ts: 0, value: null as string | null };
    for (const a of reading.answers.values()) if (a.ts > best.ts) best = a;
    this.reply({ value: best.value });
  }

  private reply(result: Result): void {
    this.ctx.output({ type: 'reply', result });
  }
}

export const replica: ProtocolFactory = (ctx) => new Replica(ctx);
export const client: ProtocolFactory = (ctx) =>
  new Client(ctx as Context<{ type: 'reply'; result: Result }>);
