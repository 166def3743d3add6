/**
 * Lab "pbft-attack": an adversary for n1, the primary of view 1, that makes correct replicas
 * disagree when backups take a NEW-VIEW's O as sent — and is contained when they recompute
 * it from V. Read README.md; grade with: npx bftkit lab grade pbft-attack .
 */
import { act, type Envelope, type NodeId, type ProtocolFactory, wrapHonest } from 'bftkit';

/**
 * Build the Byzantine replica from the honest one. `wrapHonest` runs the honest core and lets
 * you rewrite everything it sends (`rewrite` yields the messages to really send: none to
 * withhold one, several to equivocate). You hold only n1's key: `ctx.sign` signs as n1.
 */
export function adversary(honest: ProtocolFactory): ProtocolFactory {
  return wrapHonest(honest, (ctx) => ({
    *rewrite(to: NodeId | null, message: Envelope) {
      if (message.kind === 'NEW-VIEW') {
        // TODO: the NEW-VIEW this primary sends (body: view, viewChanges, prePrepares = O).
        act(ctx, 'no-attack-yet', { view: (message.body as { view: number }).view });
      }
      yield { to, message };
    },
  }));
}
