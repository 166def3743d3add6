/**
 * A scripted cluster for golden transcripts (docs/transcripts.md): the protocol's real cores
 * in the real NodeRuntime (admission, signatures where the protocol signs, the order of effects), but no clock that
 * runs and no network that decides — the script says which message arrives, which timer
 * fires, who crashes. Every effect a node's runtime releases becomes a line of text.
 *
 * The network is a list of messages in flight. Each runtime sends over its perfect links as
 * always; the cluster takes the envelope out of the link frame and, when the script delivers
 * it, hands it to the receiver in a fresh frame of a link of its own (next sequence number,
 * base = that number), so that a script may deliver in any order or drop a message without
 * the receiver's link waiting for a gap to fill. Acknowledgements and link timers are not
 * needed by anyone and are not shown.
 *
 * Everything is fixed: keys from the simulator's public seeds, each node's randomness from a
 * seeded stream, time from `advance`.
 */
import { type ClusterView, makeClusterView } from '../../src/core/cluster-view.js';
import { KeyRing, makeSigner } from '../../src/core/envelope.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Params, ProtocolKit } from '../../src/core/kit.js';
import type { NodeId, ProtocolFactory } from '../../src/core/protocol.js';
import { Rng } from '../../src/core/rng.js';
import { fastBackend } from '../../src/crypto/backends.js';
import type { Json } from '../../src/crypto/json.js';
import type { LinkFrame } from '../../src/links/perfect-link.js';
import { CoreFailure, type HostIO, NodeRuntime } from '../../src/runtime/runtime.js';
import { findKit } from '../../src/scenario/kits.js';
import { simulatedSeed } from '../../src/sim/simulation.js';
import { show } from './format.js';

/** Replace a node's core (the negative test builds a broken variant this way). */
export type Wrap = (id: NodeId, factory: ProtocolFactory) => ProtocolFactory;

const CLUSTER_ID = 'transcript';
const SEED = 1;
const PROTOCOL_TIMER = 'p:';
/** stabilize gives up after this many deliveries: a script that never settles is a bug. */
const MAX_DELIVERIES = 10_000;

interface InFlight {
  id: number;
  from: NodeId;
  to: NodeId;
  /** The sender's incarnation: a restarted sender's messages travel on a new link. */
  incarnation: number;
  message: Envelope;
}

interface Node {
  readonly id: NodeId;
  readonly factory: ProtocolFactory;
  readonly rng: Rng;
  readonly store: Map<string, Json>;
  /** Protocol timers armed, by name, with the time they are due. */
  readonly timers: Map<string, number>;
  runtime: NodeRuntime | null;
  started: boolean;
}

interface Filter {
  ids: Set<number> | null;
  from: Set<NodeId> | null;
  to: Set<NodeId> | null;
  kinds: Set<string> | null;
  count: number;
}

/** One effect line in the making: sends are merged into one line per broadcast. */
type Line = { text: string } | { node: NodeId; send: InFlight };

export class TranscriptCluster {
  private kit: ProtocolKit | null = null;
  private view: ClusterView | null = null;
  private keys: KeyRing | null = null;
  private readonly nodes = new Map<NodeId, Node>();
  private inFlight: InFlight[] = [];
  private nextMessageId = 1;
  private readonly linkSeq = new Map<string, number>();
  private incarnations = 0;
  private clock = 0;
  private lines: Line[] = [];
  /** Indentation of effect lines: under the event that caused them. */
  private readonly indent = '  ';

  constructor(private readonly wrap: Wrap = (_id, factory) => factory) {}

  /** Run one command and return what it caused, one line per effect. */
  run(command: string): string[] {
    const [name, ...args] = command.trim().split(/\s+/);
    this.lines = [];
    if (name !== 'cluster' && this.kit === null)
      throw new Error('the first command must be "cluster <protocol> …"');
    switch (name) {
      case 'cluster':
        this.setUp(args);
        break;
      case 'start':
        for (const id of args.length === 0 ? [...this.nodes.keys()] : args) this.start(id);
        break;
      case 'request':
        this.request(args);
        break;
      case 'deliver':
        this.deliver(parseFilter(args), false);
        break;
      case 'stabilize':
        this.deliver(parseFilter(args), true);
        break;
      case 'drop':
        this.drop(parseFilter(args));
        break;
      case 'tick':
        this.tick(args);
        break;
      case 'advance':
        this.advance(args);
        break;
      case 'crash':
        this.crash(one(args, 'crash <node>'));
        break;
      case 'recover':
        this.recover(one(args, 'recover <node>'));
        break;
      case 'pending':
        for (const m of this.inFlight) this.say(describe(m));
        break;
      case 'timers':
        this.listTimers(args);
        break;
      default:
        throw new Error(`unknown command "${name}"`);
    }
    return this.render();
  }

