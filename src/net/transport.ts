/**
 * The WebSocket transport: authenticated fair-loss links between the members of one cluster.
 *
 * Connection model — one connection per pair, always opened by the same side:
 *   - a replica dials every replica listed AFTER it in the cluster file and accepts
 *     connections from replicas listed before it (a connection from the wrong direction is
 *     refused, so two replicas never race to open two connections);
 *   - a client dials every replica and never listens; a replica sends to a client over the
 *     connection that client opened (no connection: the frame is dropped and counted).
 * A newer authenticated connection from the same peer replaces the older one (the peer
 * restarted, or the old one is half-open). The dialing side reconnects with capped
 * exponential back-off and jitter. Dead connections are found with WebSocket pings: one from
 * which nothing at all (frame, ping or pong) arrived for SILENT_BEATS heartbeats is closed, and
 * a heartbeat that fires late — this process was starved of CPU, so what the peer sent may be
 * sitting unread — judges nobody. A slow machine makes links slow, never makes them drop.
 *
 * Every connection starts with the handshake of ./handshake.ts; only after it do frames reach
 * `onFrame(peer, text)`, with `peer` the authenticated id. Frames are bounded by ws's
 * maxPayload (a bigger frame closes the connection, status 1009, and is counted); sends
 * are dropped and counted when the socket's buffer is over its limit or no connection is up —
 * the perfect links above retransmit, so the transport never has to queue.
 */
import type { Server } from 'node:http';
import { Duplex } from 'node:stream';
import { type RawData, WebSocket } from 'ws';
import { DEFAULT_MAX_FRAME_BYTES } from '../core/bounds.js';
import type { NodeId } from '../core/protocol.js';
import { toHex } from '../crypto/hex.js';
import { Acceptor, type AcceptorHost } from './acceptor.js';
import { type Channel, freshEphemeral, MAC_BYTES } from './channel.js';
import { freshNonce } from './handshake.js';
import {
  type Candidate,
  CLOSE_BAD_MAC,
  CLOSE_REFUSED,
  CLOSE_REPLACED,
  type DialerAction,
  type DialerContext,
  dialerStep,
  type SideContext,
  startDialer,
} from './handshake-machine.js';
import {
  type Conn,
  type Direction,
  mayAccept,
  newPeer,
  type Peer,
  type PeerStatus,
  peerStatus,
  shouldDial,
  takeToken,
} from './peers.js';
import {
  type DropReason,
  defaults,
  type NetLogger,
  type TransportEvents,
  type TransportOptions,
  type TransportRejection,
} from './transport-options.js';
import {
  closeSoon,
  drive,
  HandshakeTimers,
  handshakeFrame,
  rawBuffer,
  WS_PATH,
} from './ws-glue.js';

export { ADDRESS_BACKOFF_MS, REFUSALS_PER_SECOND } from './address-guard.js';
export {
  CLOSE_BAD_MAC,
  CLOSE_REFUSED,
  CLOSE_REPLACED,
  HELLO_TIMEOUT_MS,
} from './handshake-machine.js';
export type { Direction, PeerSpec, PeerStatus } from './peers.js';
export type {
  DropReason,
  NetLogger,
  TransportEvents,
  TransportOptions,
  TransportRejection,
} from './transport-options.js';
export { WS_PATH } from './ws-glue.js';

/** How long a peer far over its frame budget is refused. */
export const BAN_MS = 10_000;

/** Heartbeats without a word from the peer before its connection is closed. */
const SILENT_BEATS = 3;

const silent: NetLogger = { debug() {}, info() {}, warn() {} };

/** One socket's run of the dialer's handshake. */
interface DialRun {
  readonly peer: Peer;
  readonly ws: WebSocket;
  readonly timers: HandshakeTimers;
  /** Set once the handshake is done: frames then go to `deliver`. */
  conn: Conn | null;
}

