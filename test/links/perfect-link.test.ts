/**
 * Perfect links over fair-loss links (src/links/perfect-link.ts, seeds/002 §2.3), driven by
 * hand: a sender and a receiver whose frames the test carries, loses, duplicates and reorders.
 * Each message is delivered once and in order, what is lost is retransmitted until
 * acknowledged, and queues stay bounded.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope-types.js';
import {
  defaultLinkOptions,
  type LinkFrame,
  type LinkOptions,
  PerfectLinks,
} from '../../src/links/perfect-link.js';

const message = (n: number): Envelope => ({ kind: 'M', from: 'a', body: { n }, sig: 's' });

/** One end of a link: the frames it transmitted, and its armed timers with their delays. */
function end(incarnation: number, options: Partial<LinkOptions> = {}) {
  const frames: { to: string; frame: LinkFrame }[] = [];
  const timers = new Map<string, number>();
  const links = new PerfectLinks(
    incarnation,
    {
      transmit: (to, frame) => frames.push({ to, frame }),
      setTimer: (name, ms) => timers.set(name, ms),
      cancelTimer: (name) => timers.delete(name),
    },
    { ...defaultLinkOptions, ...options },
  );
  /** Take the frames transmitted so far. */
  const take = () => frames.splice(0).map((f) => f.frame);
  return { links, timers, take };
}

const delivered = (r: ReturnType<PerfectLinks['onFrame']>) =>
  r.map((d) => (d.message.body as { n: number }).n);

describe('PerfectLinks', () => {
  it('delivers each message once and in the order sent, whatever order the frames arrive in', () => {
    const a = end(1);
    const b = end(7);
    for (let n = 1; n <= 3; n++) a.links.send('b', message(n));
    const [f1, f2, f3] = a.take();
    expect(delivered(b.links.onFrame('a', f3!))).toEqual([]); // buffered: 1 and 2 are missing
    expect(delivered(b.links.onFrame('a', f1!))).toEqual([1]);
    expect(delivered(b.links.onFrame('a', f1!))).toEqual([]); // a duplicate
    expect(delivered(b.links.onFrame('a', f2!))).toEqual([2, 3]);
    // Each DATA is acknowledged at once (ackDelayMs 0), cumulatively: the last ACK covers 3.
    expect(b.take().at(-1)).toEqual({ t: 'a', i: 1, s: 3 });
  });

  it('retransmits what is not acknowledged, backing off, until an ACK arrives', () => {
    const a = end(1, { retransmitMs: 40, maxRetransmitMs: 100 });
    const b = end(2);
    a.links.send('b', message(1));
    a.take(); // lost
    expect(a.timers.get('b')).toBe(40);
    a.links.onTimer('b');
    const [again] = a.take();
    expect(again).toMatchObject({ t: 'd', s: 1 });
    expect(a.timers.get('b')).toBe(80);
    a.links.onTimer('b');
    a.take();
    expect(a.timers.get('b')).toBe(100); // capped at maxRetransmitMs
    expect(delivered(b.links.onFrame('a', again!))).toEqual([1]);
    const [ack] = b.take();
    a.links.onFrame('b', ack!);
    expect(a.links.pending('b')).toBe(0);
    expect(a.timers.has('b')).toBe(false);
  });

  it('an ACK for another incarnation of the sender forgets nothing', () => {
    const a = end(5);
    a.links.send('b', message(1));
    a.links.onFrame('b', { t: 'a', i: 4, s: 1 });
    expect(a.links.pending('b')).toBe(1);
  });

  it('a receiver that restarted resumes from the base the sender still keeps', () => {
    const a = end(1);
    a.links.send('b', message(1));
    a.links.send('b', message(2));
    const first = end(2);
    for (const frame of a.take()) first.links.onFrame('a', frame);
    a.links.onFrame('b', first.take().at(-1)!); // 1 and 2 are acknowledged
    a.links.send('b', message(3));
    // A fresh receiver (restarted, nothing remembered) gets DATA 3 with base 3: it delivers it.
    const restarted = end(3);
    const [frame] = a.take();
    expect(frame).toMatchObject({ s: 3, b: 3 });
    expect(delivered(restarted.links.onFrame('a', frame!))).toEqual([3]);
  });

  it('a bounded queue gives up the oldest message, counts it, and the receiver moves past it', () => {
    const a = end(1, { maxQueue: 2 });
    for (let n = 1; n <= 3; n++) a.links.send('b', message(n));
    expect(a.links.dropped).toBe(1);
    expect(a.links.pending('b')).toBe(2);
    a.take(); // all lost
    a.links.onTimer('b');
    const b = end(2);
    const got = a.take().flatMap((frame) => delivered(b.links.onFrame('a', frame)));
    expect(got).toEqual([2, 3]);
  });

  it('with a delayed ACK, one cumulative ACK answers what arrived meanwhile', () => {
    const a = end(1);
    const b = end(2, { ackDelayMs: 5, ackEvery: 100 });
    for (let n = 1; n <= 3; n++) a.links.send('b', message(n));
    for (const frame of a.take()) b.links.onFrame('a', frame);
    expect(b.take()).toEqual([]);
    expect(b.timers.has('#ack:a')).toBe(true);
    b.links.onTimer('#ack:a');
    expect(b.take()).toEqual([{ t: 'a', i: 1, s: 3 }]);
  });

  it('with a delayed ACK, a DATA back carries the ACK and no ACK frame is sent', () => {
    const a = end(1, { ackDelayMs: 5, ackEvery: 100 });
    const b = end(2, { ackDelayMs: 5, ackEvery: 100 });
    let ackFrames = 0;
    // A steady exchange: a sends two, b answers one, a hundred times over.
    for (let round = 0; round < 100; round++) {
      a.links.send('b', message(2 * round));
      a.links.send('b', message(2 * round + 1));
      for (const frame of a.take()) {
        if (frame.t === 'a') ackFrames++;
        b.links.onFrame('a', frame);
      }
      b.links.send('a', message(round));
      for (const frame of b.take()) {
        if (frame.t === 'a') ackFrames++;
        a.links.onFrame('b', frame);
      }
    }
    expect(ackFrames).toBe(0);
    // b's DATA acknowledged everything a sent, so a keeps nothing; b's delayed ACK is off.
    expect(a.links.pending('b')).toBe(0);
    expect(b.timers.has('#ack:a')).toBe(false);
    // a still owes b an ACK for b's last message: only a's timer, after silence, sends one.
    expect(b.links.pending('a')).toBe(1);
    expect(a.timers.has('#ack:b')).toBe(true);
    a.links.onTimer('#ack:b');
    for (const frame of a.take()) b.links.onFrame('a', frame);
    expect(b.links.pending('a')).toBe(0);
  });

  it('with a delayed ACK, what a dead connection swallowed is resent when it comes back', () => {
    const a = end(1, { ackDelayMs: 5, ackEvery: 100, retransmitMs: 1_000 });
    const b = end(2, { ackDelayMs: 5, ackEvery: 100 });
    a.links.send('b', message(1));
    for (const frame of a.take()) b.links.onFrame('a', frame);
    // The connection dies with 2 and 3 written into it: lost, no timer has fired.
    a.links.send('b', message(2));
    a.links.send('b', message(3));
    a.take();
    a.links.resend('b'); // the transport's peerUp
    const got = a.take().flatMap((frame) => delivered(b.links.onFrame('a', frame)));
    expect(got).toEqual([2, 3]);
  });
});
