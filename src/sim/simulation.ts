/**
 * The deterministic simulator: one virtual clock, one agenda, one seeded network, and a
 * NodeRuntime per instance — the same runtime a real process hosts. Same options and seed
 * ⇒ the same sequence of events ⇒ a byte-identical trace.
 *
 * The network model is fair-loss per link: each frame independently may be lost, may be
 * duplicated, and takes a latency drawn from the configured range (so frames reorder).
 * Partitions cut links between blocks; heal restores them. A crash wipes an instance's
 * memory and timers but keeps what it persisted; a restart builds a fresh core over it.
 * Twins are two instances of one identity: messages to the identity reach every instance
 * the sender can reach, and both sign with the same key.
 */
import { type ClusterView, makeClusterView } from '../core/cluster-view.js';
import type { AuthMode, ProtocolDefinition } from '../core/definition.js';
import { KeyRing, makeSigner } from '../core/envelope.js';
import type { NoteRecord } from '../core/kit.js';
import type { NodeId, ProtocolFactory } from '../core/protocol.js';
import { Rng } from '../core/rng.js';
import { fastBackend } from '../crypto/backends.js';
import { sha256 } from '../crypto/hash-node.js';
import type { Json } from '../crypto/json.js';
import type { LinkOptions } from '../links/perfect-link.js';
import { NodeRuntime } from '../runtime/runtime.js';
import { EventQueue } from './event-queue.js';
import { type SimEvent, TRACE_FORMAT, type TraceLine, Tracer } from './trace.js';

export interface NetworkModel {
  /** One-way latency in ms, uniform in [min, max]. */
  latency: { min: number; max: number };
  /** Probability that a frame is lost. */
  loss: number;
  /** Probability that a frame is delivered twice. */
  duplicate: number;
}

export const defaultNetwork: NetworkModel = { latency: { min: 1, max: 10 }, loss: 0, duplicate: 0 };

export interface InstanceSpec {
  /** Instance id; a twin's is conventionally "<identity>'". */
  id: string;
  identity: NodeId;
}

export interface SimOptions {
  seed: number;
  cluster: {
    id: string;
    replicas: NodeId[];
    clients?: NodeId[];
    f: number;
    unsafe?: boolean;
  };
  definition: ProtocolDefinition;
  /** Builds the core of an instance (called again on every restart). */
  factory: (instance: string, identity: NodeId) => ProtocolFactory;
  network?: Partial<NetworkModel>;
  /** Extra instances (twins) beside one per replica and client. */
  twins?: InstanceSpec[];
  /** Instances whose behaviour is adversarial (marked in the trace). */
  byzantine?: Iterable<string>;
  link?: Partial<LinkOptions>;
  /**
   * Message authentication (src/core/definition.ts; default: the protocol's). The simulated
   * network hands every frame to the runtime with its true sender, so it models the
   * authenticated channels of real nodes, and 'channel' runs the runtime's rule unchanged.
   */
  auth?: AuthMode;
  /** 'full' records every event with clocks; 'notes' only notes, outputs and faults. */
  trace?: 'full' | 'notes';
  /**
   * One signature-verdict cache for all nodes (default true): the second replica to check the
   * same PREPARE pays a lookup, not an ed25519 verification — the same verdict, sooner. Each
   * node's keyRingStats then count only the checks it was first to make; the simulator bench
   * turns this off to count every replica's own work.
   */
  shareVerdicts?: boolean;
  meta?: Json;
}

interface Instance {
  readonly id: string;
  readonly identity: NodeId;
  readonly index: number;
  readonly store: Map<string, Json>;
  readonly rng: Rng;
  runtime: NodeRuntime | null;
  timers: Map<string, number>;
  timerGeneration: number;
  started: boolean;
}

export interface SimStats {
  framesSent: number;
  framesLost: number;
  framesDuplicated: number;
  framesDelivered: number;
  messagesSent: number;
  messagesDelivered: number;
  events: number;
}

/** Verdicts the nodes of one simulation share (shareVerdicts). */
const SHARED_VERDICTS = 262_144;

/** The seed of a simulated node's key: public, deterministic, for simulation only. */
export function simulatedSeed(cluster: string, identity: NodeId): Uint8Array {
  return sha256(new TextEncoder().encode(`bftkit-sim-key/${cluster}/${identity}`));
}

export class Simulation {
  readonly cluster: ClusterView;
  readonly stats: SimStats = {
    framesSent: 0,
    framesLost: 0,
    framesDuplicated: 0,
    framesDelivered: 0,
    messagesSent: 0,
    messagesDelivered: 0,
    events: 0,
  };
  readonly notes: NoteRecord[] = [];
  /** Sees every frame a node transmits (the fuzzer captures its corpus of real frames here). */
  tap: ((from: NodeId, to: NodeId, frame: string) => void) | null = null;
  private readonly tracer: Tracer;
  private readonly queue = new EventQueue();
  private readonly networkRng: Rng;
  private network: NetworkModel;
  private readonly instances = new Map<string, Instance>();
  private readonly byIdentity = new Map<NodeId, Instance[]>();
  private readonly publicKeys = new Map<NodeId, Uint8Array>();
  private readonly seeds = new Map<NodeId, Uint8Array>();
  private blockOf: Map<string, number> | null = null;
  private readonly outputListeners: ((instance: string, event: unknown, time: number) => void)[] =
    [];
  private incarnations = 0;
  private timerTokens = 0;
  private readonly fullTrace: boolean;
  private clock = 0;

