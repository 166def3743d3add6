/**
 * Reference solution of lab "pbft-quorum-attack": the project's `quorum-splitter`
 * (src/adversary/pbft.ts), written against the public API. The last replica is the victim:
 * for every sequence number it gets the null request — a PRE-PREPARE for the empty batch
 * from the primary, PREPAREs and COMMITs for it from the colluders — and everybody else the
 * real batch. At n = 4 the colluders fill the intersection of two quorums of 3, so the victim
 * and the other correct replica each see a quorum, for different batches.
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

type Vote = { view: number; seq: number; digest: string };

export function adversary(honest: ProtocolFactory): ProtocolFactory {
  return wrapHonest(honest, (ctx) => {
    const replicas = ctx.cluster.replicas;
    const victim = replicas.at(-1);
    /** A broadcast split in two: the victim gets `other`, every other replica `message`. */
    function* split(message: Envelope, other: Envelope) {
      for (const r of replicas)
        if (r !== ctx.self) yield { to: r, message: r === victim ? other : message };
    }
    return {
      *rewrite(to, message) {
        if (to !== null) return yield { to, message };
        if (message.kind === 'PRE-PREPARE') {
          const pp = (message as PrePrepareEnvelope).body;
          const other = { ...pp, digest: NULL_DIGEST, batch: [] };
          act(ctx, 'split-pre-prepare', { seq: pp.seq, victim: victim ?? null });
          return yield* split(message, ctx.sign('PRE-PREPARE', other as unknown as Json));
        }
        if (message.kind === 'PREPARE' || message.kind === 'COMMIT') {
          const vote = message.body as unknown as Vote;
          act(ctx, 'split-vote', { kind: message.kind, seq: vote.seq, victim: victim ?? null });
          return yield* split(message, ctx.sign(message.kind, { ...vote, digest: NULL_DIGEST }));
        }
        yield { to, message };
      },
    };
  });
}
