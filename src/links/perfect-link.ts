/**
 * Perfect point-to-point links over fair-loss links (seeds/002 §2.3): retransmit until
 * acknowledged ("stubborn" delivery) and deliver each message once. bftkit's links are also
 * FIFO: a receiver delivers a sender's messages in the order they were sent.
 *
 *   upon ⟨pl.send | q, m⟩:   seq := seq+1; keep (seq, m) until acked; sl.send(q, DATA(seq, m))
 *   upon timeout:            resend every unacked DATA (interval doubles while nothing is acked)
 *   upon sl.deliver DATA:    if seq unseen: buffer; deliver the contiguous run in order;
 *                            ACK the highest contiguous seq (cumulative)
 *   upon sl.deliver ACK(s):  forget every DATA with seq ≤ s
 *
 * Over a reliable stream (a host that sets ackDelayMs > 0: TCP loses nothing while the
 * connection is up) the ACK is not a frame of its own while traffic flows both ways: the next
 * DATA to the peer carries it (`k`: the peer's incarnation and the highest contiguous seq
 * received from it). A standalone ACK goes only after ackDelayMs with nothing to send back, or
 * once ackEvery messages wait for one. There, what a connection lost when it died is resent
 * when it comes back up (`resend`), and the timer is only a slow safety net.
 *
 * Sequence numbers belong to one incarnation of the sender (a restart or a twin gets a new
 * one), and every DATA carries the sender's base — the lowest seq it still keeps — so a
 * receiver that restarted, or a sender whose bounded queue overflowed, resynchronise
 * without a handshake. Memory is bounded on both sides: a peer that never acks costs only
 * its own queue, and a receiver buffers a bounded window ahead of the next expected seq.
 */
import { z } from 'zod';
import { counterSchema } from '../core/bounds.js';
import type { Envelope } from '../core/envelope-types.js';
import type { NodeId } from '../core/protocol.js';

export const linkFrameSchema = z.discriminatedUnion('t', [
  z
    .object({
      t: z.literal('d'),
      i: counterSchema(),
      s: counterSchema(1),
      b: counterSchema(1),
      m: z.unknown(),
      /** Piggybacked cumulative ACK: [the receiver's incarnation, highest contiguous seq]. */
      k: z.tuple([counterSchema(), counterSchema()]).optional(),
    })
    .strict(),
  z
    .object({
      t: z.literal('a'),
      i: counterSchema(),
      s: counterSchema(),
    })
    .strict(),
]);
export type LinkFrame =
  | { t: 'd'; i: number; s: number; b: number; m: Envelope; k?: [number, number] }
  | { t: 'a'; i: number; s: number };

export interface LinkOptions {
  /** First retransmission interval; doubles while a peer acknowledges nothing. */
  retransmitMs: number;
  maxRetransmitMs: number;
  /** Unacknowledged messages kept per peer; beyond it the oldest are given up (and counted). */
  maxQueue: number;
  /** Out-of-order messages a receiver buffers ahead of the next expected one. */
  window: number;
  /** How many incarnations of one sender a receiver tracks at once (twins, restarts). */
  incarnationsPerPeer: number;
  /**
   * Delayed acknowledgement: 0 acknowledges every DATA at once (the simulator's lossy
   * network). Over a reliable stream an ACK only lets the sender forget a message, so a host
   * may wait this long for a DATA of its own to carry the ACK, and only then send one
   * cumulative ACK for everything that arrived meanwhile — sooner once `ackEvery` messages
   * wait. Must stay well below `retransmitMs`.
   */
  ackDelayMs: number;
  /** With ackDelayMs > 0: acknowledge at once when this many DATA frames wait for an ACK. */
  ackEvery: number;
}

export const defaultLinkOptions: LinkOptions = {
  retransmitMs: 40,
  maxRetransmitMs: 1_000,
  maxQueue: 8_192,
  window: 4_096,
  incarnationsPerPeer: 4,
  ackDelayMs: 0,
  ackEvery: 128,
};

export interface LinkIO {
  transmit(to: NodeId, frame: LinkFrame): void;
  /** One timer per name: a peer's id (retransmission) or ACK_TIMER + id (delayed ACK). */
  setTimer(name: string, delayMs: number): void;
  cancelTimer(name: string): void;
}

