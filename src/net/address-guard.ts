/**
 * The acceptor's budgets per source address, kept before anyone is authenticated: handshake
 * slots (in all and per address), and the back-off of an address refused too often.
 *
 * An address refused more than REFUSALS_PER_SECOND times in a second (503s for want of a
 * handshake slot, failed handshakes) that has also failed a handshake lately (timed out,
 * malformed, unknown, bad proof) has its new TCP connections held unread on arrival (MAX_HELD),
 * before any HTTP is parsed, for a back-off that doubles with each offence (ADDRESS_BACKOFF_MS
 * at first, at most MAX_ADDRESS_BACKOFF_MS). Each refusal cost a parse and a 503; this bounds
 * how many. Honest clients starting together behind one address are refused for a moment too,
 * but fail no handshake, so they are never backed off.
 */
import type { Socket } from 'node:net';

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

/** What is remembered of an address that was refused. */
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

/** A back-off just imposed on an address (for the log). */
export interface Backoff {
  backoffMs: number;
  offences: number;
}

export class AddressGuard {
  /** Handshakes accepted and not finished, in all. */
  private pending = 0;
  private readonly pendingByAddress = new Map<string, number>();
  private readonly records = new Map<string, AddressRecord>();
  private held = 0;

  constructor(private readonly limits: { maxPending: number; maxPendingPerAddress: number }) {}

  /** Why a new handshake from `address` may not take a slot now, or null if it may. */
  slotRefusal(address: string): string | null {
    if (this.pending >= this.limits.maxPending) return `${this.pending} handshakes pending`;
    const fromAddress = this.pendingByAddress.get(address) ?? 0;
    if (fromAddress >= this.limits.maxPendingPerAddress)
      return `${fromAddress} handshakes pending from ${address}`;
    return null;
  }

  takeSlot(address: string): void {
    this.pending++;
    this.pendingByAddress.set(address, (this.pendingByAddress.get(address) ?? 0) + 1);
  }

  releaseSlot(address: string): void {
    this.pending--;
    const left = (this.pendingByAddress.get(address) ?? 1) - 1;
    if (left > 0) this.pendingByAddress.set(address, left);
    else this.pendingByAddress.delete(address);
  }

  /**
   * Hold a new socket of `address` unread if the address is backed off (true), or leave it to
   * the HTTP server (false). Past MAX_HELD, or with `closing`, the socket is destroyed instead.
   */
  holdIfBackedOff(address: string, socket: Socket, now: number, closing: boolean): boolean {
    const record = this.records.get(address);
    if (record === undefined || record.until <= now) return false;
    if (this.held >= MAX_HELD || closing) {
      socket.destroy();
      return true;
    }
    socket.pause();
    socket.on('error', () => {});
    record.held.add(socket);
    this.held++;
    socket.once('close', () => {
      if (record.held.delete(socket)) this.held--;
    });
    return true;
  }

  /** One more refusal of `address` (`failed`: a handshake it started failed). */
  refused(address: string, failed: boolean, now: number): Backoff | null {
    const second = Math.floor(now / 1000);
    const state = this.records.get(address) ?? this.remember(address, second);
    if (failed) state.failedAt = now;
    if (state.second !== second) {
      state.second = second;
      state.count = 0;
    }
    if (++state.count <= REFUSALS_PER_SECOND || now - state.failedAt > FAILURE_MEMORY_MS)
      return null;
    state.count = 0;
    state.until = now + Math.min(MAX_ADDRESS_BACKOFF_MS, ADDRESS_BACKOFF_MS * 2 ** state.offences);
    state.offences++;
    return { backoffMs: state.until - now, offences: state.offences };
  }

  private remember(address: string, second: number): AddressRecord {
    if (this.records.size >= MAX_ADDRESSES) {
      const [oldest, record] = this.records.entries().next().value ?? [];
      if (oldest !== undefined && record !== undefined) {
        release(record);
        this.records.delete(oldest);
      }
    }
    const record: AddressRecord = {
      second,
      count: 0,
      until: 0,
      offences: 0,
      failedAt: Number.NEGATIVE_INFINITY,
      held: new Set(),
    };
    this.records.set(address, record);
    return record;
  }

  /** Close what ended its back-off; forget an address once it has behaved long enough. */
  sweep(now: number): void {
    for (const [address, state] of this.records) {
      if (state.until <= now) release(state);
      // Forgiven once it has behaved for as long as the longest back-off.
      if (
        state.until + MAX_ADDRESS_BACKOFF_MS < now &&
        state.failedAt + FAILURE_MEMORY_MS < now &&
        state.second * 1000 + 1000 < now
      )
        this.records.delete(address);
    }
  }

  /** Close every held socket (the transport is closing). */
  releaseAll(): void {
    for (const record of this.records.values()) release(record);
  }
}

function release(record: AddressRecord): void {
  for (const socket of record.held) socket.destroy();
}
