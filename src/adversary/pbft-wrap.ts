/**
 * The wrapper under every PBFT adversary (src/adversary/pbft*.ts). Like `wrapHonest` in
 * ./api.ts it runs the honest replica and rewrites what it sends, and adds what a PBFT
 * adversary needs besides:
 *
 *   - it knows which view the core is in and whom it trusts as leader (it reads the core's
 *     'view' and 'trust' notes), so an adversary can misbehave "only while primary";
 *   - `observe` may withhold an inbound message from the core (a censor drops requests);
 *   - the adversary has timers of its own (a slow primary holds PRE-PREPAREs back): they are
 *     named `adversary:<name>` on the real context, and every other timer still goes to the
 *     honest core's onTimer, as if nothing were wrapped.
 *
 * Also the small tools of forgery: a signature by the wrong key (`forge`) and digests of
 * batches nobody proposed (`phantomDigest`).
 */
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, ProtocolFactory } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import { digestOf } from '../pbft/digest.js';
import type { PrePrepareBody, RequestEnvelope } from '../pbft/messages.js';
import { type AdversaryDefinition, act, type Out } from './api.js';

/** The protocols a PBFT adversary applies to. */
export const PBFT = ['pbft'] as const;

/** Infer an adversary's parameter type from its schema and its create function. */
export function define<P>(definition: AdversaryDefinition<P>): AdversaryDefinition<P> {
  return definition;
}

/**
 * The other batch an equivocator proposes for a sequence number: the same requests in the
 * reverse order, or the null request (the empty batch) when there is only one. Both are
 * well formed and carry only requests their clients really signed, so a backup that sees
 * only one of them has no reason to refuse it.
 */
export function alternativeBatch(batch: readonly RequestEnvelope[]): RequestEnvelope[] {
  return batch.length >= 2 ? [...batch].reverse() : [];
}

/** Prefix of the adversary's own timers on the real context. */
export const ADVERSARY_TIMER = 'adversary:';

/** What the wrapper tells an adversary about the honest core it wraps. */
export interface PbftSpy {
  /** The real context: signs as this replica, sends without going through `rewrite`. */
  readonly ctx: Context;
  /** The view the core last entered. */
  readonly view: number;
  /** The primary of that view. */
  readonly primary: NodeId;
  /** The leader the core trusts now: the primary, or during a view change the primary-elect. */
  readonly leader: NodeId;
  /** Whether this replica is (or is about to become) the primary. */
  readonly leading: boolean;
  /** The other replicas, in rank order. */
  readonly others: readonly NodeId[];
  /** Arm one of the adversary's own timers (the honest core never sees it). */
  setTimer(name: string, delayMs: number): void;
  cancelTimer(name: string): void;
}

export interface PbftHooks {
  /** Sees every inbound message before the core does; `false` withholds it from the core. */
  observe?(from: NodeId, message: Envelope): boolean | undefined;
  /** Every message the core sends (`to` null: to every replica); yields what really leaves. */
  rewrite?(to: NodeId | null, message: Envelope): Iterable<Out>;
  /** One of the adversary's own timers fired. */
  onTimer?(name: string): void;
  /** The core has started. */
  start?(): void;
  /** The core noted something ('view' when it enters a view, 'commit', …). */
  onNote?(event: string, data: Json | undefined): void;
}

function field(data: Json | undefined, name: string): Json | undefined {
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? data[name] : undefined;
}

/** What the wrapper learns from its core's notes: the view, its primary, the trusted leader. */
class ViewWatch {
  view = 0;
  primary: NodeId;
  leader: NodeId;

  constructor(ctx: Context) {
    this.primary = ctx.cluster.replicas[0] ?? ctx.self;
    this.leader = this.primary;
  }

  see(event: string, data: Json | undefined): void {
    if (event === 'view') {
      const v = field(data, 'view');
      const p = field(data, 'primary');
      if (typeof v === 'number' && typeof p === 'string') {
        this.view = v;
        this.primary = p;
        this.leader = p;
      }
    } else if (event === 'trust') {
      const l = field(data, 'leader');
      if (typeof l === 'string') this.leader = l;
    }
  }
}

function spyFor(ctx: Context, watch: ViewWatch): PbftSpy {
  return {
    ctx,
    get view() {
      return watch.view;
    },
    get primary() {
      return watch.primary;
    },
    get leader() {
      return watch.leader;
    },
    get leading() {
      return watch.leader === ctx.self;
    },
    others: ctx.cluster.replicas.filter((r) => r !== ctx.self),
    setTimer: (name, delayMs) => ctx.setTimer(ADVERSARY_TIMER + name, delayMs),
    cancelTimer: (name) => ctx.cancelTimer(ADVERSARY_TIMER + name),
  };
}