  // ─── commands ──────────────────────────────────────────────────────────────────────────

  /** cluster <protocol> replicas=N [clients=M] [param=json …] */
  private setUp(args: string[]): void {
    if (this.kit !== null) throw new Error('cluster: already set up');
    const [protocol, ...rest] = args;
    if (protocol === undefined) throw new Error('cluster <protocol> replicas=N …');
    const kit = findKit(protocol);
    const settings = keyValues(rest);
    const replicas = ids('n', Number(settings.replicas ?? 4));
    const clients = ids('c', Number(settings.clients ?? 0));
    delete settings.replicas;
    delete settings.clients;
    const params: Params = Object.fromEntries(
      Object.entries(settings).map(([k, v]) => [k, parseJson(v)]),
    );
    const n = replicas.length;
    const model = kit.definition.model;
    const f = model === 'byzantine' ? Math.floor((n - 1) / 3) : Math.floor((n - 1) / 2);
    this.kit = kit;
    this.view = makeClusterView({
      id: CLUSTER_ID,
      protocol: kit.definition.name,
      model,
      replicas,
      clients,
      f,
    });
    const publicKeys = new Map<NodeId, Uint8Array>();
    [...replicas, ...clients].forEach((id, index) => {
      publicKeys.set(id, fastBackend.publicKey(simulatedSeed(CLUSTER_ID, id)));
      const core = replicas.includes(id) ? kit.replica(id, params) : kit.client(id, params);
      this.nodes.set(id, {
        id,
        factory: this.wrap(id, core),
        rng: new Rng(SEED, index + 1),
        store: new Map(),
        timers: new Map(),
        runtime: null,
        started: false,
      });
    });
    this.keys = new KeyRing(publicKeys, fastBackend);
    this.say(
      `${protocol}: replicas ${replicas.join(' ')}${clients.length > 0 ? `, clients ${clients.join(' ')}` : ''}; n=${n} f=${f} quorum=${this.view.quorum}`,
    );
  }

  private start(id: NodeId): void {
    const node = this.node(id);
    if (node.runtime !== null) throw new Error(`start: ${id} is running`);
    if (node.started) throw new Error(`start: ${id} ran before; use recover`);
    this.say(`${id} start`);
    this.boot(node, null);
  }

  private recover(id: NodeId): void {
    const node = this.node(id);
    if (node.runtime !== null || !node.started) throw new Error(`recover: ${id} is not crashed`);
    const keys = [...node.store.keys()].sort();
    this.say(`${id} recover with ${keys.length === 0 ? 'nothing stored' : keys.join(' ')}`);
    this.boot(node, new Map(node.store));
  }

  /** request <client> put K V | get K | cas K FROM TO (FROM '-' is "absent") */
  private request(args: string[]): void {
    const [id, op, key, a, b] = args;
    const command: Json =
      op === 'put' && a !== undefined
        ? { op, key: key!, value: a }
        : op === 'get' && key !== undefined
          ? { op, key }
          : op === 'cas' && b !== undefined
            ? { op, key: key!, from: a === '-' ? null : a!, to: b }
            : fail(`request: expected <client> put K V | get K | cas K FROM TO`);
    const runtime = this.running(id!);
    this.say(`${id} request ${show(command)}`);
    this.guard(id!, () => runtime.request(command));
  }

  private deliver(filter: Filter, untilQuiet: boolean): void {
    let delivered = 0;
    for (;;) {
      const chosen = this.take(filter, filter.count - delivered);
      if (chosen.length === 0) break;
      for (const m of chosen) {
        delivered++;
        if (delivered > MAX_DELIVERIES) throw new Error('stabilize: the cluster never settles');
        this.say(describe(m));
        const receiver = this.nodes.get(m.to)!;
        const runtime = receiver.runtime;
        if (runtime === null) {
          this.effect(m.to, 'is down: the message is lost');
          continue;
        }
        const key = `${m.from}/${m.incarnation}>${m.to}`;
        const seq = (this.linkSeq.get(key) ?? 0) + 1;
        this.linkSeq.set(key, seq);
        const frame: LinkFrame = { t: 'd', i: m.incarnation, s: seq, b: seq, m: m.message };
        const ignored = runtime.ignored;
        this.guard(m.to, () => runtime.receive(m.from, JSON.stringify(frame)));
        if (runtime.ignored > ignored) this.effect(m.to, 'ignores it (prefilter)');
      }
      if (!untilQuiet) break;
    }
    if (delivered === 0) this.say('nothing to deliver');
  }