export class Transport {
  readonly rejections: Partial<Record<TransportRejection, number>> = {};
  readonly drops: Partial<Record<DropReason, number>> = {};
  framesIn = 0;
  framesOut = 0;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly log: NetLogger;
  private readonly maxFrameBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly handshakeTimeoutMs: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly random: () => number;
  private readonly publicKeyHex: string;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly heartbeatMs: number;
  private lastBeat = Date.now();
  private readonly acceptor: Acceptor;
  private readonly framesPerSecond: { client: number; replica: number };
  private readonly corked = new Set<Duplex>();
  private closed = false;

  constructor(
    private readonly options: TransportOptions,
    private readonly events: TransportEvents,
  ) {
    this.log = options.logger ?? silent;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxBufferedBytes = options.maxBufferedBytes ?? defaults.maxBufferedBytes;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? defaults.handshakeTimeoutMs;
    this.backoff = options.backoff ?? defaults.backoff;
    this.random = options.random ?? Math.random;
    this.publicKeyHex = toHex(options.publicKey);
    this.framesPerSecond = options.framesPerSecond ?? defaults.framesPerSecond;
    for (const spec of options.peers) {
      if (spec.id === options.self) continue;
      this.peers.set(spec.id, newPeer(spec));
    }
    this.acceptor = new Acceptor(this.acceptorHost(), {
      maxPending: options.maxPendingHandshakes ?? defaults.maxPendingHandshakes,
      maxPendingPerAddress: options.maxPendingPerAddress ?? defaults.maxPendingPerAddress,
      maxPayload: this.maxFrameBytes + MAC_BYTES,
    });
    this.heartbeatMs = options.heartbeatMs ?? defaults.heartbeatMs;
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Accept WebSocket upgrades on `server` (replicas only; clients never listen). */
  attach(server: Server): void {
    if (this.options.rank === null) throw new Error('a client transport does not listen');
    this.acceptor.attach(server);
  }

  /** Start dialing every peer this side is responsible for connecting to. */
  start(): void {
    for (const peer of this.peers.values())
      if (shouldDial(this.options.rank, peer.spec)) this.dial(peer);
  }
  /** Send a frame over the peer's connection, or drop it (and count why). */
  send(to: NodeId, text: string): boolean {
    const peer = this.peers.get(to);
    if (peer === undefined) return this.drop(null, 'unknown-peer');
    const conn = peer.conn;
    if (conn === null || conn.ws.readyState !== WebSocket.OPEN)
      return this.drop(peer, 'not-connected');
    if (conn.ws.bufferedAmount > this.maxBufferedBytes) return this.drop(peer, 'backpressure');
    if (
      text.length > this.maxFrameBytes ||
      (text.length * 3 > this.maxFrameBytes && Buffer.byteLength(text) > this.maxFrameBytes)
    )
      return this.drop(peer, 'too-large');
    this.cork(conn.ws);
    conn.ws.send(conn.channel.seal(text));
    peer.framesOut++;
    this.framesOut++;
    return true;
  }

  /**
   * Frames sent in one synchronous burst (a runtime flush sends many) leave each socket in
   * one write: the socket stays corked until the current operation ends (process.nextTick).
   */
  private cork(ws: WebSocket): void {
    // ws keeps its net.Socket in a private field; without one (closed) there is nothing to cork.
    const socket: unknown = Reflect.get(ws, '_socket');
    if (!(socket instanceof Duplex) || this.corked.has(socket)) return;
    socket.cork();
    this.corked.add(socket);
    if (this.corked.size === 1) process.nextTick(() => this.uncorkAll());
  }

  private uncorkAll(): void {
    for (const socket of this.corked) socket.uncork();
    this.corked.clear();
  }

  /**
   * Disconnect `peer` and refuse it for `ms` (its handshakes are refused as 'banned'; we do
   * not dial it either): a peer that keeps sending what fails admission costs itself.
   */
  ban(peer: NodeId, ms: number): void {
    const state = this.peers.get(peer);
    if (state === undefined) return;
    state.bannedUntil = Date.now() + ms;
    const conn = state.conn;
    if (conn !== null) {
      conn.ws.pause(); // read nothing more of what it may have queued up
      closeSoon(conn.ws, CLOSE_REFUSED, 'banned');
    }
  }

  isConnected(peer: NodeId): boolean {
    const state = this.peers.get(peer);
    return state !== undefined && state.conn !== null;
  }

  status(): PeerStatus[] {
    return [...this.peers.values()].map(peerStatus);
  }

  /** Close every connection and stop reconnecting. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const peer of this.peers.values()) {
      if (peer.retry !== null) clearTimeout(peer.retry);
      peer.retry = null;
      peer.dialing?.terminate();
      peer.conn?.ws.terminate();
      peer.conn = null;
    }
    this.acceptor.close();
  }

  // --- dialing ------------------------------------------------------------------------

  private dial(peer: Peer): void {
    if (this.closed || peer.conn !== null || peer.dialing !== null) return;
    const banned = peer.bannedUntil - Date.now();
    if (banned > 0) {
      peer.retry = setTimeout(() => {
        peer.retry = null;
        this.dial(peer);
      }, banned);
      peer.retry.unref();
      return;
    }
    const ws = this.connect(peer);
    if (ws === null) return;
    peer.dialing = ws;
    this.runDialer(peer, ws);
  }

  /** A new WebSocket to `peer`'s address, or null (no address, or ws refused the URL). */
  private connect(peer: Peer): WebSocket | null {
    const { host, port } = peer.spec;
    if (host === undefined || port === undefined) return null;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    try {
      return new WebSocket(`ws://${hostPart}:${port}${WS_PATH}`, {
        maxPayload: this.maxFrameBytes + MAC_BYTES,
        perMessageDeflate: false,
        handshakeTimeout: this.handshakeTimeoutMs,
      });
    } catch (e) {
      if (peer.lastError === null)
        this.log.warn({ peer: peer.spec.id, err: (e as Error).message }, 'cannot dial');
      peer.lastError = (e as Error).message;
      this.scheduleRedial(peer);
      return null;
    }
  }

  /** Feed the socket's events to the dialer's handshake machine; frames after it to `deliver`. */
  private runDialer(peer: Peer, ws: WebSocket): void {
    const ctx: DialerContext = {
      ...this.sideContext(),
      peer: peer.spec.id,
      peerKey: peer.spec.publicKey,
    };
    const timers = new HandshakeTimers((event) => feed(event));
    const run: DialRun = { peer, ws, timers, conn: null };
    const feed = drive(
      startDialer(ctx),
      (state, event) => dialerStep(ctx, state, event),
      (action) => this.dialerAction(run, action),
    );
    ws.on('open', () => feed({ type: 'opened' }));
    ws.on('message', (data, isBinary) => {
      if (run.conn !== null) this.deliver(peer, run.conn, data, isBinary);
      else feed({ type: 'frame', frame: handshakeFrame(data, isBinary), now: Date.now() });
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.frameTooLarge(peer.spec.id);
      if (peer.attempts === 0 || run.conn !== null)
        this.log.debug({ peer: peer.spec.id, err: err.message }, 'connection error');
      peer.lastError = err.message;
    });
    ws.on('close', (code, reason) => {
      feed({ type: 'closed', code, reason: reason.toString() });
      if (peer.dialing === ws) peer.dialing = null;
      if (peer.conn?.ws === ws) this.lost(peer);
      this.scheduleRedial(peer);
    });
  }

  private dialerAction(run: DialRun, action: DialerAction): void {
    const { peer, ws } = run;
    const id = peer.spec.id;
    switch (action.type) {
      case 'send':
        ws.send(action.text);
        return;
      case 'arm':
        run.timers.arm(action.timer, action.ms);
        return;
      case 'disarm':
        run.timers.disarm(action.timer);
        return;
      case 'reject':
        peer.lastError = `refused ${id}: ${action.reason}: ${action.detail}`;
        this.countRejection(action.reason, { peer: id, side: 'dialer', detail: action.detail });
        return;
      case 'close':
        closeSoon(ws, action.code, action.reason);
        return;
      case 'established':
        peer.dialing = null;
        peer.attempts = 0;
        run.conn = this.established(peer, ws, 'out', action.channel);
        return;
      case 'refused':
        if (action.by === 'us') peer.lastError = `refused ${id}: ${action.reason}`;
        else this.refusedByPeer(peer, action.reason);
        return;
    }
  }

  private refusedByPeer(peer: Peer, reason: string): void {
    const error = `refused by ${peer.spec.id}: ${reason}`;
    // Log a change of state, not every retry of the same refusal.
    if (peer.lastError !== error)
      this.log.warn({ peer: peer.spec.id, reason }, 'handshake refused by peer');
    peer.lastError = error;
  }

  private scheduleRedial(peer: Peer): void {
    if (this.closed || peer.retry !== null || peer.conn !== null || peer.dialing !== null) return;
    const { initialMs, maxMs } = this.backoff;
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(peer.attempts, 20));
    const delay = Math.round(ceiling * (0.5 + 0.5 * this.random()));
    peer.attempts++;
    peer.retry = setTimeout(() => {
      peer.retry = null;
      this.dial(peer);
    }, delay);
    peer.retry.unref();
  }

