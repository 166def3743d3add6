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
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { DEFAULT_MAX_FRAME_BYTES } from '../core/bounds.js';
import type { Signer } from '../core/envelope.js';
import type { NodeId } from '../core/protocol.js';
import type { SignatureBackend } from '../crypto/ed25519.js';
import { fromHex, toHex } from '../crypto/hex.js';
import {
  type Channel,
  type ChannelTranscript,
  freshEphemeral,
  MAC_BYTES,
  openChannel,
} from './channel.js';
import {
  type Auth,
  authSchema,
  type Challenge,
  challengeSchema,
  freshNonce,
  HANDSHAKE_VERSION,
  type Hello,
  helloSchema,
  MAX_HANDSHAKE_BYTES,
  parseHandshake,
  proofDigest,
  type RefusalReason,
  welcomeSchema,
} from './handshake.js';

/** The path every bftkit WebSocket connects to. */
export const WS_PATH = '/bftkit';

/**
 * Close codes: 4001 = handshake refused (reason in the close reason), 4000 = replaced,
 * 4002 = a frame failed its MAC.
 */
export const CLOSE_REFUSED = 4001;
export const CLOSE_REPLACED = 4000;
export const CLOSE_BAD_MAC = 4002;

export interface PeerSpec {
  id: NodeId;
  publicKey: Uint8Array;
  /** Replicas have an address and a rank (their position in the cluster file). */
  replica: boolean;
  rank: number;
  host?: string;
  port?: number;
}

/** A minimal logger interface (pino's Logger satisfies it). */
export interface NetLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface TransportOptions {
  self: NodeId;
  cluster: string;
  signer: Signer;
  /** Our own public key (presented in the handshake; must match the cluster file). */
  publicKey: Uint8Array;
  backend: SignatureBackend;
  /** Every other member of the cluster (replicas and clients). */
  peers: readonly PeerSpec[];
  /** Our rank if we are a replica (null for a client: we only dial). */
  rank: number | null;
  maxFrameBytes?: number;
  /** Drop a send when the socket already buffers more than this many bytes. */
  maxBufferedBytes?: number;
  handshakeTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  heartbeatMs?: number;
  maxPendingHandshakes?: number;
  /** Pending handshakes from one source address (an attacker cannot take every slot). */
  maxPendingPerAddress?: number;
  /** Frames per second an authenticated peer may send (token bucket, burst of one second). */
  framesPerSecond?: { client: number; replica: number };
  /** Uniform in [0, 1): jitter of the back-off. */
  random?: () => number;
  logger?: NetLogger;
}

export interface TransportEvents {
  /** A frame from an authenticated peer. */
  frame(peer: NodeId, text: string): void;
  peerUp?(peer: NodeId, direction: Direction): void;
  peerDown?(peer: NodeId): void;
  /** A handshake refused or a frame rejected by the transport itself. */
  rejected?(reason: TransportRejection): void;
  dropped?(peer: NodeId, reason: DropReason): void;
  /** Frames from `peer` dropped because it is over its frame budget. */
  throttled?(peer: NodeId): void;
}

export type Direction = 'in' | 'out';
export type TransportRejection =
  | RefusalReason
  | 'frame-too-large'
  | 'bad-mac'
  | 'over-budget'
  | 'address-backoff';

/**
 * An address refused more than this many times in a second (503s for want of a handshake
 * slot, failed handshakes) that has also failed a handshake lately (timed out, malformed,
 * unknown, bad proof) has its new TCP connections held unread on arrival (MAX_HELD),
 * before any HTTP is parsed, for a back-off that doubles with each offence
 * (ADDRESS_BACKOFF_MS at first, at most MAX_ADDRESS_BACKOFF_MS). Each refusal cost a parse and a 503; this bounds how many.
 * Honest clients starting together behind one address are refused for a moment too, but
 * fail no handshake, so they are never backed off.
 */