  constructor(private readonly options: SimOptions) {
    const { cluster } = options;
    this.cluster = makeClusterView({
      id: cluster.id,
      protocol: options.definition.name,
      model: options.definition.model,
      replicas: cluster.replicas,
      clients: cluster.clients ?? [],
      f: cluster.f,
      unsafe: cluster.unsafe ?? false,
    });
    this.network = { ...defaultNetwork, ...options.network };
    this.networkRng = new Rng(options.seed, 0);
    this.fullTrace = (options.trace ?? 'full') === 'full';
    const identities = [...this.cluster.replicas, ...this.cluster.clients];
    for (const identity of identities) {
      const seed = simulatedSeed(cluster.id, identity);
      this.seeds.set(identity, seed);
      this.publicKeys.set(identity, fastBackend.publicKey(seed));
    }
    const specs: InstanceSpec[] = [
      ...identities.map((id) => ({ id, identity: id })),
      ...(options.twins ?? []),
    ];
    const byzantine = new Set(options.byzantine ?? []);
    specs.forEach((spec, index) => {
      if (this.instances.has(spec.id)) throw new Error(`duplicate instance id ${spec.id}`);
      if (!this.publicKeys.has(spec.identity))
        throw new Error(`twin of unknown node ${spec.identity}`);
      const instance: Instance = {
        id: spec.id,
        identity: spec.identity,
        index,
        store: new Map(),
        rng: new Rng(options.seed, index + 1),
        runtime: null,
        timers: new Map(),
        timerGeneration: 0,
        started: false,
      };
      this.instances.set(spec.id, instance);
      const list = this.byIdentity.get(spec.identity) ?? [];
      list.push(instance);
      this.byIdentity.set(spec.identity, list);
    });
    this.tracer = new Tracer({
      type: 'header',
      format: TRACE_FORMAT,
      instances: specs.map((s) => ({
        id: s.id,
        identity: s.identity,
        byzantine: byzantine.has(s.id),
      })),
      meta: options.meta ?? {
        seed: options.seed,
        cluster: cluster.id,
        protocol: options.definition.name,
      },
    });
  }

  get now(): number {
    return this.clock;
  }

  get trace(): readonly TraceLine[] {
    return this.tracer.lines;
  }

  traceJsonl(): string {
    return this.tracer.toJsonl();
  }

  instanceIds(): string[] {
    return [...this.instances.keys()];
  }

  isUp(instance: string): boolean {
    return this.instances.get(instance)?.runtime != null;
  }

  /** Rejection counters of an instance's admission pipeline. */
  rejections(instance: string): Readonly<Record<string, number>> {
    return { ...this.get(instance).runtime?.rejections };
  }

  /** Signature verifications an instance actually performed, and its cache hits. */
  keyRingStats(instance: string): { verifications: number; cacheHits: number } {
    const ring = this.keyRings.get(instance);
    return { verifications: ring?.verifications ?? 0, cacheHits: ring?.cacheHits ?? 0 };
  }

  onOutput(listener: (instance: string, event: unknown, time: number) => void): void {
    this.outputListeners.push(listener);
  }

  /** Start every instance at the current time. */
  start(): void {
    for (const instance of this.instances.values()) this.boot(instance);
  }

  at(time: number, action: () => void): void {
    this.queue.push(Math.max(time, this.clock), action);
  }

  /** Hand a request from the layer above to an instance (dropped if it is down). */
  request(instance: string, request: Json): void {
    this.get(instance).runtime?.request(request);
  }

  crash(instance: string): void {
    const node = this.get(instance);
    if (node.runtime === null) return;
    node.runtime = null;
    node.timers.clear();
    node.timerGeneration++;
    this.record(node.id, { type: 'crash' });
  }

  restart(instance: string): void {
    const node = this.get(instance);
    if (node.runtime !== null) return;
    this.record(node.id, { type: 'restart' });
    this.boot(node);
  }

  /** Cut the network into blocks of instance ids or identities; the rest form one block. */
  partition(blocks: string[][]): void {
    const blockOf = new Map<string, number>();
    blocks.forEach((block, b) => {
      for (const name of block) {
        const members = this.instances.has(name)
          ? [name]
          : (this.byIdentity.get(name) ?? []).map((i) => i.id);
        if (members.length === 0) throw new Error(`partition names unknown node ${name}`);
        for (const m of members) blockOf.set(m, b);
      }
    });
    this.blockOf = blockOf;
    this.record('*', { type: 'partition', blocks });
  }

