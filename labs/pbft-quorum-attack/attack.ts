/**
 * Lab "pbft-quorum-attack": an adversary for the replicas n0 (the primary) and n1 that breaks
 * PBFT built for f = 1 (n = 4) — and is contained by PBFT built for f = 2 (n = 7).
 * Read README.md; grade with: npx bftkit lab grade pbft-quorum-attack .
 */
import { act, type Envelope, type NodeId, type ProtocolFactory, wrapHonest } from 'bftkit';

/**
 * Build the Byzantine replica from the honest one. `wrapHonest` runs the honest core and
 * passes every message it sends through `rewrite` (`to` is null for a broadcast), which yields
 * what to really send — one message per replica, if you like, to tell each its own story.
 * (`observe(from, message)`, beside `rewrite`, would see every message the core receives.)
 * You hold only your replica's key: `ctx.sign(kind, body)` signs as you.
 */
export function adversary(honest: ProtocolFactory): ProtocolFactory {
  return wrapHonest(honest, (ctx) => ({
    *rewrite(to: NodeId | null, message: Envelope) {
      if (to === null) {
        // TODO: which replica gets which PRE-PREPARE, PREPARE and COMMIT? Report each
        // deliberate misdeed: act(ctx, 'what', { … }).
        act(ctx, 'no-attack-yet', { kind: message.kind });
      }
      yield { to, message };
    },
  }));
}
