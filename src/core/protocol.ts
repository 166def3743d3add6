/**
 * The sans-IO protocol interface (DESIGN.md principle 1; seeds/002 §1.1.2–1.1.4).
 *
 * A protocol is a deterministic state machine. It reacts to four kinds of event — start,
 * a message from an authenticated sender, a timer, a request from the layer above — and acts
 * only through its Context. It never touches sockets, files, clocks, Math.random or globals,
 * so one implementation runs unchanged in the simulator, in real processes and in tests.
 *
 *   upon event ⟨start⟩            → start(recovered)
 *   upon event ⟨pl.deliver|p, m⟩  → onMessage(p, m)
 *   upon event ⟨timeout⟩          → onTimer(name)
 *   upon event ⟨request|r⟩        → onRequest(r)
 *   trigger ⟨pl.send|q, m⟩        → ctx.send(q, m) / ctx.broadcast(m)
 */

import type { Json } from '../crypto/json.js';
import type { ClusterView } from './cluster-view.js';
import type { Envelope } from './envelope-types.js';

export type NodeId = string;

/** What persisted state a restarted node finds: exactly what it gave to ctx.persist before. */
export type Recovered = ReadonlyMap<string, Json>;

export interface Context<Out = unknown> {
  /** The identity this instance signs as (twins share it). */
  readonly self: NodeId;
  /** Cluster membership, fault threshold and quorum sizes. */
  readonly cluster: ClusterView;

  /** Current time in milliseconds (virtual in the simulator). */
  now(): number;
  /** A uniform number in [0, 1) from this node's seeded stream. */
  random(): number;

  /**
   * Sign a message body as `self`, domain-separated by cluster, protocol and kind — or, in a
   * cluster with auth 'channel', wrap it unsigned (the authenticated link vouches for it).
   */
  sign<K extends string, B extends Json>(kind: K, body: B): Envelope<K, B>;
  /** Check a signed message embedded in another one (certificates, relayed requests). */
  verify(message: Envelope): boolean;

  /** Send over a perfect FIFO link: delivered once, in order, if both ends are correct. */
  send(to: NodeId, message: Envelope): void;
  /** Send to every replica of the cluster; the sender's own copy is delivered locally. */
  broadcast(message: Envelope, options?: { includeSelf?: boolean }): void;
  /**
   * Optional (the runtime has it): send at the end of this step, without waiting for what
   * the step persisted to be durable — for a message whose receiver does not rely on the
   * sender having stored it (Raft's AppendEntries from the leader, thesis §10.2.1). Never
   * for a vote, a term or anything a restarted node must not contradict.
   */
  sendAhead?(to: NodeId, message: Envelope): void;
  /**
   * Optional (the runtime has it): run `callback`, as a step of its own, once everything
   * persisted so far is durable.
   */
  afterDurable?(callback: () => void): void;

  /** (Re)arm a named timer; a timer of the same name is replaced. */
  setTimer(name: string, delayMs: number): void;
  cancelTimer(name: string): void;

  /**
   * Write to stable storage (null deletes). Everything persisted during one step is durable
   * before any message sent in that step leaves the node: persist a vote, then send it.
   */
  persist(key: string, value: Json | null): void;

  /** An indication to the layer above (a decision, a read's value, a reply to a client). */
  output(event: Out): void;
  /** A trace-worthy internal event: commit, view change, evidence, an adversary's action. */
  note(event: string, data?: Json): void;
}

export interface Protocol<Req = unknown> {
  /** First start (recovered = null) or recovery from a crash with the persisted state. */
  start(recovered: Recovered | null): void;
  /** A message whose envelope, shape, sender and signature the host already checked. */
  onMessage(from: NodeId, message: Envelope): void;
  onTimer(name: string): void;
  onRequest(request: Req): void;
}

/** Builds one protocol instance over its context; called again on every restart. */
export type ProtocolFactory<Req = unknown, Out = unknown> = (ctx: Context<Out>) => Protocol<Req>;
