/**
 * Lab "register": the Byzantine (1,N) regular register with signed values (README.md).
 * Write the parts marked TODO; the line labels (BR-n) are those of the pseudocode in README.md.
 * Grade with: npx bftkit lab grade register .
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
    // TODO BR-9: only the writer's WRITEs count (this.ctx.verify checks an embedded signature).
    // TODO BR-10: keep the newer one — the whole envelope — and persist it (this.ctx.persist).
    // TODO BR-11: acknowledge it (this.ctx.sign('ACK', …), this.ctx.send).
    throw new Error(`TODO: Replica.onWrite (BR-8…BR-11), WRITE from ${from} ts ${message.body.ts}`);
  }

  /** BR-12: on [READ, rid] from reader `from`. */
  private onRead(from: NodeId, body: ReadBody): void {
    // TODO BR-12: answer with [VALUE, rid, ts, val, σ] — a ValueBody.
    throw new Error(
      `TODO: Replica.onRead (BR-12) at ${this.ctx.self}, READ ${body.rid} from ${from}, holding ts ${this.stored?.body.ts ?? 0}`,
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
    // TODO BR-3…BR-5: a new timestamp, sign [WRITE, wts, v] (this.ctx.sign), send to every
    // replica (this.ctx.broadcast).
    throw new Error(`TODO: Client.write (BR-2…BR-5), value ${value}, wts ${this.wts}`);
  }

  /** BR-6: wait for [ACK, wts] from q distinct replicas (q is this.ctx.cluster.quorum). */
  private onAck(from: NodeId, body: AckBody): void {
    // TODO BR-6: count each replica once, ignore old ACKs; at q: this.reply({ ok: true }).
    throw new Error(`TODO: Client.onAck (BR-6), ACK ${body.ts} from ${from}`);
  }

  /** BR-14, BR-15: Read(). */
  private read(): void {
    // TODO BR-15: a new rid, [READ, rid] to every replica.
    throw new Error(`TODO: Client.read (BR-14, BR-15), rid ${this.rid}`);
  }

  /** BR-16, BR-17: collect VALUEs for this rid; at q, return the value with the highest ts. */
  private onValue(from: NodeId, body: ValueBody): void {
    // TODO BR-16: this rid only, one answer per replica, σ must be the writer's (a null write
    // is (0, ⊥, ⊥) and needs none).
    // TODO BR-17: at q answers, this.reply({ value }) with the highest ts.
    throw new Error(`TODO: Client.onValue (BR-16, BR-17), VALUE ${body.rid} from ${from}`);
  }

  private reply(result: Result): void {
    this.ctx.output({ type: 'reply', result });
  }
}

export const replica: ProtocolFactory = (ctx) => new Replica(ctx);
export const client: ProtocolFactory = (ctx) =>
  new Client(ctx as Context<{ type: 'reply'; result: Result }>);
