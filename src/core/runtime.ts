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
 * protocol without each one arranging it.
 *
 * Group commit. A host that can defer work (HostIO.defer: the process host uses setImmediate)
 * gets the effects of every step handled before the deferred flush runs — typically all the
 * frames one event-loop turn brought in — released together: ALL their writes in one
 * io.persist (one transaction, one fsync), THEN all their messages in the order the steps
 * sent them, then their outputs. Nothing any of these steps sent leaves before everything
 * they persisted is durable, so the rule above holds for each step; only the number of
 * fsyncs changes (one per turn instead of one per step). The simulator gives no `defer` and
 * keeps one flush per step, so its traces do not change.
 */

import {
  defaultLinkOptions,
  type LinkFrame,
  type LinkOptions,
  linkFrameSchema,
  PerfectLinks,
} from '../links/perfect-link.js';
import type { ClusterView } from './cluster-view.js';
import type { ProtocolDefinition } from './definition.js';
import {
  admitEnvelope,
  type Domain,
  describe,
  type KeyRing,
  parseFrame,
  type RejectReason,
  type Signer,
  signEnvelope,
} from './envelope.js';
import type { Envelope } from './envelope-types.js';
import type { Json } from './json.js';
import type { Context, NodeId, Protocol, ProtocolFactory, Recovered } from './protocol.js';

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
}

export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;

const PROTOCOL_TIMER = 'p:';
const LINK_TIMER = 'l:';

export class NodeRuntime {
  readonly rejections: Partial<Record<RejectReason, number>> = {};
  private readonly domain: Domain;
  private readonly links: PerfectLinks;
  private readonly maxFrameBytes: number;
  private core!: Protocol;
  private readonly ctx: Context;
  private localSeq = 0;
  private inStep = false;
  /** Group commit: a deferred flush is pending; effects wait for it. */
  private flushScheduled = false;
  private pendingWrites: [string, Json | null][] = [];
  private pendingFrames: [NodeId, LinkFrame | Envelope, string | null][] = [];
  private pendingOutputs: unknown[] = [];
  private readonly selfDeliveries: [string, Envelope][] = [];

  constructor(
    private readonly options: RuntimeOptions,
    private readonly io: HostIO,
    factory: ProtocolFactory,
  ) {
    this.domain = { cluster: options.cluster.id, protocol: options.definition.name };
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

  start(recovered: Recovered | null): void {
    this.io.trace({ type: 'start', recovered: recovered !== null });
    this.step(() => this.core.start(recovered));
  }

  /** A frame arrived from `peer` over an authenticated fair-loss link. */
  receive(peer: NodeId, frame: string): void {
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
    this.step(() => {
      for (const d of this.links.onFrame(peer, link.data as LinkFrame)) {
        this.admitAndDeliver(peer, `${peer}>${this.self}:${d.incarnation}.${d.seq}`, d.message);
      }
    });
  }

  /** The host's connection to `peer` came (back) up: resend what it has not acknowledged. */
  peerUp(peer: NodeId): void {
    this.step(() => this.links.resend(peer));
  }

  fireTimer(key: string): void {
    if (key.startsWith(LINK_TIMER)) {
      this.step(() => this.links.onTimer(key.slice(LINK_TIMER.length)));
    } else if (key.startsWith(PROTOCOL_TIMER)) {
      const name = key.slice(PROTOCOL_TIMER.length);
      this.io.trace({ type: 'timer', name });
      this.step(() => this.core.onTimer(name));
    }
  }

  request(request: Json): void {
    this.io.trace({ type: 'request', request });
    this.step(() => this.core.onRequest(request));
  }

  private admitAndDeliver(peer: NodeId, id: string, raw: unknown): void {
    const admission = admitEnvelope(
      raw,
      peer,
      this.options.definition,
      this.domain,
      this.options.keys,
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

  /** Run one event handler and then release its effects in the documented order. */
  private step(handler: () => void): void {
    if (this.inStep) {
      handler();
      return;
    }
    this.inStep = true;
    try {
      handler();
    } finally {
      this.inStep = false;
    }
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
    if (!this.flushScheduled) return;
    this.flushScheduled = false;
    this.flush();
  }

  private flush(): void {
    const writes = this.pendingWrites;
    const frames = this.pendingFrames;
    const outputs = this.pendingOutputs;
    this.pendingWrites = [];
    this.pendingFrames = [];
    this.pendingOutputs = [];
    if (writes.length > 0) {
      this.io.persist(writes);
      this.io.trace({ type: 'persist', keys: writes.map(([k]) => k) });
    }
    for (const [to, frame, text] of frames) this.io.transmit(to, text ?? JSON.stringify(frame));
    for (const event of outputs) this.io.output(event);
    while (this.selfDeliveries.length > 0) {
      const [id, message] = this.selfDeliveries.shift()!;
      this.io.trace({ type: 'deliver', from: this.self, id, kind: message.kind });
      this.step(() => this.core.onMessage(this.self, message));
    }
  }

  private queueFrame(to: NodeId, frame: LinkFrame): void {
    if (this.inStep || this.flushScheduled) this.pendingFrames.push([to, frame, null]);
    else this.io.transmit(to, JSON.stringify(frame));
  }

  private sendMessage(to: NodeId, message: Envelope): void {
    if (to === this.self) {
      const id = `${this.self}>${this.self}:L${++this.localSeq}`;
      this.io.trace({ type: 'send', to, id, kind: message.kind, body: message.body as Json });
      this.selfDeliveries.push([id, message]);
      return;
    }
    const seq = this.links.send(to, message);
    const id = `${this.self}>${to}:${this.options.incarnation}.${seq}`;
    this.io.trace({ type: 'send', to, id, kind: message.kind, body: message.body as Json });
  }

  private makeContext(): Context {
    const { self, cluster, signer, keys } = this.options;
    const domain = this.domain;
    const io = this.io;
    return {
      self,
      cluster,
      now: () => io.now(),
      random: () => io.random(),
      sign: (kind, body) => signEnvelope(domain, signer, kind, body),
      verify: (message) => keys.verify(domain, message),
      send: (to, message) => this.sendMessage(to, message),
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
