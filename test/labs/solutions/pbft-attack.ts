/**
 * Reference solution of lab "pbft-attack": the project's `bad-new-view` adversary in its
 * drop-entry mode (src/adversary/pbft-view-change.ts), written against the public API. As
 * the primary of a new view it replaces the last batch of O — the one most likely to have
 * committed just before the view change — by the null request, re-signing that PRE-PREPARE
 * and the NEW-VIEW with its own key, and votes COMMIT for the null request there too.
 */
import {
  act,
  type Envelope,
  type Json,
  NULL_DIGEST,
  type PrePrepareEnvelope,
  type ProtocolFactory,
  wrapHonest,
} from 'bftkit';

type NewViewBody = { view: number; viewChanges: Envelope[]; prePrepares: PrePrepareEnvelope[] };
type Vote = { view: number; seq: number; digest: string };

export function adversary(honest: ProtocolFactory): ProtocolFactory {
  return wrapHonest(honest, (ctx) => {
    /** The slots whose batch this primary replaced, "view/seq". */
    const dropped = new Set<string>();
    return {
      *rewrite(to, message) {
        if (message.kind === 'NEW-VIEW' && message.from === ctx.self) {
          const body = message.body as unknown as NewViewBody;
          const last = body.prePrepares.at(-1);
          if (last !== undefined && last.body.digest !== NULL_DIGEST) {
            const nulled = ctx.sign('PRE-PREPARE', {
              ...last.body,
              digest: NULL_DIGEST,
              batch: [],
            } as unknown as Json);
            const prePrepares = [...body.prePrepares.slice(0, -1), nulled];
            dropped.add(`${body.view}/${last.body.seq}`);
            act(ctx, 'drop-from-o', { view: body.view, seq: last.body.seq });
            yield {
              to,
              message: ctx.sign('NEW-VIEW', { ...body, prePrepares } as unknown as Json),
            };
            return;
          }
        }
        if (message.kind === 'COMMIT') {
          const vote = message.body as unknown as Vote;
          if (dropped.has(`${vote.view}/${vote.seq}`)) {
            yield { to, message: ctx.sign('COMMIT', { ...vote, digest: NULL_DIGEST }) };
            return;
          }
        }
        yield { to, message };
      },
    };
  });
}