  /** What both sides of every handshake bring: this node, and fresh secrets per connection. */
  private sideContext(): SideContext {
    return {
      cluster: this.options.cluster,
      self: this.options.self,
      publicKeyHex: this.publicKeyHex,
      signer: this.options.signer,
      backend: this.options.backend,
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      nonce: freshNonce(),
      ephemeral: freshEphemeral(),
    };
  }

  /** What the acceptor (./acceptor.ts) may do with this transport. */
  private acceptorHost(): AcceptorHost {
    return {
      log: this.log,
      closing: () => this.closed,
      side: () => this.sideContext(),
      candidate: (id) => this.candidate(id),
      countRejection: (reason, data) => this.countRejection(reason, data),
      established: (peer, ws, channel) => this.established(peer, ws, 'in', channel),
      deliver: (peer, conn, data, isBinary) => this.deliver(peer, conn, data, isBinary),
      frameTooLarge: (peer) => this.frameTooLarge(peer.spec.id),
      socketClosed: (peer, ws) => {
        if (peer.conn?.ws === ws) this.lost(peer);
      },
    };
  }

  /** The member a hello claims to be (the id is untrusted: a Map lookup). */
  private candidate(id: string): Candidate<Peer> | undefined {
    const peer = this.peers.get(id);
    if (peer === undefined) return undefined;
    return {
      peer,
      publicKey: peer.spec.publicKey,
      mayAccept: mayAccept(this.options.rank, peer.spec),
      bannedUntil: peer.bannedUntil,
    };
  }

