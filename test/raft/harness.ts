/**
 * A hand-driven multi-node network for scripted Raft schedules (e.g. the Raft paper's
 * Figure 8): nothing happens unless the test says so. Messages wait on per-link FIFO queues
 * until the test delivers them (only a link's head can be delivered) or drops them (which
 * models a sender that crashed before its link got them across); timers fire only when the
 * test fires them; a crash keeps what the node persisted and a restart hands it back.
 * Every delivered body is JSON-copied and checked against raftDefinition's schema, as the
 * host would.
 */
import { type ClusterView, makeClusterView } from '../../src/core/cluster-view.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { NoteRecord } from '../../src/core/kit.js';
import type { Context, NodeId, Protocol, ProtocolFactory } from '../../src/core/protocol.js';
import { Rng } from '../../src/core/rng.js';
import type { Json } from '../../src/crypto/json.js';
import { raftDefinition } from '../../src/raft/messages.js';

export interface InFlight {
  from: NodeId;
  to: NodeId;
  message: Envelope;
}

interface HNode {
  id: NodeId;
  protocol: Protocol | null;
  store: Map<string, Json>;
  timers: Map<string, number>;
  outputs: unknown[];
  rng: Rng;
  started: boolean;
}

export class Harness {
  readonly view: ClusterView;
  readonly notes: NoteRecord[] = [];
  inflight: InFlight[] = [];
  time = 0;
  private readonly nodes = new Map<NodeId, HNode>();

  constructor(
    replicas: NodeId[],
    clients: NodeId[],
    private readonly factory: (id: NodeId) => ProtocolFactory,
    seed = 1,
  ) {
    this.view = makeClusterView({
      id: 'harness',
      protocol: 'raft',
      model: 'crash',
      replicas,
      clients,
      f: Math.floor((replicas.length - 1) / 2),
    });
    [...replicas, ...clients].forEach((id, i) => {
      this.nodes.set(id, {
        id,
        protocol: null,
        store: new Map(),
        timers: new Map(),
        outputs: [],
        rng: new Rng(seed, i + 1),
        started: false,
      });
    });
  }

  start(ids: NodeId[] = [...this.nodes.keys()]): void {
    for (const id of ids) this.boot(this.node(id));
  }

  protocol<P extends Protocol>(id: NodeId): P {
    const p = this.node(id).protocol;
    if (p === null) throw new Error(`${id} is down`);
    return p as P;
  }

  store(id: NodeId): ReadonlyMap<string, Json> {
    return this.node(id).store;
  }

  outputs(id: NodeId): unknown[] {
    return this.node(id).outputs;
  }

  isArmed(id: NodeId, timer: string): boolean {
    return this.node(id).timers.has(timer);
  }

  /** Fire a node's timer (it must be armed). */
  fire(id: NodeId, timer: string): void {
    const node = this.node(id);
    if (node.protocol === null) throw new Error(`${id} is down`);
    if (!node.timers.delete(timer)) throw new Error(`${id}: timer ${timer} is not armed`);
    this.time++;
    node.protocol.onTimer(timer);
  }

  request(id: NodeId, request: unknown): void {
    this.time++;
    this.protocol(id).onRequest(request);
  }

  crash(id: NodeId): void {
    const node = this.node(id);
    node.protocol = null;
    node.timers.clear();
    // What was on its way to the node is lost with it.
    this.inflight = this.inflight.filter((m) => m.to !== id);
  }

  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.protocol !== null) throw new Error(`${id} is up`);
    this.boot(node);
  }

  /** The messages that could be delivered next: the head of every link. */
  heads(): InFlight[] {
    const seen = new Set<string>();
    const heads: InFlight[] = [];
    for (const m of this.inflight) {
      const link = `${m.from}>${m.to}`;
      if (seen.has(link)) continue;
      seen.add(link);
      heads.push(m);
    }
    return heads;
  }

  /** Deliver one link head matching `pred`; false if there is none. */
  deliverOne(pred: (m: InFlight) => boolean = () => true): boolean {
    const m = this.heads().find(pred);
    if (m === undefined) return false;
    this.inflight.splice(this.inflight.indexOf(m), 1);
    // To a node that is down, or not simulated here (a client): lost.
    const target = this.nodes.get(m.to);
    if (target === undefined || target.protocol === null) return true;
    const schema = raftDefinition.messages[m.message.kind];
    if (schema === undefined) throw new Error(`unknown kind ${m.message.kind}`);
    const body = schema.parse(JSON.parse(JSON.stringify(m.message.body))) as Json;
    this.time++;
    target.protocol.onMessage(m.from, { ...m.message, body });
    return true;
  }

  /** Deliver link heads matching `pred` until none is left; returns how many. */
  deliverAll(pred: (m: InFlight) => boolean = () => true, limit = 100_000): number {
    let n = 0;
    while (this.deliverOne(pred)) {
      if (++n > limit) throw new Error('deliverAll: no quiescence');
    }
    return n;
  }

  /** Remove every in-flight message matching `pred`. */
  drop(pred: (m: InFlight) => boolean): number {
    const before = this.inflight.length;
    this.inflight = this.inflight.filter((m) => !pred(m));
    return before - this.inflight.length;
  }

  private boot(node: HNode): void {
    const recovered = node.started ? new Map(node.store) : null;
    node.started = true;
    const ctx: Context = {
      self: node.id,
      cluster: this.view,
      now: () => this.time,
      random: () => node.rng.next(),
      sign: (kind, body) => ({ kind, from: node.id, body, sig: `sig:${node.id}` }),
      verify: (message) => message.sig === `sig:${message.from}`,
      send: (to, message) => this.inflight.push({ from: node.id, to, message }),
      broadcast: (message, options) => {
        for (const to of this.view.replicas) {
          if (to !== node.id || (options?.includeSelf ?? true)) {
            this.inflight.push({ from: node.id, to, message });
          }
        }
      },
      setTimer: (name, delayMs) => node.timers.set(name, this.time + delayMs),
      cancelTimer: (name) => node.timers.delete(name),
      persist: (key, value) => {
        if (value === null) node.store.delete(key);
        else node.store.set(key, structuredClone(value));
      },
      output: (event) => node.outputs.push(event),
      note: (event, data) =>
        this.notes.push({
          time: this.time,
          node: node.id,
          instance: node.id,
          event,
          data: data ?? null,
        }),
    };
    node.protocol = this.factory(node.id)(ctx);
    node.protocol.start(recovered);
  }

  private node(id: NodeId): HNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }
}

/** Predicates for scripts. */
export const from =
  (...ids: NodeId[]) =>
  (m: InFlight): boolean =>
    ids.includes(m.from);
export const to =
  (...ids: NodeId[]) =>
  (m: InFlight): boolean =>
    ids.includes(m.to);
export const between =
  (a: NodeId[], b: NodeId[]) =>
  (m: InFlight): boolean =>
    (a.includes(m.from) && b.includes(m.to)) || (b.includes(m.from) && a.includes(m.to));
export const kind =
  (...kinds: string[]) =>
  (m: InFlight): boolean =>
    kinds.includes(m.message.kind);
export const both =
  (...preds: ((m: InFlight) => boolean)[]) =>
  (m: InFlight): boolean =>
    preds.every((p) => p(m));
