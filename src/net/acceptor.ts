/**
 * The listening side of the transport: WebSocket upgrades on a replica's HTTP server, the
 * budgets kept per source address before anyone is authenticated (./address-guard.ts), and the
 * socket adapter of the acceptor's handshake machine (./handshake-machine.ts). Once a handshake
 * is done the connection is the transport's (./transport.ts, through AcceptorHost).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { AddressGuard } from './address-guard.js';
import type { Channel } from './channel.js';
import {
  type AcceptorAction,
  type AcceptorContext,
  acceptorStep,
  type Candidate,
  type SideContext,
  startAcceptor,
} from './handshake-machine.js';
import type { Conn, Peer } from './peers.js';
import type { NetLogger, TransportRejection } from './transport-options.js';
import { closeSoon, drive, HandshakeTimers, handshakeFrame, WS_PATH } from './ws-glue.js';

/** What the acceptor needs of the transport. */
export interface AcceptorHost {
  readonly log: NetLogger;
  /** The transport is closing: take no one in. */
  closing(): boolean;
  /** This node's side of a new handshake, with fresh secrets. */
  side(): SideContext;
  /** The member a hello claims to be. */
  candidate(id: string): Candidate<Peer> | undefined;
  countRejection(reason: TransportRejection, data: Record<string, unknown>): void;
  /** The handshake is done: the connection becomes the peer's. */
  established(peer: Peer, ws: WebSocket, channel: Channel): Conn;
  deliver(peer: Peer, conn: Conn, data: RawData, isBinary: boolean): void;
  frameTooLarge(peer: Peer): void;
  /** The socket of an established connection closed. */
  socketClosed(peer: Peer, ws: WebSocket): void;
}

export interface AcceptorLimits {
  maxPending: number;
  maxPendingPerAddress: number;
  /** ws's maxPayload: the largest frame plus its MAC. */
  maxPayload: number;
}

/** One socket's run of the acceptor's handshake. */
interface AcceptRun {
  readonly ws: WebSocket;
  /** The remote IP address (budgets are per address), and address:port (for the log). */
  readonly address: string;
  readonly remote: string;
  readonly timers: HandshakeTimers;
  /** Set once the handshake is done: frames then go to `deliver`. */
  open: { peer: Peer; conn: Conn } | null;
}

export class Acceptor {
  private readonly addresses: AddressGuard;
  private readonly wss: WebSocketServer;
  private readonly unauthenticated = new Set<WebSocket>();

  constructor(
    private readonly host: AcceptorHost,
    limits: AcceptorLimits,
  ) {
    this.addresses = new AddressGuard(limits);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: limits.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** Accept WebSocket upgrades on `server`. */
  attach(server: Server): void {
    // A backed-off address is closed before the HTTP server sees its socket: it costs an
    // accept and a close, not a parser, timers and listeners besides.
    const http = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? '?';
      if (this.addresses.holdIfBackedOff(address, socket, Date.now(), this.host.closing())) {
        const data = { remote: address, detail: 'refused too often' };
        this.host.countRejection('address-backoff', data);
        return;
      }
      for (const listener of http) listener.call(server, socket);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
  }

  /** Close what ended its back-off; forget addresses that behaved. */
  sweep(now: number): void {
    this.addresses.sweep(now);
  }

  /** Cut every handshake in progress and every held socket. */
  close(): void {
    for (const ws of this.unauthenticated) ws.terminate();
    this.unauthenticated.clear();
    this.addresses.releaseAll();
    this.wss.close();
  }

  /** One more refusal of `address` (`failed`: a handshake it started failed). */
  private strike(address: string, failed: boolean): void {
    const backoff = this.addresses.refused(address, failed, Date.now());
    if (backoff !== null)
      this.host.log.warn(
        { remote: address, ...backoff },
        'address refused too often; closing its connections on arrival',
      );
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (this.host.closing() || path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const address = req.socket.remoteAddress ?? '?';
    const refusal = this.addresses.slotRefusal(address);
    if (refusal !== null) {
      this.host.countRejection('too-many-pending', {
        remote: address,
        side: 'acceptor',
        detail: refusal,
      });
      this.strike(address, false);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      this.accept(ws, address, `${address}:${req.socket.remotePort ?? '?'}`),
    );
  }

  /** Feed the socket's events to the acceptor's handshake machine; frames after it to `deliver`. */
  private accept(ws: WebSocket, address: string, remote: string): void {
    this.addresses.takeSlot(address);
    this.unauthenticated.add(ws);
    const ctx: AcceptorContext<Peer> = {
      ...this.host.side(),
      lookup: (id) => this.host.candidate(id),
    };
    const timers = new HandshakeTimers((event) => feed(event));
    const run: AcceptRun = { ws, address, remote, timers, open: null };
    const feed = drive(
      startAcceptor(ctx, Date.now()),
      (state, event) => acceptorStep(ctx, state, event),
      (action) => this.perform(run, action),
    );
    ws.on('message', (data, isBinary) => {
      if (run.open !== null) this.host.deliver(run.open.peer, run.open.conn, data, isBinary);
      else feed({ type: 'frame', frame: handshakeFrame(data, isBinary), now: Date.now() });
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return;
      if (run.open !== null) this.host.frameTooLarge(run.open.peer);
      else feed({ type: 'oversized' });
    });
    ws.on('close', (code, reason) => {
      feed({ type: 'closed', code, reason: reason.toString() });
      if (run.open !== null) this.host.socketClosed(run.open.peer, ws);
    });
  }

  private perform(run: AcceptRun, action: AcceptorAction<Peer>): void {
    const { ws, address } = run;
    switch (action.type) {
      case 'send':
        ws.send(action.text);
        break;
      case 'arm':
        run.timers.arm(action.timer, action.ms);
        break;
      case 'disarm':
        run.timers.disarm(action.timer);
        break;
      case 'release':
        if (this.unauthenticated.delete(ws)) this.addresses.releaseSlot(address);
        break;
      case 'strike':
        this.strike(address, action.failed);
        break;
      case 'reject': {
        const { reason, detail, claimed } = action;
        const data = { remote: run.remote, side: 'acceptor', claimed, detail };
        this.host.countRejection(reason, data);
        break;
      }
      case 'close':
        closeSoon(ws, action.code, action.reason);
        break;
      case 'established': {
        const conn = this.host.established(action.peer, ws, action.channel);
        run.open = { peer: action.peer, conn };
        break;
      }
    }
  }
}