  // --- established connections ---------------------------------------------------------

  private established(peer: Peer, ws: WebSocket, direction: Direction, channel: Channel): Conn {
    const conn: Conn = { ws, direction, channel, broken: false, heard: true, silentBeats: 0 };
    if (this.closed) {
      ws.terminate();
      conn.broken = true;
      return conn;
    }
    const old = peer.conn;
    const heard = () => {
      conn.heard = true;
    };
    ws.on('pong', heard);
    ws.on('ping', heard);
    ws.on('message', heard);
    peer.conn = conn;
    peer.connectedSince = Date.now();
    peer.lastError = null;
    if (old !== null) closeSoon(old.ws, CLOSE_REPLACED, 'replaced');
    this.log.info({ peer: peer.spec.id, direction }, 'peer connected');
    this.events.peerUp?.(peer.spec.id, direction);
    return conn;
  }

  private lost(peer: Peer): void {
    peer.conn = null;
    peer.connectedSince = null;
    this.log.info({ peer: peer.spec.id }, 'peer disconnected');
    this.events.peerDown?.(peer.spec.id);
    if (shouldDial(this.options.rank, peer.spec)) {
      peer.attempts = 0;
      this.scheduleRedial(peer);
    }
  }

  private deliver(peer: Peer, conn: Conn, data: RawData, isBinary: boolean): void {
    if (conn.broken) return;
    // Banned, its connection closing: what it sent meanwhile would cost us, and is its own loss.
    if (peer.bannedUntil > Date.now()) {
      this.countRejection('banned', { peer: peer.spec.id, detail: 'frame from a banned peer' });
      return;
    }
    const text = isBinary ? conn.channel.open(rawBuffer(data)) : null;
    if (text === null) {
      // Injected, altered, replayed, reordered or dropped on the way: the stream is not the
      // peer's any more. Close it; the dialer reconnects, and the links resend.
      conn.broken = true;
      this.countRejection('bad-mac', {
        peer: peer.spec.id,
        detail: isBinary ? 'frame MAC does not verify' : 'unauthenticated text frame',
      });
      conn.ws.pause();
      closeSoon(conn.ws, CLOSE_BAD_MAC, 'bad mac');
      return;
    }
    peer.framesIn++;
    this.framesIn++;
    if (!this.withinBudget(peer)) {
      this.events.throttled?.(peer.spec.id);
      return;
    }
    this.events.frame(peer.spec.id, text);
  }

