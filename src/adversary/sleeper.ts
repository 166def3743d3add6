/**
 * The sleeper — the adversary written step by step in docs/writing-an-adversary.md.
 *
 * A Byzantine replica of the (1,N) Byzantine register that behaves honestly for its first
 * `awakeAfter` writes, then "falls asleep": it keeps acknowledging writes (so writers count
 * it in their quorums) but answers every read with ⊥, as if nothing had ever been written.
 * Alone it is harmless — a correct replica in every reader's quorum holds a newer, signed
 * value and the highest timestamp wins. Two sleepers in a cluster built for f = 1 can fill
 * the whole intersection of a writer's and a reader's quorum, and a read returns ⊥ after a
 * completed write: regularity is broken.
 */
import { z } from 'zod';
import type { ByzValueBody } from '../register/messages.js';
import { type AdversaryDefinition, act, wrapHonest } from './api.js';

const paramsSchema = z
  .object({
    /** How many writes it handles honestly before it starts lying. */
    awakeAfter: z.number().int().min(0).max(1_000_000).default(3),
  })
  .strict();

export const sleeper: AdversaryDefinition<z.infer<typeof paramsSchema>> = {
  name: 'sleeper',
  description:
    'honest for its first `awakeAfter` writes, then acks writes but answers reads with ⊥',
  protocols: ['byz-register'],
  params: paramsSchema,
  create: (honest, params) =>
    wrapHonest(honest, (ctx) => {
      let writesSeen = 0;
      return {
        // Runs before the honest core sees each message: count the writer's writes.
        observe(_from, message) {
          if (message.kind === 'WRITE') writesSeen++;
        },
        // Runs on everything the honest core sends: ACKs pass, VALUEs lie once asleep.
        *rewrite(to, message) {
          if (message.kind !== 'VALUE' || writesSeen <= params.awakeAfter) {
            yield { to, message };
            return;
          }
          const { rid } = message.body as ByzValueBody;
          act(ctx, 'answer-bottom', { to, rid, writesSeen });
          yield { to, message: ctx.sign('VALUE', { rid, write: null } satisfies ByzValueBody) };
        },
      };
    }),
};
