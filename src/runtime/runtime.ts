/**
 * NodeRuntime: everything between a protocol core and a host that is not protocol-specific.
 * The simulator and the process host both embed it, so both run the same admission
 * pipeline, the same links and the same step discipline:
 *
 *   one step = one event handled by the core, then its effects in this order:
 *     1. everything persisted in the step is written (durable when io.persist returns),
 *     2. then the step's messages leave, 3. then its outputs go up,
 *     4. then messages the node sent to itself are delivered, each as a step of its own.
 *
 * Persisting before sending is what makes "persist the vote, then send it" hold for every
 * protocol without each one arranging it. The one exception is asked for by name:
 * ctx.sendAhead leaves at the end of its step, while the step's writes are still being made
 * durable (Raft's leader replicating its log in parallel with writing it, thesis §10.2.1),
 * and ctx.afterDurable tells the core, in a step of its own, once they are. (With a
 * synchronous io.persist there is nothing to overlap: sendAhead is then an ordinary send.)
 * A frame sent ahead carries no piggybacked link ACK: an ACK tells the peer it may forget a
 * message, which it may only once what the message did is durable.
 *
 * A step is atomic. If the core throws, the effects that step queued (writes, messages,
 * outputs, self-deliveries) are dropped, the runtime stops for good — every later call throws
 * the same CoreFailure and nothing more leaves, not even what earlier steps queued for a
 * flush still to come — and the CoreFailure goes up to the host, which stops the node
 * (crash-stop: a broken invariant is a bug, and a node that carried on past it could send
 * what its state no longer backs). Restarted, the node recovers from what it persisted
 * before, as after any crash.
 *
 * Group commit. A host that can defer work (HostIO.defer: the process host uses setImmediate)
 * gets the effects of every step handled before the deferred flush runs — typically all the
 * frames one event-loop turn brought in — released together: ALL their writes in one
 * io.persist (one transaction, one fsync), THEN all their messages in the order the steps
 * sent them, then their outputs. Nothing any of these steps sent leaves before everything
 * they persisted is durable, so the rule above holds for each step; only the number of
 * fsyncs changes (one per turn instead of one per step). The simulator gives no `defer` and
 * keeps one flush per step, so its traces do not change.
 *
 * With HostIO.persistAsync as well, the sync runs in the background: the node goes on handling
 * events while the disk works, their effects wait behind the group being committed, and when
 * it is durable its messages, outputs and self-deliveries are released — then the next group
 * (everything handled meanwhile) is committed. One commit is in flight at a time, so groups
 * become durable, and their messages leave, in the order of the steps.
 */

import { DEFAULT_MAX_FRAME_BYTES } from '../core/bounds.js';
import type { ClusterView } from '../core/cluster-view.js';
import {
  type AuthMode,
  type ProtocolDefinition,
  resolveAuth,
  signingProtocol,
} from '../core/definition.js';
import {
  admitEnvelope,
  type Domain,
  describe,
  type KeyRing,
  parseFrame,
  type RejectReason,
  type Signer,
  signEnvelope,
  unsignedEnvelope,
} from '../core/envelope.js';
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, Protocol, ProtocolFactory, Recovered } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import {
  defaultLinkOptions,
  type LinkFrame,
  type LinkOptions,
  linkFrameSchema,
  PerfectLinks,
} from '../links/perfect-link.js';

/** What a host gives the runtime: a fair-loss network, timers, stable storage, a clock. */
export interface HostIO {
  now(): number;
  random(): number;
  transmit(to: NodeId, frame: string): void;
  setTimer(key: string, delayMs: number): void;
  cancelTimer(key: string): void;
  /** Write a batch atomically; it must be durable when this returns. */
  persist(writes: ReadonlyArray<readonly [string, Json | null]>): void;
  output(event: unknown): void;
  trace(event: RuntimeEvent): void;
  /**
   * Optional: call `flush` soon, after the events that are ready now (setImmediate). When
   * given, the runtime commits in groups (see the top of this file).
   */
  defer?(flush: () => void): void;
  /**
   * Optional, with `defer`: write a batch and call `done` once it is durable (never before;
   * a host that cannot make it durable stops instead). Lets the node work on while the disk
   * syncs; the group's messages are held until `done`.
   */
  persistAsync?(writes: ReadonlyArray<readonly [string, Json | null]>, done: () => void): void;
}