  /**
   * The peer's frame budget (peers.ts: takeToken). A frame over budget is dropped unread; a
   * peer that sent another second's worth over budget is banned for a back-off period.
   */
  private withinBudget(peer: Peer): boolean {
    const rate = peer.spec.replica ? this.framesPerSecond.replica : this.framesPerSecond.client;
    const verdict = takeToken(peer, rate, Date.now());
    if (verdict === 'ban') {
      this.countRejection('over-budget', { peer: peer.spec.id, detail: `over ${rate} frames/s` });
      this.ban(peer.spec.id, BAN_MS);
    }
    return verdict === 'ok';
  }

  private beat(): void {
    const now = Date.now();
    this.acceptor.sweep(now);
    // Late by half a period or more: our event loop was stalled, and the answers to the last
    // pings may be unread in the socket buffers (timers run before I/O). Judge nobody now.
    const onTime = now - this.lastBeat < this.heartbeatMs * 1.5;
    this.lastBeat = now;
    for (const peer of this.peers.values()) {
      const conn = peer.conn;
      if (conn === null) continue;
      if (conn.heard) conn.silentBeats = 0;
      else if (onTime) conn.silentBeats++;
      conn.heard = false;
      if (conn.silentBeats >= SILENT_BEATS) {
        this.log.warn(
          { peer: peer.spec.id, silentMs: SILENT_BEATS * this.heartbeatMs },
          'peer silent (no frame, ping or pong); closing',
        );
        conn.ws.terminate();
        continue;
      }
      conn.ws.ping();
    }
  }

  // --- accounting ---------------------------------------------------------------------

  private frameTooLarge(peer: NodeId): void {
    this.countRejection('frame-too-large', {
      peer,
      detail: `frame over ${this.maxFrameBytes} bytes; connection closed`,
    });
  }

  private countRejection(reason: TransportRejection, data: Record<string, unknown>): void {
    const count = (this.rejections[reason] ?? 0) + 1;
    this.rejections[reason] = count;
    this.events.rejected?.(reason);
    // Log the first few of each reason, then every power of two: a flood cannot fill the log.
    if (count <= 10 || (count & (count - 1)) === 0)
      this.log.warn({ reason, count, ...data }, 'refused');
  }

  private drop(peer: Peer | null, reason: DropReason): false {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    if (peer !== null) {
      peer.dropped++;
      this.events.dropped?.(peer.spec.id, reason);
    }
    return false;
  }
}