/** Prefix of a delayed-ACK timer's name (a node id never contains '#'). */
export const ACK_TIMER = '#ack:';

interface Outbound {
  nextSeq: number;
  unacked: Map<number, Envelope>;
  interval: number;
  armed: boolean;
}

interface Inbound {
  next: number;
  buffered: Map<number, Envelope>;
  /** Delayed ACK: DATA frames received since the last ACK for this incarnation. */
  unacked: number;
}

export class PerfectLinks {
  private readonly out = new Map<NodeId, Outbound>();
  private readonly in = new Map<NodeId, Map<number, Inbound>>();
  /** Delayed ACK: peers with an ACK timer armed. */
  private readonly ackArmed = new Set<NodeId>();
  /** Messages given up because a peer's queue overflowed. */
  dropped = 0;

  constructor(
    private readonly incarnation: number,
    private readonly io: LinkIO,
    private readonly options: LinkOptions = defaultLinkOptions,
  ) {}

  /**
   * pl.send: returns the sequence number, which with the incarnation names the message.
   * `acknowledge: false` keeps the ACK owed to `to` off this frame: the runtime's ctx.sendAhead
   * frames leave before the step's writes are durable, and an ACK means "delivered, and what
   * that did is on disk" — a crash before the write would otherwise lose the message for good.
   */
  send(to: NodeId, message: Envelope, acknowledge = true): number {
    const link = this.outbound(to);
    const seq = link.nextSeq++;
    link.unacked.set(seq, message);
    if (link.unacked.size > this.options.maxQueue) {
      const oldest = link.unacked.keys().next();
      if (!oldest.done) link.unacked.delete(oldest.value);
      this.dropped++;
    }
    this.io.transmit(to, this.data(to, seq, this.base(link), message, acknowledge));
    this.arm(to, link);
    return seq;
  }

  /** The retransmission timer for `peer` fired (or, ACK_TIMER + peer, its delayed ACK). */
  onTimer(name: string): void {
    if (name.startsWith(ACK_TIMER)) {
      this.sendAcks(name.slice(ACK_TIMER.length));
      return;
    }
    const peer = name;
    const link = this.out.get(peer);
    if (link === undefined) return;
    link.armed = false;
    if (link.unacked.size === 0) return;
    const base = this.base(link);
    for (const [seq, message] of link.unacked)
      this.io.transmit(peer, this.data(peer, seq, base, message));
    link.interval = Math.min(link.interval * 2, this.options.maxRetransmitMs);
    this.arm(peer, link);
  }

  /**
   * sl.deliver: returns the messages to deliver now, in FIFO order, each with its sequence
   * number and the sender's incarnation. `message` of a DATA frame is delivered as is; its
   * admission (shape, signature) is the caller's job.
   */
  onFrame(
    from: NodeId,
    frame: LinkFrame,
  ): { incarnation: number; seq: number; message: Envelope }[] {
    if (frame.t === 'a') {
      this.onAck(from, frame);
      return [];
    }
    if (frame.k !== undefined) this.onAck(from, { i: frame.k[0], s: frame.k[1] });
    const link = this.inbound(from, frame.i, frame.b);
    if (frame.b > link.next) {
      // The sender gave these up (queue overflow) or we restarted: resume from its base.
      for (const seq of link.buffered.keys()) if (seq < frame.b) link.buffered.delete(seq);
      link.next = frame.b;
    }
    if (frame.s >= link.next && frame.s < link.next + this.options.window)
      link.buffered.set(frame.s, frame.m);
    const delivered: { incarnation: number; seq: number; message: Envelope }[] = [];
    for (let m = link.buffered.get(link.next); m !== undefined; m = link.buffered.get(link.next)) {
      link.buffered.delete(link.next);
      delivered.push({ incarnation: frame.i, seq: link.next, message: m });
      link.next++;
    }
    if (this.options.ackDelayMs <= 0) {
      this.io.transmit(from, { t: 'a', i: frame.i, s: link.next - 1 });
    } else if (++link.unacked >= this.options.ackEvery) {
      this.sendAcks(from);
    } else if (!this.ackArmed.has(from)) {
      this.ackArmed.add(from);
      this.io.setTimer(ACK_TIMER + from, this.options.ackDelayMs);
    }
    return delivered;
  }