/** What the runtime reports for the trace; the host adds time, node and clocks. */
export type RuntimeEvent =
  | { type: 'start'; recovered: boolean }
  | { type: 'send'; to: NodeId; id: string; kind: string; body: Json }
  | { type: 'deliver'; from: NodeId; id: string; kind: string }
  | { type: 'reject'; from: NodeId; reason: RejectReason; detail: string }
  | { type: 'timer'; name: string }
  | { type: 'request'; request: Json }
  | { type: 'output'; event: Json }
  | { type: 'persist'; keys: string[] }
  | { type: 'note'; event: string; data: Json | null };

export interface RuntimeOptions {
  self: NodeId;
  cluster: ClusterView;
  definition: ProtocolDefinition;
  keys: KeyRing;
  signer: Signer;
  /** Distinct for every start of every instance (restarts and twins get new ones). */
  incarnation: number;
  maxFrameBytes?: number;
  link?: Partial<LinkOptions>;
  /**
   * 'channel': the core's messages go unsigned and are admitted on the authenticated link's
   * word (the host must give `receive` only frames from that peer); refused for a protocol
   * whose messages must convince third parties. Default: the protocol's (definition.ts).
   */
  auth?: AuthMode;
}

/**
 * Optional on a protocol core: a cheap look at an inbound message that has passed the link
 * layer but not yet admission (so `message` is untrusted, of any shape). Returning false
 * drops it unverified; it must only do so for messages the core would ignore anyway.
 */
export interface Prefilter {
  wants(from: NodeId, message: unknown): boolean;
}