  private drop(filter: Filter): void {
    const chosen = this.take(filter, filter.count);
    for (const m of chosen) this.say(`dropped ${describe(m)}`);
    if (chosen.length === 0) this.say('nothing to drop');
  }

  /** tick <node> <timer>: the named protocol timer fires, whenever it was due. */
  private tick(args: string[]): void {
    const [id, name] = args;
    if (id === undefined || name === undefined) throw new Error('tick <node> <timer>');
    const node = this.node(id);
    const runtime = this.running(id);
    if (!node.timers.has(name))
      throw new Error(`tick: ${id} has no timer "${name}" armed (${[...node.timers.keys()]})`);
    node.timers.delete(name);
    this.say(`${id} timer ${name}`);
    this.guard(id, () => runtime.fireTimer(PROTOCOL_TIMER + name));
  }

  /** advance <ms>: the clock moves on; no timer fires by itself (tick fires them). */
  private advance(args: string[]): void {
    const ms = Number(one(args, 'advance <ms>'));
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`advance: not a duration: ${args[0]}`);
    this.clock += ms;
    this.say(`time ${this.clock}`);
  }

  private crash(id: NodeId): void {
    const node = this.node(id);
    this.running(id);
    node.runtime = null;
    node.timers.clear();
    this.say(`${id} crashes (keeps ${node.store.size} stored keys)`);
    for (const m of this.take({ ...everything(), to: new Set([id]) }, Infinity))
      this.effect(id, `never receives ${describe(m)}`);
  }

  private listTimers(args: string[]): void {
    for (const id of args.length === 0 ? [...this.nodes.keys()] : args) {
      const timers = [...this.node(id).timers].sort(([a], [b]) => a.localeCompare(b));
      for (const [name, due] of timers) this.say(`${id} ${name} due at ${due}`);
    }
  }

  // ─── the nodes' host ───────────────────────────────────────────────────────────────────

  private boot(node: Node, recovered: Map<string, Json> | null): void {
    node.started = true;
    const io: HostIO = {
      now: () => this.clock,
      random: () => node.rng.next(),
      transmit: (to, text) => this.transmit(node.id, to, text),
      setTimer: (key, delayMs) => {
        if (!key.startsWith(PROTOCOL_TIMER)) return;
        const name = key.slice(PROTOCOL_TIMER.length);
        node.timers.set(name, this.clock + delayMs);
        this.effect(node.id, `timer ${name} ${delayMs}ms`);
      },
      cancelTimer: (key) => {
        if (!key.startsWith(PROTOCOL_TIMER)) return;
        const name = key.slice(PROTOCOL_TIMER.length);
        if (node.timers.delete(name)) this.effect(node.id, `cancel ${name}`);
      },
      persist: (writes) => {
        for (const [key, value] of writes) {
          if (value === null) node.store.delete(key);
          else node.store.set(key, value);
        }
        const keys = writes.map(([key, value]) => (value === null ? `-${key}` : key));
        this.effect(node.id, `persist ${keys.join(' ')}`);
      },
      output: (event) => this.effect(node.id, `output ${show(event)}`),
      trace: (event) => {
        if (event.type === 'note')
          this.effect(
            node.id,
            `note ${event.event}${event.data === null ? '' : ` ${show(event.data)}`}`,
          );
        else if (event.type === 'reject')
          this.effect(node.id, `reject from ${event.from}: ${event.reason} (${event.detail})`);
        else if (event.type === 'deliver' && event.from === node.id)
          this.say(`${node.id} → ${node.id} ${event.kind} (to itself)`);
      },
    };
    const runtime = new NodeRuntime(
      {
        self: node.id,
        cluster: this.view!,
        definition: this.kit!.definition,
        keys: this.keys!,
        signer: makeSigner(node.id, simulatedSeed(CLUSTER_ID, node.id), fastBackend),
        incarnation: ++this.incarnations,
      },
      io,
      node.factory,
    );
    node.runtime = runtime;
    this.guard(node.id, () => runtime.start(recovered));
  }

  private transmit(from: NodeId, to: NodeId, text: string): void {
    const frame = JSON.parse(text) as LinkFrame;
    if (frame.t !== 'd') return; // an acknowledgement: the scripted network needs none
    const sent: InFlight = {
      id: this.nextMessageId++,
      from,
      to,
      incarnation: frame.i,
      message: frame.m,
    };
    this.inFlight.push(sent);
    this.lines.push({ node: from, send: sent });
  }

  /** A step whose core threw: the runtime let nothing of it out and the node stops. */
  private guard(id: NodeId, step: () => void): void {
    try {
      step();
    } catch (error) {
      if (!(error instanceof CoreFailure)) throw error;
      const node = this.node(id);
      node.runtime = null;
      node.timers.clear();
      this.effect(id, `stops: ${error.message}`);
    }
  }

  // ─── helpers ───────────────────────────────────────────────────────────────────────────

  private node(id: NodeId): Node {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node "${id}" (${[...this.nodes.keys()]})`);
    return node;
  }

  private running(id: NodeId): NodeRuntime {
    const runtime = this.node(id).runtime;
    if (runtime === null) throw new Error(`${id} is not running`);
    return runtime;
  }

  /** Remove and return up to `count` messages in flight that match, oldest first. */
  private take(filter: Filter, count: number): InFlight[] {
    const chosen: InFlight[] = [];
    this.inFlight = this.inFlight.filter((m) => {
      if (chosen.length >= count || !matches(filter, m)) return true;
      chosen.push(m);
      return false;
    });
    return chosen;
  }

  private say(text: string): void {
    this.lines.push({ text });
  }

  private effect(id: NodeId, text: string): void {
    this.lines.push({ text: `${this.indent}${id} ${text}` });
  }

  /** The lines of a command; one broadcast (one signed message to many) is one line. */
  private render(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.lines.length; i++) {
      const line = this.lines[i]!;
      if ('text' in line) {
        out.push(line.text);
        continue;
      }
      const group = [line.send];
      const { message } = line.send;
      const body = show(message.body);
      // Same kind and body: one message (ed25519 is deterministic, so signed or not — Raft's
      // default auth is 'channel' — this is the line a signature would have grouped).
      for (let next = this.lines[i + 1]; next !== undefined && 'send' in next; ) {
        if (next.node !== line.node || next.send.message.kind !== message.kind) break;
        if (show(next.send.message.body) !== body) break;
        group.push(next.send);
        next = this.lines[++i + 1];
      }
      out.push(
        `${this.indent}${line.node} send ${group.map((m) => `#${m.id}`).join(',')} → ${group.map((m) => m.to).join(',')} ${message.kind} ${body}`,
      );
    }
    return out;
  }
}

function describe(m: InFlight): string {
  return `#${m.id} ${m.from} → ${m.to} ${m.message.kind}`;
}

