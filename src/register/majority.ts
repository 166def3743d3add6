/**
 * (1,N) registers in the crash (fail-silent) model, n > 2f, quorums of more than n/2
 * (cluster.quorum = ⌈(n+1)/2⌉):
 *
 *   - regular: majority voting (seeds/002 §4.1.7, §5.2);
 *   - atomic:  the same, and a reader writes the pair it chose back to a majority before it
 *              returns ("read-impose", §5.4: RWRITE / RACK), so no later read sees an older one.
 *
 * Replicas are the same for both; only the reader differs. Two departures from the seed's
 * §5.4 text, both needed for it to work as intended: a replica acknowledges every RWRITE
 * (the seed sends RACK only when it adopts the pair, which would leave the reader waiting
 * once a majority already holds it), and RWRITE/RACK carry the read's rid so that a RACK
 * of an earlier read with the same rts is not counted for this one. The writer is clients[0].
 */
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, Protocol, ProtocolFactory, Recovered } from '../core/protocol.js';
import { STORE_KEY, writerOf } from './byzantine.js';
import type {
  AckBody,
  RackBody,
  ReadBody,
  RegisterReply,
  RegisterRequest,
  RwriteBody,
  ValueBody,
  WriteBody,
} from './messages.js';
import { OperationQueue } from './operations.js';

export interface MajorityOptions {
  /** Write back (RWRITE/RACK) before a read returns: atomic instead of regular. */
  readonly atomic: boolean;
}

interface Pair {
  ts: number;
  value: string | null;
}

function readPair(saved: unknown): Pair | null {
  if (typeof saved !== 'object' || saved === null) return null;
  const { ts, value } = saved as Record<string, unknown>;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) return null;
  if (value !== null && typeof value !== 'string') return null;
  return { ts, value };
}

/** A replica: (ts, val) := (0, ⊥). */
export class MajorityRegisterReplica implements Protocol {
  private ts = 0;
  private val: string | null = null;

  constructor(private readonly ctx: Context<unknown>) {}

  start(recovered: Recovered | null): void {
    const saved = recovered?.get(STORE_KEY);
    if (saved === undefined) return;
    const pair = readPair(saved);
    if (pair === null) this.ctx.note('register-store-unreadable');
    else ({ ts: this.ts, value: this.val } = pair);
  }

  onMessage(from: NodeId, message: Envelope): void {
    switch (message.kind) {
      case 'WRITE':
        this.onWrite(from, message.body as WriteBody);
        return;
      case 'READ':
        this.onRead(from, message.body as ReadBody);
        return;
      case 'RWRITE':
        this.onRwrite(from, message.body as RwriteBody);
        return;
    }
  }

  onTimer(): void {}
  onRequest(): void {}

  /** upon receive [WRITE, ts', v'] from the writer w */
  private onWrite(from: NodeId, body: WriteBody): void {
    if (from !== writerOf(this.ctx)) {
      this.ctx.note('register-rejected', { reason: 'not-the-writer', kind: 'WRITE', from });
      return;
    }
    //   if ts' > ts then (ts, val) := (ts', v')
    this.adopt(body.ts, body.value);
    //   send [ACK, ts'] to w
    this.ctx.send(from, this.ctx.sign('ACK', { ts: body.ts } satisfies AckBody));
  }

  /** upon receive [READ, r] from p: send [VAL, r, ts, val] to p */
  private onRead(from: NodeId, body: ReadBody): void {
    this.ctx.send(
      from,
      this.ctx.sign('VALUE', { rid: body.rid, ts: this.ts, value: this.val } satisfies ValueBody),
    );
  }

  /** §5.4: upon receive [RWRITE, ts', v'] from r */
  private onRwrite(from: NodeId, body: RwriteBody): void {
    //   if ts' > ts then (ts, val) := (ts', v')
    this.adopt(body.ts, body.value);
    //   send [RACK, ts'] to r   (always — see the module comment)
    this.ctx.send(from, this.ctx.sign('RACK', { rid: body.rid, ts: body.ts } satisfies RackBody));
  }

  private adopt(ts: number, value: string | null): void {
    if (ts <= this.ts) return;
    this.ts = ts;
    this.val = value;
    this.ctx.persist(STORE_KEY, { ts, value });
  }
}