/** The context the honest core sees: its sends pass through `rewrite`, its notes are watched. */
function coreContext(ctx: Context, hooks: PbftHooks, watch: ViewWatch): Context {
  const release = (to: NodeId | null, message: Envelope, includeSelf: boolean) => {
    const outs = hooks.rewrite?.(to, message) ?? [{ to, message }];
    for (const out of outs) {
      if (out.to === null) ctx.broadcast(out.message, { includeSelf });
      else ctx.send(out.to, out.message);
    }
  };
  return Object.create(ctx, {
    send: { value: (to: NodeId, message: Envelope) => release(to, message, true) },
    broadcast: {
      value: (message: Envelope, options?: { includeSelf?: boolean }) =>
        release(null, message, options?.includeSelf ?? true),
    },
    note: {
      value: (event: string, data?: Json) => {
        watch.see(event, data);
        ctx.note(event, data);
        hooks.onNote?.(event, data);
      },
    },
  });
}

/** Run the honest PBFT replica under `setup`'s hooks, one set of hooks per instance. */
export function wrapPbft(
  honest: ProtocolFactory,
  setup: (spy: PbftSpy) => PbftHooks,
): ProtocolFactory {
  return (ctx) => {
    const watch = new ViewWatch(ctx);
    const hooks = setup(spyFor(ctx, watch));
    const core = honest(coreContext(ctx, hooks, watch));
    return {
      start: (recovered) => {
        core.start(recovered);
        hooks.start?.();
      },
      onMessage: (from, message) => {
        if (hooks.observe?.(from, message) === false) return;
        core.onMessage(from, message);
      },
      onTimer: (name) => {
        if (name.startsWith(ADVERSARY_TIMER)) hooks.onTimer?.(name.slice(ADVERSARY_TIMER.length));
        else core.onTimer(name);
      },
      onRequest: (request) => core.onRequest(request),
    };
  };
}

/**
 * A message in another replica's name: the body and kind are as given, `from` is the victim,
 * and the signature is a real ed25519 signature — made with the adversary's own key, so it
 * verifies for nobody else. This is the best forgery a replica without the victim's key has.
 */
export function forge<K extends string, B extends Json>(
  ctx: Context,
  victim: NodeId,
  kind: K,
  body: B,
): Envelope<K, B> {
  return { ...ctx.sign(kind, body), from: victim };
}

/** A well-formed digest of a batch that nobody ever proposed. */
export function phantomDigest(tag: string, ...parts: Json[]): string {
  return digestOf(['phantom', tag, ...parts]);
}

/** The other replicas, in rank order, split in two halves (the first one the smaller). */
export function halves(others: readonly NodeId[]): [NodeId[], NodeId[]] {
  const cut = Math.floor(others.length / 2);
  return [others.slice(0, cut), others.slice(cut)];
}

/**
 * The hooks of a primary that holds each PRE-PREPARE back for `delayMs` before sending it
 * (slow-primary, covert-censor); everything else goes out unchanged.
 */
export function holdPrePrepares(
  spy: PbftSpy,
  delayMs: number,
): Required<Pick<PbftHooks, 'rewrite' | 'onTimer'>> {
  const held: { due: number; out: Out }[] = [];
  const release = () => {
    const now = spy.ctx.now();
    while (held.length > 0 && (held[0]?.due ?? Number.POSITIVE_INFINITY) <= now) {
      const { out } = held.shift() as { due: number; out: Out };
      if (out.to === null) spy.ctx.broadcast(out.message, { includeSelf: false });
      else spy.ctx.send(out.to, out.message);
    }
    const next = held[0];
    if (next !== undefined) spy.setTimer('release', next.due - now);
  };
  return {
    *rewrite(to, message) {
      if (message.kind !== 'PRE-PREPARE' || !spy.leading) return yield { to, message };
      const { view, seq } = message.body as PrePrepareBody;
      act(spy.ctx, 'delay', { view, seq, ms: delayMs });
      held.push({ due: spy.ctx.now() + delayMs, out: { to, message } });
      if (held.length === 1) spy.setTimer('release', delayMs);
    },
    onTimer(name) {
      if (name === 'release') release();
    },
  };
}
