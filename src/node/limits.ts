/** What a process host allows its peers and HTTP clients, and how it times its links. */
import type { LinkOptions } from '../links/perfect-link.js';

/**
 * Signature verdicts a host remembers (KeyRing). In the normal case a signature is seen once;
 * it comes again only inside certificates of recent slots (a VIEW-CHANGE's prepared
 * pre-prepares and prepares, a NEW-VIEW's VIEW-CHANGEs, a STATE's commit certificates), a few
 * hundred at a time. Each cached verdict costs about 1 KB of heap (its key is a long
 * concatenated string), so the KeyRing's default of 65,536 would grow a busy replica by some
 * 60 MB; 4096 keeps it near 4 MB.
 */
export const VERDICT_CACHE_SIZE = 4_096;

/** Admission failures a peer may cause per second before it is banned (banMs, doubling). */
export const FAILURE_BUDGET = { perSecond: 50, banMs: 10_000, maxBanMs: 300_000 };

/** A request must arrive whole within requestMs; an idle kept-alive connection closes after idleMs. */
export const HTTP_LIMITS = { requestMs: 5_000, idleMs: 10_000, checkIntervalMs: 1_000 };

/**
 * Perfect-link timing over WebSocket. TCP loses no frame on a live connection: frames are lost
 * only while a connection is down (resent as soon as it is back up: Transport peerUp) or when
 * a socket's buffer overflows. A 40 ms timer (the simulator's, over a lossy network) would
 * resend whatever a busy peer has not acknowledged yet, which only adds load; here the timer
 * is the slow safety net, and ACKs ride on DATA frames (src/links/perfect-link.ts).
 */
export const PROCESS_LINK_OPTIONS: Partial<LinkOptions> = {
  retransmitMs: 1_000,
  maxRetransmitMs: 4_000,
  // No ACK frames while traffic flows both ways: the next DATA back carries the ACK; a
  // standalone cumulative ACK only after 250 ms with nothing to send back (or once 128
  // messages wait). An ACK only lets the sender forget what it keeps for resending; it holds
  // at most that long of traffic more.
  ackDelayMs: 250,
};
