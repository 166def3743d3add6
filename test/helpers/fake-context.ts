/**
 * A hand-driven Context for unit tests of one protocol instance: it records every effect
 * and lets the test play the network. Signatures are fake ("sig:<from>") and verify() accepts
 * exactly those whose `sig` equals `sig:<from>`, so tests can also present forged ones.
 * Scenario tests use the real simulator (src/sim) with real ed25519 signatures instead.
 */
import type { ClusterView } from '../../src/core/cluster-view.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Context, NodeId } from '../../src/core/protocol.js';
import type { Json } from '../../src/crypto/json.js';

export type Effect =
  | { type: 'send'; to: NodeId; message: Envelope }
  | { type: 'broadcast'; message: Envelope; includeSelf: boolean }
  | { type: 'setTimer'; name: string; delayMs: number }
  | { type: 'cancelTimer'; name: string }
  | { type: 'persist'; key: string; value: Json | null }
  | { type: 'output'; event: unknown }
  | { type: 'note'; event: string; data?: Json };

export class FakeContext<Out = unknown> implements Context<Out> {
  readonly effects: Effect[] = [];
  readonly stored = new Map<string, Json>();
  readonly timers = new Map<string, number>();
  time = 0;
  private rng = 0x12345678;

  constructor(
    readonly self: NodeId,
    readonly cluster: ClusterView,
  ) {}

  now(): number {
    return this.time;
  }
  random(): number {
    // xorshift32: deterministic and good enough for a unit test
    this.rng ^= this.rng << 13;
    this.rng ^= this.rng >>> 17;
    this.rng ^= this.rng << 5;
    return (this.rng >>> 0) / 2 ** 32;
  }
  sign<K extends string, B extends Json>(kind: K, body: B): Envelope<K, B> {
    return { kind, from: this.self, body, sig: `sig:${this.self}` };
  }
  verify(message: Envelope): boolean {
    return message.sig === `sig:${message.from}`;
  }
  send(to: NodeId, message: Envelope): void {
    this.effects.push({ type: 'send', to, message });
  }
  broadcast(message: Envelope, options?: { includeSelf?: boolean }): void {
    this.effects.push({ type: 'broadcast', message, includeSelf: options?.includeSelf ?? true });
  }
  setTimer(name: string, delayMs: number): void {
    this.timers.set(name, this.time + delayMs);
    this.effects.push({ type: 'setTimer', name, delayMs });
  }
  cancelTimer(name: string): void {
    this.timers.delete(name);
    this.effects.push({ type: 'cancelTimer', name });
  }
  persist(key: string, value: Json | null): void {
    if (value === null) this.stored.delete(key);
    else this.stored.set(key, structuredClone(value));
    this.effects.push({ type: 'persist', key, value });
  }
  output(event: Out): void {
    this.effects.push({ type: 'output', event });
  }
  note(event: string, data?: Json): void {
    this.effects.push(data === undefined ? { type: 'note', event } : { type: 'note', event, data });
  }

  /** Take and clear the effects recorded so far. */
  drain(): Effect[] {
    return this.effects.splice(0, this.effects.length);
  }
  sent(kind?: string): Envelope[] {
    return this.effects.flatMap((e) =>
      (e.type === 'send' || e.type === 'broadcast') &&
      (kind === undefined || e.message.kind === kind)
        ? [e.message]
        : [],
    );
  }
}