/** A core threw during a step: the node must stop (the runtime already has). */
export class CoreFailure extends Error {
  constructor(
    readonly during: string,
    cause: unknown,
  ) {
    super(
      `protocol core threw while handling ${during}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'CoreFailure';
  }
}

const PROTOCOL_TIMER = 'p:';
const LINK_TIMER = 'l:';

export class NodeRuntime {
  readonly rejections: Partial<Record<RejectReason, number>> = {};
  /** Messages dropped before admission because the core had no use for them (Prefilter). */
  ignored = 0;
  private readonly domain: Domain;
  readonly auth: AuthMode;
  private readonly links: PerfectLinks;
  private readonly maxFrameBytes: number;
  private core!: Protocol;
  private readonly ctx: Context;
  private localSeq = 0;
  private inStep = false;
  /** Group commit: a deferred flush is pending; effects wait for it. */
  private flushScheduled = false;
  /** Async group commit: a group is being made durable; later effects wait behind it. */
  private committing = false;
  private pendingWrites: [string, Json | null][] = [];
  private pendingFrames: [NodeId, LinkFrame | Envelope, string | null][] = [];
  private pendingOutputs: unknown[] = [];
  private readonly selfDeliveries: [string, Envelope][] = [];
  /** ctx.sendAhead: frames that leave at the end of the step, and the flag that routes them. */
  private aheadFrames: [NodeId, LinkFrame][] = [];
  private sendingAhead = false;
  /** ctx.afterDurable: callbacks waiting for the writes queued with them. */
  private pendingDurable: (() => void)[] = [];
  /** Set when a core threw: the runtime is stopped (see the top of this file). */
  private failure: CoreFailure | null = null;

  constructor(
    private readonly options: RuntimeOptions,
    private readonly io: HostIO,
    factory: ProtocolFactory,
  ) {
    this.domain = { cluster: options.cluster.id, protocol: options.definition.name };
    this.auth = resolveAuth(options.definition, options.auth);
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.links = new PerfectLinks(
      options.incarnation,
      {
        transmit: (to, frame) => this.queueFrame(to, frame),
        setTimer: (peer, ms) => io.setTimer(LINK_TIMER + peer, ms),
        cancelTimer: (peer) => io.cancelTimer(LINK_TIMER + peer),
      },
      { ...defaultLinkOptions, ...options.link },
    );
    this.ctx = this.makeContext();
    this.core = factory(this.ctx);
  }

  get self(): NodeId {
    return this.options.self;
  }

  /** Messages given up because a peer never acknowledged them (bounded queues). */
  get droppedByLinks(): number {
    return this.links.dropped;
  }

  pendingTo(peer: NodeId): number {
    return this.links.pending(peer);
  }

  /** Why the runtime stopped, or null while it runs. */
  get failed(): CoreFailure | null {
    return this.failure;
  }

  start(recovered: Recovered | null): void {
    this.io.trace({ type: 'start', recovered: recovered !== null });
    this.step('start', () => this.core.start(recovered));
  }

  /** A frame arrived from `peer` over an authenticated fair-loss link. */
  receive(peer: NodeId, frame: string): void {
    if (this.failure !== null) throw this.failure;
    const parsed = parseFrame(frame, this.maxFrameBytes);
    if (!parsed.ok) {
      this.rejected(peer, parsed.reason, parsed.detail);
      return;
    }
    const link = linkFrameSchema.safeParse(parsed.value);
    if (!link.success) {
      this.rejected(peer, 'bad-shape', `link frame: ${describe(link.error)}`);
      return;
    }
    this.step(`a frame from ${peer}`, () => {
      for (const d of this.links.onFrame(peer, link.data as LinkFrame)) {
        this.admitAndDeliver(peer, `${peer}>${this.self}:${d.incarnation}.${d.seq}`, d.message);
      }
    });
  }

  /** The host's connection to `peer` came (back) up: resend what it has not acknowledged. */
  peerUp(peer: NodeId): void {
    this.step(`link to ${peer} up`, () => this.links.resend(peer));
  }

  fireTimer(key: string): void {
    if (key.startsWith(LINK_TIMER)) {
      this.step(`timer ${key}`, () => this.links.onTimer(key.slice(LINK_TIMER.length)));
    } else if (key.startsWith(PROTOCOL_TIMER)) {
      const name = key.slice(PROTOCOL_TIMER.length);
      this.io.trace({ type: 'timer', name });
      this.step(`timer ${key}`, () => this.core.onTimer(name));
    }
  }

  request(request: Json): void {
    if (this.failure !== null) throw this.failure;
    this.io.trace({ type: 'request', request });
    this.step('a request', () => this.core.onRequest(request));
  }

  private admitAndDeliver(peer: NodeId, id: string, raw: unknown): void {
    // A core may say at a glance that it has no use for a message (a reply to a request it
    // has finished with): it is dropped before its signature is checked, and never reaches
    // the core — only work is saved. Anything the core might use goes through admission.
    const wants = (this.core as Protocol & Partial<Prefilter>).wants;
    if (wants !== undefined && !wants.call(this.core, peer, raw)) {
      this.ignored++;
      return;
    }
    const admission = admitEnvelope(
      raw,
      peer,
      this.options.definition,
      this.domain,
      this.options.keys,
      this.auth,
    );
    if (!admission.ok) {
      this.rejected(peer, admission.reason, admission.detail);
      return;
    }
    this.io.trace({ type: 'deliver', from: peer, id, kind: admission.envelope.kind });
    this.core.onMessage(peer, admission.envelope);
  }

  private rejected(peer: NodeId, reason: RejectReason, detail: string): void {
    this.rejections[reason] = (this.rejections[reason] ?? 0) + 1;
    this.io.trace({ type: 'reject', from: peer, reason, detail });
  }

  /**
   * Run one event handler and then release its effects in the documented order — or, if it
   * throws, drop them and stop (CoreFailure).
   */
  private step(during: string, handler: () => void): void {
    if (this.failure !== null) throw this.failure;
    if (this.inStep) {
      handler();
      return;
    }
    const marks = [
      this.pendingWrites.length,
      this.pendingFrames.length,
      this.pendingOutputs.length,
      this.selfDeliveries.length,
      this.pendingDurable.length,
    ] as const;
    this.inStep = true;
    try {
      handler();
    } catch (error) {
      this.pendingWrites.length = marks[0];
      this.pendingFrames.length = marks[1];
      this.pendingOutputs.length = marks[2];
      this.selfDeliveries.length = marks[3];
      this.pendingDurable.length = marks[4];
      this.aheadFrames.length = 0;
      this.failure = error instanceof CoreFailure ? error : new CoreFailure(during, error);
      throw this.failure;
    } finally {
      this.inStep = false;
    }
    for (const [to, frame] of this.aheadFrames.splice(0))
      this.io.transmit(to, JSON.stringify(frame));
    const defer = this.io.defer;
    if (defer === undefined) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      defer(() => this.flushPending());
    }
  }

  /** Release the effects a deferred flush is waiting to release (also: before a host stops). */
  flushPending(): void {
    if (!this.flushScheduled || this.failure !== null) return;
    this.flushScheduled = false;
    this.flush();
  }

  private flush(): void {
    // Async group commit: what was handled meanwhile waits for the group in flight.
    if (this.committing || this.failure !== null) return;
    const writes = this.pendingWrites;
    const frames = this.pendingFrames;
    const outputs = this.pendingOutputs;
    const durable = this.pendingDurable;
    this.pendingWrites = [];
    this.pendingFrames = [];
    this.pendingOutputs = [];
    this.pendingDurable = [];
    const persistAsync = this.io.persistAsync;
    if (writes.length > 0 && persistAsync !== undefined && this.io.defer !== undefined) {
      const selves = this.selfDeliveries.splice(0);
      this.committing = true;
      this.io.trace({ type: 'persist', keys: writes.map(([k]) => k) });
      persistAsync(writes, () => {
        this.committing = false;
        this.release(frames, outputs, selves);
        this.durable(durable);
        // The next group: everything handled while this one was being made durable.
        if (
          this.pendingWrites.length > 0 ||
          this.pendingFrames.length > 0 ||
          this.pendingOutputs.length > 0 ||
          this.selfDeliveries.length > 0
        ) {
          this.flush();
        }
      });
      return;
    }
    if (writes.length > 0) {
      this.io.persist(writes);
      this.io.trace({ type: 'persist', keys: writes.map(([k]) => k) });
    }
    this.release(frames, outputs, this.selfDeliveries.splice(0));
    this.durable(durable);
  }

  /** ctx.afterDurable: the writes these callbacks waited for are durable; each is a step. */
  private durable(callbacks: readonly (() => void)[]): void {
    for (const callback of callbacks) {
      if (this.failure !== null) return;
      this.step('a write made durable', callback);
    }
  }

  /** A group's effects, once what it persisted is durable: messages, outputs, self-deliveries. */
  private release(
    frames: readonly [NodeId, LinkFrame | Envelope, string | null][],
    outputs: readonly unknown[],
    selves: [string, Envelope][],
  ): void {
    if (this.failure !== null) return;
    for (const [to, frame, text] of frames) this.io.transmit(to, text ?? JSON.stringify(frame));
    for (const event of outputs) this.io.output(event);
    // Each self-delivery is a step of its own; steps it leads to queue further ones here.
    this.selfDeliveries.unshift(...selves);
    while (this.selfDeliveries.length > 0) {
      const [id, message] = this.selfDeliveries.shift()!;
      this.io.trace({ type: 'deliver', from: this.self, id, kind: message.kind });
      this.step(`a message from ${this.self} to itself`, () =>
        this.core.onMessage(this.self, message),
      );
    }
  }

  private queueFrame(to: NodeId, frame: LinkFrame): void {
    if (this.sendingAhead) this.aheadFrames.push([to, frame]);
    else if (this.inStep || this.flushScheduled || this.committing)
      this.pendingFrames.push([to, frame, null]);
    else this.io.transmit(to, JSON.stringify(frame));
  }

  private sendMessage(to: NodeId, message: Envelope): void {
    if (to === this.self) {
      const id = `${this.self}>${this.self}:L${++this.localSeq}`;
      this.io.trace({ type: 'send', to, id, kind: message.kind, body: message.body as Json });
      this.selfDeliveries.push([id, message]);
      return;
    }
    const seq = this.links.send(to, message, !this.sendingAhead);
    const id = `${this.self}>${to}:${this.options.incarnation}.${seq}`;
    this.io.trace({ type: 'send', to, id, kind: message.kind, body: message.body as Json });
  }

  /** The domain a kind is signed in: the protocol's, or another's it names (definition.ts). */
  private domainOf(kind: string): Domain {
    const protocol = signingProtocol(this.options.definition, kind);
    return protocol === this.domain.protocol ? this.domain : { ...this.domain, protocol };
  }

  private makeContext(): Context {
    const { self, cluster, signer, keys } = this.options;
    const io = this.io;
    return {
      self,
      cluster,
      now: () => io.now(),
      random: () => io.random(),
      sign: (kind, body) =>
        this.auth === 'channel'
          ? unsignedEnvelope(self, kind, body)
          : signEnvelope(this.domainOf(kind), signer, kind, body),
      verify: (message) => keys.verify(this.domainOf(message.kind), message),
      send: (to, message) => this.sendMessage(to, message),
      sendAhead: (to, message) => {
        // Only a host that syncs in the background gains by sending first. One that persists
        // synchronously (the simulator) keeps the order of effects, and so its traces.
        this.sendingAhead = to !== self && io.persistAsync !== undefined;
        try {
          this.sendMessage(to, message);
        } finally {
          this.sendingAhead = false;
        }
      },
      afterDurable: (callback) => {
        this.pendingDurable.push(callback);
      },
      broadcast: (message, options) => {
        for (const to of cluster.replicas) {
          if (to !== self || (options?.includeSelf ?? true)) this.sendMessage(to, message);
        }
      },
      setTimer: (name, delayMs) => io.setTimer(PROTOCOL_TIMER + name, delayMs),
      cancelTimer: (name) => io.cancelTimer(PROTOCOL_TIMER + name),
      persist: (key, value) => {
        this.pendingWrites.push([key, value]);
      },
      output: (event) => {
        io.trace({ type: 'output', event: event as Json });
        this.pendingOutputs.push(event);
      },
      note: (event, data) => io.trace({ type: 'note', event, data: data ?? null }),
    };
  }
}