export const REFUSALS_PER_SECOND = 32;
/** How long a failed handshake makes its address's refusals count toward a back-off. */
const FAILURE_MEMORY_MS = 10_000;
export const ADDRESS_BACKOFF_MS = 1_000;
const MAX_ADDRESS_BACKOFF_MS = 60_000;
/** Addresses remembered at once (the oldest is forgotten first). */
const MAX_ADDRESSES = 4_096;
/**
 * Connections of backed-off addresses held open unread until their back-off ends, at most
 * this many in all. Closing one on arrival invites the next (an attacker reopens what is
 * closed, and each accept and close costs far more than a paused socket); beyond the cap
 * they are closed.
 */
const MAX_HELD = 1_024;

/** How long an accepted connection may stay silent before its hello (see awaitHello). */
export const HELLO_TIMEOUT_MS = 1_000;

/** What the transport remembers of an address it refused (see REFUSALS_PER_SECOND). */
interface AddressRecord {
  /** The current second, and the refusals in it. */
  second: number;
  count: number;
  /** Backed off until then; the back-off doubles with each offence. */
  until: number;
  offences: number;
  /** When a handshake from it last failed. */
  failedAt: number;
  /** Its connections held unread during the back-off. */
  held: Set<Socket>;
}

/** How long a peer far over its frame budget is refused. */
export const BAN_MS = 10_000;
export type DropReason = 'not-connected' | 'backpressure' | 'too-large' | 'unknown-peer';

export interface PeerStatus {
  id: NodeId;
  kind: 'replica' | 'client';
  connected: boolean;
  direction: Direction | null;
  connectedSince: number | null;
  framesIn: number;
  framesOut: number;
  dropped: number;
  lastError: string | null;
}

interface Conn {
  readonly ws: WebSocket;
  readonly direction: Direction;
  /** MACs every frame after the handshake (./channel.ts). */
  readonly channel: Channel;
  /** A frame failed its MAC: nothing more from this connection is read. */
  broken: boolean;
  /** Something arrived since the last heartbeat. */
  heard: boolean;
  /** Heartbeats in a row, each on time, with nothing heard. */
  silentBeats: number;
}

interface Peer {
  readonly spec: PeerSpec;
  conn: Conn | null;
  connectedSince: number | null;
  dialing: WebSocket | null;
  retry: NodeJS.Timeout | null;
  attempts: number;
  framesIn: number;
  framesOut: number;
  dropped: number;
  lastError: string | null;
  /** Token bucket of the frame budget: tokens left, and when it was last refilled. */
  tokens: number;
  refilledAt: number;
  /** Frames dropped over budget since the last check (a peer far over it is banned). */
  overBudget: number;
  /** No connection with this peer before this time (Date.now() ms); 0 = not banned. */
  bannedUntil: number;
}

const defaults = {
  maxBufferedBytes: 8 << 20,
  handshakeTimeoutMs: 5_000,
  backoff: { initialMs: 100, maxMs: 2_000 },
  heartbeatMs: 5_000,
  maxPendingHandshakes: 64,
  maxPendingPerAddress: 16,
  // An honest client has one request outstanding; an honest replica batches. Generous for
  // both: the budget is for floods, which are orders of magnitude above.
  framesPerSecond: { client: 2_000, replica: 20_000 },
};

/** Heartbeats without a word from the peer before its connection is closed. */
const SILENT_BEATS = 3;

const silent: NetLogger = { debug() {}, info() {}, warn() {} };

