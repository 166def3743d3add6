/**
 * The transport's configuration, the events it reports, and the reasons it counts
 * (./transport.ts).
 */
import type { Signer } from '../core/envelope.js';
import type { NodeId } from '../core/protocol.js';
import type { SignatureBackend } from '../crypto/ed25519.js';
import type { RefusalReason } from './handshake.js';
import type { Direction, PeerSpec } from './peers.js';

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

export type TransportRejection =
  | RefusalReason
  | 'frame-too-large'
  | 'bad-mac'
  | 'over-budget'
  | 'address-backoff';

export type DropReason = 'not-connected' | 'backpressure' | 'too-large' | 'unknown-peer';

export const defaults = {
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
