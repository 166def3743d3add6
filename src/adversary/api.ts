/**
 * Writing an adversary. A Byzantine node is a ProtocolFactory like any other; an adversary
 * builds one from the honest factory and its parameters. Two styles (DESIGN.md principle 4):
 *
 *   - a wrapper: run the honest core over an intercepted Context and rewrite its effects —
 *     withhold, delay, equivocate, replay, forge (see `interceptSends`);
 *   - a whole alternative implementation that ignores the honest core.
 *
 * An adversary holds only its own key: ctx.sign signs as itself, and anything it claims in
 * another node's name carries a signature it cannot make. Whatever it does deliberately, it
 * reports with ctx.note('adversary', { action, … }) so the trace viewer can highlight it.
 */
import type { z } from 'zod';
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, ProtocolFactory } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';

export interface AdversaryDefinition<P = Record<string, Json>> {
  readonly name: string;
  /** One line for `bftkit scenario adversaries` and error messages. */
  readonly description: string;
  /** The protocol kits (scenario `protocol` values) it can attack. */
  readonly protocols: readonly string[];
  /** Which nodes it can replace: replicas (the default) or clients. */
  readonly role?: 'replica' | 'client';
  /** Schema of its parameters in a scenario file (defaults applied by the schema). */
  readonly params: z.ZodType<P>;
  create(honest: ProtocolFactory, params: P): ProtocolFactory;
}

/** Report a deliberate misdeed in the trace. */
export function act(ctx: Context, action: string, data: Record<string, Json> = {}): void {
  ctx.note('adversary', { action, ...data });
}

/** A message to really send: to one node, or to every replica when `to` is null. */
export type Out = { to: NodeId | null; message: Envelope };

/**
 * Run the honest core over a Context whose outgoing messages pass through `rewrite`, which
 * returns the (to, message) pairs to really send — none to withhold, several to equivocate.
 * `to` is null for a broadcast. Everything else the core does is left as it is.
 */
export function interceptSends(
  honest: ProtocolFactory,
  rewrite: (ctx: Context, to: NodeId | null, message: Envelope) => Iterable<Out>,
): ProtocolFactory {
  return (ctx) => {
    const release = (to: NodeId | null, message: Envelope, includeSelf?: boolean) => {
      for (const out of rewrite(ctx, to, message)) {
        if (out.to === null) ctx.broadcast(out.message, { includeSelf: includeSelf ?? true });
        else ctx.send(out.to, out.message);
      }
    };
    const intercepted: Context = Object.create(ctx, {
      send: { value: (to: NodeId, message: Envelope) => release(to, message) },
      broadcast: {
        value: (message: Envelope, options?: { includeSelf?: boolean }) =>
          release(null, message, options?.includeSelf),
      },
    });
    return honest(intercepted);
  };
}

/** What a wrapper adversary does around an honest core, set up once per instance. */
export interface Hooks {
  /** Sees every message before the honest core does (to remember what it may replay). */
  observe?(from: NodeId, message: Envelope): void;
  /** Rewrites every message the honest core sends. */
  rewrite(to: NodeId | null, message: Envelope): Iterable<Out>;
}

/** Run the honest core with per-instance hooks on what it receives and what it sends. */
export function wrapHonest(
  honest: ProtocolFactory,
  setup: (ctx: Context) => Hooks,
): ProtocolFactory {
  return (ctx) => {
    const hooks = setup(ctx);
    const core = interceptSends(honest, (_ctx, to, message) => hooks.rewrite(to, message))(ctx);
    return {
      start: (recovered) => core.start(recovered),
      onMessage: (from, message) => {
        hooks.observe?.(from, message);
        core.onMessage(from, message);
      },
      onTimer: (name) => core.onTimer(name),
      onRequest: (request) => core.onRequest(request),
    };
  };
}