  heal(): void {
    this.blockOf = null;
    this.record('*', { type: 'heal' });
  }

  setNetwork(change: Partial<NetworkModel>): void {
    this.network = { ...this.network, ...change };
    this.record('*', { type: 'network', change: change as Json });
  }

  /** Record an adversary's action in the trace (adversaries call it through their wrapper). */
  adversaryAction(instance: string, action: string, data: Json | null = null): void {
    this.record(instance, { type: 'adversary', action, data });
  }

  /** Run every event scheduled up to `time`, then set the clock to it. */
  runUntil(time: number): void {
    for (
      let next = this.queue.peekTime();
      next !== undefined && next <= time;
      next = this.queue.peekTime()
    ) {
      const event = this.queue.pop()!;
      this.clock = event.time;
      this.stats.events++;
      event.run();
    }
    this.clock = Math.max(this.clock, time);
  }

  private readonly keyRings = new Map<string, KeyRing>();
  private readonly verdicts = new Map<string, boolean>();

  private boot(node: Instance): void {
    const recovered = node.started ? new Map(node.store) : null;
    node.started = true;
    const keys =
      this.options.shareVerdicts === false
        ? new KeyRing(this.publicKeys, fastBackend)
        : new KeyRing(this.publicKeys, fastBackend, SHARED_VERDICTS, this.verdicts);
    this.keyRings.set(node.id, keys);
    const generation = node.timerGeneration;
    const runtime = new NodeRuntime(
      {
        self: node.identity,
        cluster: this.cluster,
        definition: this.options.definition,
        keys,
        signer: makeSigner(node.identity, this.seeds.get(node.identity)!, fastBackend),
        incarnation: ++this.incarnations,
        ...(this.options.link === undefined ? {} : { link: this.options.link }),
        ...(this.options.auth === undefined ? {} : { auth: this.options.auth }),
      },
      {
        now: () => this.clock,
        random: () => node.rng.next(),
        transmit: (to, frame) => this.transmit(node, to, frame),
        setTimer: (key, delay) => this.setTimer(node, generation, key, delay),
        cancelTimer: (key) => {
          node.timers.delete(key);
        },
        persist: (writes) => {
          for (const [key, value] of writes) {
            if (value === null) node.store.delete(key);
            else node.store.set(key, value);
          }
        },
        output: (event) => {
          for (const listener of this.outputListeners) listener(node.id, event, this.clock);
        },
        trace: (event) => this.record(node.id, event),
      },
      this.options.factory(node.id, node.identity),
    );
    node.runtime = runtime;
    runtime.start(recovered);
  }

  private setTimer(node: Instance, generation: number, key: string, delay: number): void {
    const token = ++this.timerTokens;
    node.timers.set(key, token);
    this.queue.push(this.clock + Math.max(0, delay), () => {
      if (node.timerGeneration !== generation || node.timers.get(key) !== token) return;
      node.timers.delete(key);
      node.runtime?.fireTimer(key);
    });
  }

  private transmit(from: Instance, to: NodeId, frame: string): void {
    this.tap?.(from.identity, to, frame);
    const targets = this.byIdentity.get(to);
    if (targets === undefined) return;
    for (const target of targets) {
      if (!this.connected(from.id, target.id)) continue;
      this.stats.framesSent++;
      if (this.networkRng.chance(this.network.loss)) {
        this.stats.framesLost++;
        continue;
      }
      const copies = this.networkRng.chance(this.network.duplicate) ? 2 : 1;
      if (copies === 2) this.stats.framesDuplicated++;
      for (let c = 0; c < copies; c++) {
        const { min, max } = this.network.latency;
        const arrival = this.clock + this.networkRng.range(min, max);
        this.queue.push(arrival, () => {
          // A partition that starts while the frame is in flight also cuts it.
          if (target.runtime === null || !this.connected(from.id, target.id)) return;
          this.stats.framesDelivered++;
          target.runtime.receive(from.identity, frame);
        });
      }
    }
  }

  private connected(a: string, b: string): boolean {
    if (this.blockOf === null || a === b) return true;
    return (this.blockOf.get(a) ?? -1) === (this.blockOf.get(b) ?? -1);
  }

  private record(node: string, event: SimEvent): void {
    if (event.type === 'note') {
      const instance = this.instances.get(node);
      this.notes.push({
        time: this.clock,
        node: instance?.identity ?? node,
        instance: node,
        event: event.event,
        data: event.data,
      });
    } else if (event.type === 'send') this.stats.messagesSent++;
    else if (event.type === 'deliver') this.stats.messagesDelivered++;
    if (this.fullTrace || !LIGHT_SKIPS.has(event.type)) this.tracer.record(this.clock, node, event);
  }

  private get(instance: string): Instance {
    const node = this.instances.get(instance);
    if (node === undefined) throw new Error(`no instance ${instance}`);
    return node;
  }
}

const LIGHT_SKIPS = new Set(['send', 'deliver', 'timer', 'persist']);