export class Transport {
  readonly rejections: Partial<Record<TransportRejection, number>> = {};
  readonly drops: Partial<Record<DropReason, number>> = {};
  framesIn = 0;
  framesOut = 0;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly wss: WebSocketServer;
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
  private pendingHandshakes = 0;
  private readonly pendingByAddress = new Map<string, number>();
  private readonly refusedByAddress = new Map<string, AddressRecord>();
  private held = 0;
  private readonly framesPerSecond: { client: number; replica: number };
  private readonly unauthenticated = new Set<WebSocket>();
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
      this.peers.set(spec.id, {
        spec,
        conn: null,
        connectedSince: null,
        dialing: null,
        retry: null,
        attempts: 0,
        framesIn: 0,
        framesOut: 0,
        dropped: 0,
        lastError: null,
        tokens: 0,
        refilledAt: 0,
        overBudget: 0,
        bannedUntil: 0,
      });
    }
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.maxFrameBytes + MAC_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.heartbeatMs = options.heartbeatMs ?? defaults.heartbeatMs;
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Accept WebSocket upgrades on `server` (replicas only; clients never listen). */
  attach(server: Server): void {
    if (this.options.rank === null) throw new Error('a client transport does not listen');
    // A backed-off address is closed before the HTTP server sees its socket: it costs an
    // accept and a close, not a parser, timers and listeners besides.
    const http = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? '?';
      const record = this.refusedByAddress.get(address);
      if (record !== undefined && record.until > Date.now()) {
        this.countRejection('address-backoff', { remote: address, detail: 'refused too often' });
        this.hold(record, socket);
        return;
      }
      for (const listener of http) listener.call(server, socket);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
  }

  /** Keep a backed-off address's socket open and unread until its back-off ends. */
  private hold(record: AddressRecord, socket: Socket): void {
    if (this.held >= MAX_HELD || this.closed) {
      socket.destroy();
      return;
    }
    socket.pause();
    socket.on('error', () => {});
    record.held.add(socket);
    this.held++;
    socket.once('close', () => {
      if (record.held.delete(socket)) this.held--;
    });
  }

  private release(record: AddressRecord): void {
    for (const socket of record.held) socket.destroy();
  }

  /** One more refusal of `address` (`failed`: a handshake it started failed). */
  private refused(address: string, failed: boolean): void {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    let state = this.refusedByAddress.get(address);
    if (state === undefined) {
      if (this.refusedByAddress.size >= MAX_ADDRESSES) {
        const [oldest, record] = this.refusedByAddress.entries().next().value ?? [];
        if (oldest !== undefined && record !== undefined) {
          this.release(record);
          this.refusedByAddress.delete(oldest);
        }
      }
      state = {
        second,
        count: 0,
        until: 0,
        offences: 0,
        failedAt: Number.NEGATIVE_INFINITY,
        held: new Set(),
      };
      this.refusedByAddress.set(address, state);
    }
    if (failed) state.failedAt = now;
    if (state.second !== second) {
      state.second = second;
      state.count = 0;
    }
    if (++state.count <= REFUSALS_PER_SECOND || now - state.failedAt > FAILURE_MEMORY_MS) return;
    state.count = 0;
    state.until = now + Math.min(MAX_ADDRESS_BACKOFF_MS, ADDRESS_BACKOFF_MS * 2 ** state.offences);
    state.offences++;
    this.log.warn(
      { remote: address, backoffMs: state.until - now, offences: state.offences },
      'address refused too often; closing its connections on arrival',
    );
  }

  /** Start dialing every peer this side is responsible for connecting to. */
  start(): void {
    for (const peer of this.peers.values()) if (this.shouldDial(peer.spec)) this.dial(peer);
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
    const socket = (ws as unknown as { _socket?: Duplex | null })._socket;
    if (socket == null || this.corked.has(socket)) return;
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
      conn.ws.close(CLOSE_REFUSED, 'banned');
      setTimeout(() => conn.ws.terminate(), 1_000).unref();
    }
  }

  isConnected(peer: NodeId): boolean {
    const state = this.peers.get(peer);
    return state !== undefined && state.conn !== null;
  }

  status(): PeerStatus[] {
    return [...this.peers.values()].map((p) => ({
      id: p.spec.id,
      kind: p.spec.replica ? 'replica' : 'client',
      connected: p.conn !== null,
      direction: p.conn?.direction ?? null,
      connectedSince: p.connectedSince,
      framesIn: p.framesIn,
      framesOut: p.framesOut,
      dropped: p.dropped,
      lastError: p.lastError,
    }));
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
    for (const ws of this.unauthenticated) ws.terminate();
    this.unauthenticated.clear();
    for (const record of this.refusedByAddress.values()) this.release(record);
    this.wss.close();
  }

  // --- who connects to whom -----------------------------------------------------------

  private shouldDial(spec: PeerSpec): boolean {
    if (!spec.replica) return false;
    return this.options.rank === null || this.options.rank < spec.rank;
  }

  /** May `spec` open a connection to us? (Only clients and replicas ranked before us.) */
  private mayAccept(spec: PeerSpec): boolean {
    if (!spec.replica) return true;
    return this.options.rank !== null && spec.rank < this.options.rank;
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
    const { host, port } = peer.spec;
    if (host === undefined || port === undefined) return;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    let ws: WebSocket;
    try {
      ws = new WebSocket(`ws://${hostPart}:${port}${WS_PATH}`, {
        maxPayload: this.maxFrameBytes + MAC_BYTES,
        perMessageDeflate: false,
        handshakeTimeout: this.handshakeTimeoutMs,
      });
    } catch (e) {
      if (peer.lastError === null)
        this.log.warn({ peer: peer.spec.id, err: (e as Error).message }, 'cannot dial');
      peer.lastError = (e as Error).message;
      this.scheduleRedial(peer);
      return;
    }
    peer.dialing = ws;
    const nonce = freshNonce();
    const ephemeral = freshEphemeral();
    let channel: Channel | null = null;
    let conn: Conn | null = null;
    let stage: 'challenge' | 'welcome' | 'open' = 'challenge';
    let refusal: string | null = null;
    const timer = setTimeout(() => fail('timeout', 'no answer in time'), this.handshakeTimeoutMs);
    timer.unref();

    const fail = (reason: RefusalReason, detail: string) => {
      refusal = `${reason}: ${detail}`;
      peer.lastError = `refused ${peer.spec.id}: ${refusal}`;
      this.countRejection(reason, { peer: peer.spec.id, side: 'dialer', detail });
      ws.close(CLOSE_REFUSED, reason);
      setTimeout(() => ws.terminate(), 1_000).unref();
    };

    ws.on('open', () => {
      const hello: Hello = {
        t: 'hello',
        v: HANDSHAKE_VERSION,
        cluster: this.options.cluster,
        from: this.options.self,
        to: peer.spec.id,
        key: this.publicKeyHex,
        nonce,
        share: ephemeral.share,
      };
      ws.send(JSON.stringify(hello));
    });
    ws.on('message', (data, isBinary) => {
      if (stage === 'open' && conn !== null) {
        this.deliver(peer, conn, data, isBinary);
        return;
      }
      if (refusal !== null) return;
      const text = isBinary ? '' : rawText(data, MAX_HANDSHAKE_BYTES);
      if (stage === 'challenge') {
        const challenge = parseHandshake<Challenge>(text, challengeSchema);
        if (challenge === null) return fail('malformed', 'expected a challenge');
        if (challenge.from !== peer.spec.id)
          return fail('wrong-peer', `dialed ${peer.spec.id}, "${challenge.from}" answered`);
        if (challenge.key !== toHex(peer.spec.publicKey))
          return fail('key-mismatch', `${peer.spec.id} presented a key not in the cluster file`);
        const transcript: ChannelTranscript = {
          cluster: this.options.cluster,
          dialer: this.options.self,
          acceptor: peer.spec.id,
          dialerNonce: nonce,
          acceptorNonce: challenge.nonce,
          dialerShare: ephemeral.share,
          acceptorShare: challenge.share,
        };
        const digest = proofDigest({ role: 'acceptor', ...transcript });
        if (!this.options.backend.verify(peer.spec.publicKey, digest, fromHex(challenge.sig)))
          return fail('bad-signature', `${peer.spec.id}'s proof does not verify`);
        channel = openChannel('dialer', ephemeral, transcript);
        if (channel === null)
          return fail('bad-share', `${peer.spec.id}'s X25519 share is unusable`);
        const proof = proofDigest({ role: 'dialer', ...transcript });
        const auth: Auth = { t: 'auth', sig: toHex(this.options.signer.sign(proof)) };
        ws.send(JSON.stringify(auth));
        stage = 'welcome';
        return;
      }
      if (parseHandshake(text, welcomeSchema) === null || channel === null)
        return fail('malformed', 'expected welcome');
      clearTimeout(timer);
      stage = 'open';
      peer.dialing = null;
      peer.attempts = 0;
      conn = this.established(peer, ws, 'out', channel);
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.frameTooLarge(peer.spec.id);
      if (peer.attempts === 0 || stage === 'open')
        this.log.debug({ peer: peer.spec.id, err: err.message }, 'connection error');
      peer.lastError = err.message;
    });
    ws.on('close', (code, reasonBuffer) => {
      clearTimeout(timer);
      if (peer.dialing === ws) peer.dialing = null;
      if (code === CLOSE_REFUSED && refusal === null) {
        const reason = reasonBuffer.toString();
        const error = `refused by ${peer.spec.id}: ${reason}`;
        // Log a change of state, not every retry of the same refusal.
        if (peer.lastError !== error)
          this.log.warn({ peer: peer.spec.id, reason }, 'handshake refused by peer');
        peer.lastError = error;
      } else if (refusal !== null) peer.lastError = `refused ${peer.spec.id}: ${refusal}`;
      if (peer.conn?.ws === ws) this.lost(peer);
      this.scheduleRedial(peer);
    });
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

  // --- accepting ----------------------------------------------------------------------

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (this.closed || path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (this.pendingHandshakes >= (this.options.maxPendingHandshakes ?? 64)) {
      this.countRejection('too-many-pending', {
        remote: req.socket.remoteAddress ?? '?',
        side: 'acceptor',
        detail: `${this.pendingHandshakes} handshakes pending`,
      });
      this.refused(req.socket.remoteAddress ?? '?', false);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    const address = req.socket.remoteAddress ?? '?';
    const fromAddress = this.pendingByAddress.get(address) ?? 0;
    if (fromAddress >= (this.options.maxPendingPerAddress ?? defaults.maxPendingPerAddress)) {
      this.countRejection('too-many-pending', {
        remote: address,
        side: 'acceptor',
        detail: `${fromAddress} handshakes pending from ${address}`,
      });
      this.refused(address, false);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      this.accept(ws, address, `${address}:${req.socket.remotePort ?? '?'}`),
    );
  }

  private accept(ws: WebSocket, address: string, remote: string): void {
    this.pendingHandshakes++;
    this.pendingByAddress.set(address, (this.pendingByAddress.get(address) ?? 0) + 1);
    this.unauthenticated.add(ws);
    let stage: 'hello' | 'auth' | 'open' | 'refused' = 'hello';
    let peer: Peer | null = null;
    let hello: Hello | null = null;
    let transcript: ChannelTranscript | null = null;
    let conn: Conn | null = null;
    const nonce = freshNonce();
    const ephemeral = freshEphemeral();
    const finish = () => {
      if (!this.unauthenticated.delete(ws)) return;
      this.pendingHandshakes--;
      const left = (this.pendingByAddress.get(address) ?? 1) - 1;
      if (left > 0) this.pendingByAddress.set(address, left);
      else this.pendingByAddress.delete(address);
    };
    const refuse = (reason: RefusalReason, detail: string) => {
      if (stage === 'refused') return;
      stage = 'refused';
      finish();
      // Refusing a banned peer or a replica that must wait for our dial is no sign of abuse.
      this.refused(address, reason !== 'banned' && reason !== 'wrong-direction');
      this.countRejection(reason, {
        remote,
        side: 'acceptor',
        claimed: hello?.from ?? null,
        detail,
      });
      ws.close(CLOSE_REFUSED, reason);
      setTimeout(() => ws.terminate(), 1_000).unref();
    };
    const timer = setTimeout(
      () => refuse('timeout', 'handshake not finished in time'),
      this.handshakeTimeoutMs,
    );
    timer.unref();
    const helloTimer = this.awaitHello(() => stage === 'hello', refuse);

    ws.on('message', (data, isBinary) => {
      if (stage === 'open' && peer !== null && conn !== null) {
        this.deliver(peer, conn, data, isBinary);
        return;
      }
      if (stage === 'refused') return;
      if (isBinary) return refuse('malformed', 'binary handshake message');
      if (rawLength(data) > MAX_HANDSHAKE_BYTES)
        return refuse('too-large', 'handshake message over 4 KiB');
      const text = rawText(data, MAX_HANDSHAKE_BYTES);
      if (stage === 'hello') {
        const raw = parseLoose(text);
        if (raw !== null && raw.t === 'hello' && raw.v !== HANDSHAKE_VERSION)
          return refuse('wrong-version', `version ${String(raw.v)}`);
        hello = parseHandshake<Hello>(text, helloSchema);
        if (hello === null) return refuse('malformed', 'expected hello');
        if (hello.cluster !== this.options.cluster)
          return refuse('wrong-cluster', `cluster "${hello.cluster}"`);
        if (hello.to !== this.options.self)
          return refuse('wrong-target', `meant for "${hello.to}"`);
        const known = this.peers.get(hello.from);
        if (known === undefined)
          return refuse('unknown-peer', `"${hello.from}" is not in the cluster file`);
        if (hello.key !== toHex(known.spec.publicKey))
          return refuse('key-mismatch', `"${hello.from}" presented a key not in the cluster file`);
        if (!this.mayAccept(known.spec))
          return refuse('wrong-direction', `replica "${hello.from}" must wait for our dial`);
        if (known.bannedUntil > Date.now())
          return refuse('banned', `"${hello.from}" is banned for misbehaving`);
        peer = known;
        transcript = {
          cluster: this.options.cluster,
          dialer: hello.from,
          acceptor: this.options.self,
          dialerNonce: hello.nonce,
          acceptorNonce: nonce,
          dialerShare: hello.share,
          acceptorShare: ephemeral.share,
        };
        clearTimeout(helloTimer);
        const proof = proofDigest({ role: 'acceptor', ...transcript });
        const challenge: Challenge = {
          t: 'challenge',
          from: this.options.self,
          key: this.publicKeyHex,
          nonce,
          share: ephemeral.share,
          sig: toHex(this.options.signer.sign(proof)),
        };
        ws.send(JSON.stringify(challenge));
        stage = 'auth';
        return;
      }
      // stage === 'auth'
      const auth = parseHandshake<Auth>(text, authSchema);
      if (auth === null || hello === null || peer === null || transcript === null)
        return refuse('malformed', 'expected auth');
      const digest = proofDigest({ role: 'dialer', ...transcript });
      if (!this.options.backend.verify(peer.spec.publicKey, digest, fromHex(auth.sig)))
        return refuse('bad-signature', `"${hello.from}"'s proof does not verify under its key`);
      const channel = openChannel('acceptor', ephemeral, transcript);
      if (channel === null)
        return refuse('bad-share', `"${hello.from}"'s X25519 share is unusable`);
      clearTimeout(timer);
      finish();
      stage = 'open';
      ws.send(JSON.stringify({ t: 'welcome' }));
      conn = this.established(peer, ws, 'in', channel);
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        if (stage === 'open' && peer !== null) this.frameTooLarge(peer.spec.id);
        else refuse('too-large', 'frame over the size limit during the handshake');
      }
    });
    ws.on('close', () => {
      clearTimeout(timer);
      clearTimeout(helloTimer);
      finish();
      if (stage === 'hello' || stage === 'auth') {
        stage = 'refused';
        this.countRejection('closed', {
          remote,
          side: 'acceptor',
          claimed: hello?.from ?? null,
          detail: 'closed during the handshake',
        });
      }
      if (peer !== null && peer.conn?.ws === ws) this.lost(peer);
    });
  }

  /**
   * A dialer sends its hello the moment the connection opens, so a connection silent for
   * HELLO_TIMEOUT_MS holds a handshake slot for nothing: it is refused as a failed handshake,
   * which lets an address that keeps doing it be backed off within a second or two instead of
   * after the whole handshake timeout. A deadline that fires late (this process was starved,
   * and the hello may be sitting unread) is given another period instead of judging anyone.
   */
  private awaitHello(
    waiting: () => boolean,
    refuse: (reason: RefusalReason, detail: string) => void,
  ): NodeJS.Timeout {
    const armedAt = Date.now();
    const timer = setTimeout(() => {
      if (!waiting()) return;
      if (Date.now() - armedAt > 2 * HELLO_TIMEOUT_MS) this.awaitHello(waiting, refuse);
      else refuse('timeout', `no hello within ${HELLO_TIMEOUT_MS} ms`);
    }, HELLO_TIMEOUT_MS);
    timer.unref();
    return timer;
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
    if (old !== null) {
      old.ws.close(CLOSE_REPLACED, 'replaced');
      setTimeout(() => old.ws.terminate(), 1_000).unref();
    }
    this.log.info({ peer: peer.spec.id, direction }, 'peer connected');
    this.events.peerUp?.(peer.spec.id, direction);
    return conn;
  }

  private lost(peer: Peer): void {
    peer.conn = null;
    peer.connectedSince = null;
    this.log.info({ peer: peer.spec.id }, 'peer disconnected');
    this.events.peerDown?.(peer.spec.id);
    if (this.shouldDial(peer.spec)) {
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
      conn.ws.close(CLOSE_BAD_MAC, 'bad mac');
      setTimeout(() => conn.ws.terminate(), 1_000).unref();
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
   * The peer's frame budget (token bucket, refilled continuously, holding one second's worth).
   * A frame over budget is dropped unread: the perfect links resend what an honest peer needs.
   * A peer that sent another second's worth over budget is banned for a back-off period.
   */
  private withinBudget(peer: Peer): boolean {
    const rate = peer.spec.replica ? this.framesPerSecond.replica : this.framesPerSecond.client;
    const now = Date.now();
    if (peer.refilledAt === 0) peer.tokens = rate;
    else peer.tokens = Math.min(rate, peer.tokens + ((now - peer.refilledAt) * rate) / 1000);
    peer.refilledAt = now;
    if (peer.tokens >= 1) {
      peer.tokens--;
      return true;
    }
    if (++peer.overBudget >= rate) {
      peer.overBudget = 0;
      this.countRejection('over-budget', { peer: peer.spec.id, detail: `over ${rate} frames/s` });
      this.ban(peer.spec.id, BAN_MS);
    }
    return false;
  }

  private beat(): void {
    const now = Date.now();
    for (const [address, state] of this.refusedByAddress) {
      if (state.until <= now) this.release(state);
      // Forgiven once it has behaved for as long as the longest back-off.
      if (
        state.until + MAX_ADDRESS_BACKOFF_MS < now &&
        state.failedAt + FAILURE_MEMORY_MS < now &&
        state.second * 1000 + 1000 < now
      )
        this.refusedByAddress.delete(address);
    }
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

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, b) => sum + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? Buffer.from(data) : data;
}

function rawText(data: RawData, max: number): string {
  if (rawLength(data) > max) return '';
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function parseLoose(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