function matches(filter: Filter, m: InFlight): boolean {
  return (
    (filter.ids === null || filter.ids.has(m.id)) &&
    (filter.from === null || filter.from.has(m.from)) &&
    (filter.to === null || filter.to.has(m.to)) &&
    (filter.kinds === null || filter.kinds.has(m.message.kind))
  );
}

function everything(): Filter {
  return { ids: null, from: null, to: null, kinds: null, count: Infinity };
}

/** #N … from=a,b to=c kind=K,L count=N */
function parseFilter(args: string[]): Filter {
  const filter = everything();
  const numbers = args.filter((a) => a.startsWith('#')).map((a) => Number(a.slice(1)));
  if (numbers.length > 0) filter.ids = new Set(numbers);
  const settings = keyValues(args.filter((a) => !a.startsWith('#')));
  const list = (v: string | undefined) => (v === undefined ? null : new Set(v.split(',')));
  filter.from = list(settings.from);
  filter.to = list(settings.to);
  filter.kinds = list(settings.kind);
  if (settings.count !== undefined) filter.count = Number(settings.count);
  for (const key of Object.keys(settings))
    if (!['from', 'to', 'kind', 'count'].includes(key)) throw new Error(`unknown filter ${key}=`);
  return filter;
}

function keyValues(args: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new Error(`expected key=value, got "${arg}"`);
    out[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return out;
}

function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

function ids(prefix: string, count: number): NodeId[] {
  if (!Number.isInteger(count) || count < 0) throw new Error(`not a count: ${count}`);
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

function one(args: string[], usage: string): string {
  if (args.length !== 1) throw new Error(usage);
  return args[0]!;
}

function fail(message: string): never {
  throw new Error(message);
}
