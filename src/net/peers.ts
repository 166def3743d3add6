/**
 * What the transport keeps per cluster member: its connection, counters, frame budget and ban,
 * and who dials whom (one connection per pair, always opened by the same side; ./transport.ts).
 */

import type { WebSocket } from 'ws';
import type { NodeId } from '../core/protocol.js';
import type { Channel } from './channel.js';

export interface PeerSpec {
  id: NodeId;
  publicKey: Uint8Array;
  /** Replicas have an address and a rank (their position in the cluster file). */
  replica: boolean;
  rank: number;
  host?: string;
  port?: number;
}

export type Direction = 'in' | 'out';

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

export interface Conn {
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

export interface Peer {
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

export function newPeer(spec: PeerSpec): Peer {
  return {
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
  };
}

export function peerStatus(p: Peer): PeerStatus {
  return {
    id: p.spec.id,
    kind: p.spec.replica ? 'replica' : 'client',
    connected: p.conn !== null,
    direction: p.conn?.direction ?? null,
    connectedSince: p.connectedSince,
    framesIn: p.framesIn,
    framesOut: p.framesOut,
    dropped: p.dropped,
    lastError: p.lastError,
  };
}

/** Do we dial `spec`? (`rank`: ours, null for a client, which dials every replica.) */
export function shouldDial(rank: number | null, spec: PeerSpec): boolean {
  if (!spec.replica) return false;
  return rank === null || rank < spec.rank;
}

/** May `spec` open a connection to us? (Only clients and replicas ranked before us.) */
export function mayAccept(rank: number | null, spec: PeerSpec): boolean {
  if (!spec.replica) return true;
  return rank !== null && spec.rank < rank;
}

/**
 * Take one frame from the peer's budget (token bucket at `rate` frames/s, refilled
 * continuously, holding one second's worth): 'ok', 'over' (drop it unread: the perfect links
 * resend what an honest peer needs), or 'ban' when the peer has sent another second's worth
 * over budget.
 */
export function takeToken(peer: Peer, rate: number, now: number): 'ok' | 'over' | 'ban' {
  if (peer.refilledAt === 0) peer.tokens = rate;
  else peer.tokens = Math.min(rate, peer.tokens + ((now - peer.refilledAt) * rate) / 1000);
  peer.refilledAt = now;
  if (peer.tokens >= 1) {
    peer.tokens--;
    return 'ok';
  }
  if (++peer.overBudget < rate) return 'over';
  peer.overBudget = 0;
  return 'ban';
}
