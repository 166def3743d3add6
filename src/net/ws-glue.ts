/**
 * What the transport's socket code needs to run a handshake machine (./handshake-machine.ts)
 * over a WebSocket: the machine's state per socket, its timers, and ws's message data.
 */
import type { RawData, WebSocket } from 'ws';
import type { HandshakeEvent, HandshakeFrame, HandshakeTimer, Step } from './handshake-machine.js';

/** The path every bftkit WebSocket connects to. */
export const WS_PATH = '/bftkit';

/** A handshake machine's state, kept for one socket: `drive` returns what feeds it events. */
export function drive<S, A>(
  first: Step<S, A>,
  step: (state: S, event: HandshakeEvent) => Step<S, A>,
  perform: (action: A) => void,
): (event: HandshakeEvent) => void {
  let state = first.state;
  for (const action of first.actions) perform(action);
  return (event) => {
    const next = step(state, event);
    state = next.state;
    for (const action of next.actions) perform(action);
  };
}

/** The timers a handshake machine arms; each fires back into the machine as an event. */
export class HandshakeTimers {
  private readonly pending = new Map<HandshakeTimer, NodeJS.Timeout>();

  constructor(private readonly fire: (event: HandshakeEvent) => void) {}

  arm(timer: HandshakeTimer, ms: number): void {
    this.disarm(timer);
    const handle = setTimeout(() => {
      this.pending.delete(timer);
      this.fire({ type: 'timer', timer, now: Date.now() });
    }, ms);
    handle.unref();
    this.pending.set(timer, handle);
  }

  disarm(timer: HandshakeTimer): void {
    clearTimeout(this.pending.get(timer));
    this.pending.delete(timer);
  }
}

/** Close with `code`, and cut the socket if the peer does not answer the close in a second. */
export function closeSoon(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  setTimeout(() => ws.terminate(), 1_000).unref();
}

export function handshakeFrame(data: RawData, isBinary: boolean): HandshakeFrame {
  return { binary: isBinary, size: rawLength(data), text: () => rawBuffer(data).toString('utf8') };
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, b) => sum + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

export function rawBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? Buffer.from(data) : data;
}
