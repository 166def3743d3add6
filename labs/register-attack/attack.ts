/**
 * Lab "register-attack": an adversary for the replicas n0 and n1 that breaks the Byzantine
 * register built for f = 1 (n = 4) — and is contained by the register at n = 7, f = 2.
 * Read README.md; grade with: npx bftkit lab grade register-attack .
 */
import { act, type Context, type Envelope, type NodeId, type ProtocolFactory } from 'bftkit';

// The register's messages, as the host admits them.
export type WriteBody = { ts: number; value: string };
/** The writer's signed WRITE envelope: a replica keeps it and returns it in VALUE. */
export type SignedWrite = { kind: 'WRITE'; from: NodeId; body: WriteBody; sig: string };
/** [READ, rid] */
export type ReadBody = { rid: number };
/** [VALUE, rid, ts, val, σ]: write null is (0, ⊥, ⊥). */
export type ValueBody = { rid: number; write: SignedWrite | null };

/**
 * Build the Byzantine replica from the honest one. You may run the honest core and rewrite
 * what it sends (bftkit's `wrapHonest` / `interceptSends`), or ignore it and write a whole
 * replica. You hold only your own key: `ctx.sign` signs as you.
 */
export function adversary(honest: ProtocolFactory): ProtocolFactory {
  return (ctx: Context) => {
    const core = honest(ctx);
    return {
      start: (recovered) => {
        act(ctx, 'no-attack-yet'); // the trace viewer highlights adversary notes
        core.start(recovered);
      },
      onMessage: (from: NodeId, message: Envelope) => {
        // TODO: decide what to do with WRITE (from the writer, ctx.cluster.clients[0]) and
        // READ (from a reader). Report each deliberate misdeed: act(ctx, 'what', { … }).
        core.onMessage(from, message);
      },
      onTimer: (name) => core.onTimer(name),
      onRequest: (request) => core.onRequest(request),
    };
  };
}