  /**
   * A DATA frame to `peer`, carrying the ACK owed to its latest incarnation if one is owed
   * (delayed ACK only: otherwise every DATA was acknowledged on arrival).
   */
  private data(
    peer: NodeId,
    seq: number,
    base: number,
    message: Envelope,
    acknowledge = true,
  ): LinkFrame {
    const frame: LinkFrame = { t: 'd', i: this.incarnation, s: seq, b: base, m: message };
    const byIncarnation = this.in.get(peer);
    if (byIncarnation === undefined || !acknowledge) return frame;
    let latest = -1;
    for (const incarnation of byIncarnation.keys()) latest = Math.max(latest, incarnation);
    const inbound = byIncarnation.get(latest);
    if (inbound === undefined || inbound.unacked === 0) return frame;
    inbound.unacked = 0;
    frame.k = [latest, inbound.next - 1];
    // Nothing else owed: the standalone ACK is not needed.
    let owed = false;
    for (const link of byIncarnation.values()) owed ||= link.unacked > 0;
    if (!owed && this.ackArmed.delete(peer)) this.io.cancelTimer(ACK_TIMER + peer);
    return frame;
  }

  /** Delayed ACK: one cumulative ACK per incarnation of `peer` that has DATA unacknowledged. */
  private sendAcks(peer: NodeId): void {
    if (this.ackArmed.delete(peer)) this.io.cancelTimer(ACK_TIMER + peer);
    for (const [incarnation, link] of this.in.get(peer) ?? []) {
      if (link.unacked === 0) continue;
      link.unacked = 0;
      this.io.transmit(peer, { t: 'a', i: incarnation, s: link.next - 1 });
    }
  }

  /**
   * The link to `peer` came (back) up: resend what it has not acknowledged now, rather than
   * when the timer fires, and restart the back-off. A host over a reliable stream (TCP) only
   * loses frames while a connection is down or overflowing, so it can keep the timer slow
   * and rely on this.
   */
  resend(peer: NodeId): void {
    const link = this.out.get(peer);
    if (link === undefined || link.unacked.size === 0) return;
    const base = this.base(link);
    for (const [seq, message] of link.unacked)
      this.io.transmit(peer, this.data(peer, seq, base, message));
    link.interval = this.options.retransmitMs;
    if (link.armed) {
      link.armed = false;
      this.io.cancelTimer(peer);
    }
    this.arm(peer, link);
  }

  /** Messages sent but not yet acknowledged, per peer (for status pages). */
  pending(peer: NodeId): number {
    return this.out.get(peer)?.unacked.size ?? 0;
  }

  private onAck(from: NodeId, frame: { i: number; s: number }): void {
    const link = this.out.get(from);
    if (link === undefined || frame.i !== this.incarnation) return;
    let progress = false;
    for (const seq of link.unacked.keys()) {
      if (seq > frame.s) break;
      link.unacked.delete(seq);
      progress = true;
    }
    if (progress) link.interval = this.options.retransmitMs;
    if (link.unacked.size === 0 && link.armed) {
      link.armed = false;
      this.io.cancelTimer(from);
    }
  }

  private base(link: Outbound): number {
    const first = link.unacked.keys().next();
    return first.done ? link.nextSeq : first.value;
  }

  private arm(peer: NodeId, link: Outbound): void {
    if (link.armed) return;
    link.armed = true;
    this.io.setTimer(peer, link.interval);
  }

  private outbound(peer: NodeId): Outbound {
    let link = this.out.get(peer);
    if (link === undefined) {
      link = { nextSeq: 1, unacked: new Map(), interval: this.options.retransmitMs, armed: false };
      this.out.set(peer, link);
    }
    return link;
  }

  private inbound(peer: NodeId, incarnation: number, base: number): Inbound {
    let byIncarnation = this.in.get(peer);
    if (byIncarnation === undefined) {
      byIncarnation = new Map();
      this.in.set(peer, byIncarnation);
    }
    let link = byIncarnation.get(incarnation);
    if (link === undefined) {
      link = { next: base, buffered: new Map(), unacked: 0 };
      byIncarnation.set(incarnation, link);
      if (byIncarnation.size > this.options.incarnationsPerPeer) {
        const oldest = [...byIncarnation.keys()].sort((a, b) => a - b)[0];
        if (oldest !== undefined) byIncarnation.delete(oldest);
      }
    }
    return link;
  }
}