/** A client: the writer (clients[0]) writes and reads; every other client reads. */
export class MajorityRegisterClient implements Protocol {
  private readonly operations: OperationQueue;
  private wts = 0;
  private writing: { ts: number; acks: Set<NodeId> } | null = null;
  private rid = 0;
  private reading: { rid: number; answers: Map<NodeId, Pair> } | null = null;
  /** §5.4: the pair chosen by the read under way, while it is being written back. */
  private imposing: { rid: number; pair: Pair; acks: Set<NodeId> } | null = null;

  constructor(
    private readonly ctx: Context<RegisterReply>,
    private readonly options: MajorityOptions,
  ) {
    this.operations = new OperationQueue(ctx, (op) => this.begin(op));
  }

  start(): void {}
  onTimer(): void {}

  onRequest(request: unknown): void {
    this.operations.submit(request);
  }

  onMessage(from: NodeId, message: Envelope): void {
    if (!this.ctx.cluster.replicas.includes(from)) return;
    switch (message.kind) {
      case 'ACK':
        this.onAck(from, message.body as AckBody);
        return;
      case 'VALUE':
        this.onValue(from, message.body as ValueBody);
        return;
      case 'RACK':
        this.onRack(from, message.body as RackBody);
        return;
    }
  }

  private begin(op: RegisterRequest): void {
    if (op.op === 'read') this.read();
    else if (this.ctx.self !== writerOf(this.ctx)) {
      this.operations.complete({ error: 'only the writer (the first client) may write' });
    } else this.write(op.value);
  }

  /** upon ⟨Write | v⟩ */
  private write(value: string): void {
    //   wts := wts + 1; send [WRITE, wts, v] to all p ∈ Π
    this.wts += 1;
    this.writing = { ts: this.wts, acks: new Set() };
    this.ctx.broadcast(this.ctx.sign('WRITE', { ts: this.wts, value } satisfies WriteBody));
  }

  //   wait for [ACK, ts'] s.t. ts' = wts from > N/2 processes; trigger ⟨WriteReturn⟩
  private onAck(from: NodeId, body: AckBody): void {
    if (this.writing === null || body.ts !== this.writing.ts) return;
    this.writing.acks.add(from);
    if (this.writing.acks.size < this.ctx.cluster.quorum) return;
    this.writing = null;
    this.operations.complete({ ok: true });
  }

  /** upon ⟨Read⟩ */
  private read(): void {
    //   rid := rid + 1; send [READ, rid] to all p ∈ Π
    this.rid += 1;
    this.reading = { rid: this.rid, answers: new Map() };
    this.ctx.broadcast(this.ctx.sign('READ', { rid: this.rid } satisfies ReadBody));
  }

  //   wait for [VAL, r, ts', v'] s.t. r = rid from > N/2 processes
  private onValue(from: NodeId, body: ValueBody): void {
    const reading = this.reading;
    if (reading === null || body.rid !== reading.rid || reading.answers.has(from)) return;
    reading.answers.set(from, { ts: body.ts, value: body.value });
    if (reading.answers.size < this.ctx.cluster.quorum) return;
    this.reading = null;
    //   v̄ := the value with the highest timestamp ts'
    let best: Pair = { ts: 0, value: null };
    for (const a of reading.answers.values()) if (a.ts > best.ts) best = a;
    if (!this.options.atomic) {
      //   trigger ⟨ReadReturn | v̄⟩
      this.operations.complete({ value: best.value });
      return;
    }
    //   §5.4: send [RWRITE, rts, rval] to all p ∈ Π
    this.imposing = { rid: reading.rid, pair: best, acks: new Set() };
    this.ctx.broadcast(
      this.ctx.sign('RWRITE', {
        rid: reading.rid,
        ts: best.ts,
        value: best.value,
      } satisfies RwriteBody),
    );
  }

  //   §5.4: wait for [RACK, rts'] s.t. rts' = rts from > N/2 processes; return rval
  private onRack(from: NodeId, body: RackBody): void {
    const imposing = this.imposing;
    if (imposing === null || body.rid !== imposing.rid || body.ts !== imposing.pair.ts) return;
    imposing.acks.add(from);
    if (imposing.acks.size < this.ctx.cluster.quorum) return;
    this.imposing = null;
    this.operations.complete({ value: imposing.pair.value });
  }
}

export const majorityReplica: ProtocolFactory = (ctx) => new MajorityRegisterReplica(ctx);

export function majorityClient(options: MajorityOptions): ProtocolFactory<unknown, RegisterReply> {
  return (ctx) => new MajorityRegisterClient(ctx, options);
}
