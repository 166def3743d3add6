/**
 * Byzantine PBFT replicas (src/pbft), each the honest replica under a wrapper (./pbft-wrap.ts)
 * that rewrites what it does. None holds another replica's key: whatever it claims in another
 * name carries a signature made with its own key, which verifies for nobody else.
 *
 *   silent                 sends nothing at all (its core runs on, withholding every message)
 *   silent-primary         silent only while it is (or is about to become) the primary
 *   equivocating-primary   as primary, sends one batch to half the backups and another batch
 *                          to the other half for the same sequence number (and both to one
 *                          witness, which can then prove it)
 *   censoring-primary      as primary, drops every request of one client
 *   covert-censor          as primary, drops one client's requests and delays everybody
 *                          else's (./pbft-censor.ts)
 *   slow-primary           as primary, holds each PRE-PREPARE back for `delayMs`, just under
 *                          the backups' view-change timeout
 *   phantom-voter          PREPAREs and COMMITs digests it never saw, for its sequence numbers
 *                          and for ones nobody has proposed yet
 *   forger                 forges other replicas' signatures: PREPAREs and COMMITs in their
 *                          names, wrong REPLYs in its own and their names, STATE with forged
 *                          certificates
 *   quorum-splitter        negative control: colluding, it shows the `victims` an alternative
 *                          batch (PRE-PREPARE as primary, PREPARE and COMMIT as anyone) and
 *                          everybody else the real one
 *
 * The view-change adversaries are in ./pbft-view-change.ts, the flooder in ./pbft-flood.ts,
 * the liars that only one check of the paper catches (digest-liar, request-forger,
 * beyond-watermark, short-certificate) in ./pbft-lies.ts, Byzantine clients and the replaying
 * primary in ./pbft-client.ts.
 * Every misdeed is reported with act(ctx, …), so the trace shows it.
 */
import { z } from 'zod';
import type { Envelope } from '../core/envelope-types.js';
import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import { primaryOf } from '../pbft/certificates.js';
import { digestOf } from '../pbft/digest.js';
import type {
  CheckpointBody,
  FetchStateBody,
  PrePrepareBody,
  ReplyBody,
  RequestEnvelope,
  Snapshot,
  StateBody,
  VoteBody,
} from '../pbft/messages.js';
import { stateDigestOf } from '../pbft/state-transfer.js';
import { type AdversaryDefinition, act, type Out } from './api.js';
import { covertCensor } from './pbft-censor.js';
import { pbftClientAdversaries, replayingPrimary } from './pbft-client.js';
import { floodingReplica } from './pbft-flood.js';
import { pbftLies } from './pbft-lies.js';
import { badNewView, badViewChange, oldViewReplayer } from './pbft-view-change.js';
import {
  alternativeBatch,
  define,
  forge,
  halves,
  holdPrePrepares,
  PBFT,
  type PbftSpy,
  phantomDigest,
  wrapPbft,
} from './pbft-wrap.js';

const noParams = z.object({}).strict();
const nodeId = z.string().min(1).max(128);

/** A PRE-PREPARE for the same (view, seq) as `pp`, but for the alternative batch. */
function alternativePrePrepare(sign: (body: Json) => Envelope, pp: PrePrepareBody): Envelope {
  const batch = alternativeBatch(pp.batch);
  return sign({ view: pp.view, seq: pp.seq, digest: digestOf(batch), batch } satisfies Json);
}

// ─── silent ──────────────────────────────────────────────────────────────────────────────────

function silence(whilePrimary: boolean) {
  return define({
    name: whilePrimary ? 'silent-primary' : 'silent',
    description: whilePrimary
      ? 'sends nothing while it is the primary (or the primary-elect of a view change), behaves otherwise'
      : 'sends nothing at all; its honest core keeps running and every message it would send is withheld',
    protocols: PBFT,
    params: noParams,
    create: (honest) =>
      wrapPbft(honest, (spy) => ({
        *rewrite(to, message) {
          if (whilePrimary && !spy.leading) return yield { to, message };
          act(spy.ctx, 'withhold', { to, kind: message.kind, view: spy.view });
        },
      })),
  });
}

export const silent = silence(false);
export const silentPrimary = silence(true);

// ─── equivocating primary ────────────────────────────────────────────────────────────────────

export const equivocatingPrimary = define({
  name: 'equivocating-primary',
  description:
    'as primary, sends each PRE-PREPARE with its batch to the first half of the backups and one for another batch (same view and sequence number) to the rest; with witness=true the first of the rest gets both, and can prove the equivocation',
  protocols: PBFT,
  params: z.object({ witness: z.boolean().default(true) }).strict(),
  create: (honest, params: { witness: boolean }) =>
    wrapPbft(honest, (spy) => ({
      *rewrite(to, message) {
        if (message.kind !== 'PRE-PREPARE' || to !== null) return yield { to, message };
        const pp = message.body as PrePrepareBody;
        const other = alternativePrePrepare((b) => spy.ctx.sign('PRE-PREPARE', b), pp);
        const [first, rest] = halves(spy.others);
        const witness = params.witness ? (rest[0] ?? null) : null;
        act(spy.ctx, 'equivocate', {
          view: pp.view,
          seq: pp.seq,
          digest: pp.digest,
          to: first,
          otherDigest: (other.body as PrePrepareBody).digest,
          otherTo: rest,
          witness,
        });
        for (const r of first) yield { to: r, message };
        for (const r of rest) yield { to: r, message: other };
        if (witness !== null) yield { to: witness, message };
      },
    })),
});

// ─── censoring primary ───────────────────────────────────────────────────────────────────────

export const censoringPrimary = define({
  name: 'censoring-primary',
  description:
    'as primary (or primary-elect), drops every request of one client (`client`) before its honest core sees it; as a backup it behaves',
  protocols: PBFT,
  params: z.object({ client: nodeId.default('c0') }).strict(),
  create: (honest, params: { client: string }) =>
    wrapPbft(honest, (spy) => ({
      observe(from, message) {
        if (message.kind !== 'REQUEST' || from !== params.client || !spy.leading) return true;
        const { timestamp } = message.body as { timestamp: number };
        act(spy.ctx, 'censor', { client: from, timestamp, view: spy.view });
        return false;
      },
    })),
});

// ─── slow primary ────────────────────────────────────────────────────────────────────────────

export const slowPrimary = define({
  name: 'slow-primary',
  description:
    'as primary, holds each PRE-PREPARE back for `delayMs` before sending it — set just under the backups’ view-change timeout, it slows everything down without ever being deposed',
  protocols: PBFT,
  params: z.object({ delayMs: z.number().int().min(0).max(3_600_000).default(400) }).strict(),
  create: (honest, params: { delayMs: number }) =>
    wrapPbft(honest, (spy) => holdPrePrepares(spy, params.delayMs)),
});

// ─── phantom voter ───────────────────────────────────────────────────────────────────────────

export const phantomVoter = define({
  name: 'phantom-voter',
  description:
    'replaces each PREPARE and COMMIT by one for a digest it never saw, and votes ahead for the next `ahead` sequence numbers, which nobody has proposed yet',
  protocols: PBFT,
  params: z.object({ ahead: z.number().int().min(0).max(64).default(2) }).strict(),
  create: (honest, params: { ahead: number }) =>
    wrapPbft(honest, (spy) => {
      const voted = new Set<string>();
      return {
        *rewrite(to, message) {
          if (message.kind !== 'PREPARE' && message.kind !== 'COMMIT') return yield { to, message };
          const { view, seq } = message.body as VoteBody;
          if (voted.size > 4_096) voted.clear();
          for (let s = seq; s <= seq + params.ahead; s++) {
            for (const kind of s === seq ? [message.kind] : ['PREPARE', 'COMMIT']) {
              const key = `${kind}/${view}/${s}`;
              if (voted.has(key)) continue;
              voted.add(key);
              const digest = phantomDigest(spy.ctx.self, view, s);
              act(spy.ctx, 'phantom-vote', { kind, view, seq: s, digest });
              yield { to, message: spy.ctx.sign(kind, { view, seq: s, digest }) };
            }
          }
        },
      };
    }),
});

// ─── forger ──────────────────────────────────────────────────────────────────────────────────

/** A STATE that would install a made-up checkpoint and batch, all under forged signatures. */
function forgedStates(
  spy: PbftSpy,
  victims: readonly NodeId[],
  request: FetchStateBody,
  interval: number,
): StateBody[] {
  const { ctx } = spy;
  const quorum = ctx.cluster.quorum;
  const snapshot: Snapshot = { app: [['k0', 'forged']], sessions: [] };
  const stateDigest = stateDigestOf(snapshot);
  // Far ahead of the requester, so that it is never below what the requester already has.
  const seq = (Math.floor(request.lastExecuted / interval) + 1_000) * interval;
  const proof = victims
    .slice(0, quorum)
    .map((v) => forge(ctx, v, 'CHECKPOINT', { seq, stateDigest } satisfies CheckpointBody));
  const view = spy.view;
  const batchSeq = request.lastExecuted + 1;
  const batch: RequestEnvelope[] = [];
  const digest = digestOf(batch);
  const primary = primaryOf(ctx.cluster, view);
  const ppBody = { view, seq: batchSeq, digest, batch };
  const prePrepare =
    primary === ctx.self
      ? ctx.sign('PRE-PREPARE', ppBody)
      : forge(ctx, primary, 'PRE-PREPARE', ppBody);
  const commits = victims
    .slice(0, quorum)
    .map((v) => forge(ctx, v, 'COMMIT', { view, seq: batchSeq, digest } satisfies VoteBody));
  return [
    { checkpoint: { seq, stateDigest, proof, snapshot }, batches: [], newView: null },
    { checkpoint: null, batches: [{ prePrepare, commits }], newView: null },
  ] as unknown as StateBody[];
}

export const forger = define({
  name: 'forger',
  description:
    'forges other replicas’ signatures (it signs with its own key in their names): with each PREPARE and COMMIT a vote for another digest in another replica’s name; instead of each REPLY a wrong result, in its own name and in another replica’s; to each FETCH-STATE a STATE with a forged checkpoint proof and one with a forged commit certificate',
  protocols: PBFT,
  params: z.object({ stateInterval: z.number().int().min(1).max(1_000_000).default(8) }).strict(),
  create: (honest, params: { stateInterval: number }) =>
    wrapPbft(honest, (spy) => {
      const { ctx } = spy;
      let turn = 0;
      const victim = (exclude: NodeId | null = null): NodeId => {
        const candidates = spy.others.filter((r) => r !== exclude);
        return candidates[turn++ % candidates.length] ?? ctx.self;
      };
      return {
        observe(from, message) {
          if (message.kind === 'FETCH-STATE' && from !== ctx.self) {
            const request = message.body as FetchStateBody;
            const names = [ctx.self, ...spy.others.filter((r) => r !== from)];
            for (const state of forgedStates(spy, names, request, params.stateInterval)) {
              act(ctx, 'forge-state', {
                to: from,
                checkpoint: state.checkpoint?.seq ?? null,
                batch: state.batches[0]?.prePrepare.body.seq ?? null,
              });
              ctx.send(from, ctx.sign('STATE', state as unknown as Json));
            }
          }
          return true;
        },
        *rewrite(to, message) {
          if (message.kind === 'REPLY' && to !== null) {
            // A wrong result in its own name, and the same in another replica's: were the
            // forgery accepted, the client would hold f + 1 = 2 matching wrong replies.
            const reply = message.body as ReplyBody;
            const wrong = { ok: true, value: `forged-${reply.timestamp}` };
            const as = victim();
            act(ctx, 'forge-reply', { to, as, timestamp: reply.timestamp });
            yield { to, message: ctx.sign('REPLY', { ...reply, result: wrong }) };
            yield {
              to,
              message: forge(ctx, as, 'REPLY', { ...reply, replica: as, result: wrong }),
            };
            return;
          }
          yield { to, message };
          if (message.kind === 'PREPARE' || message.kind === 'COMMIT') {
            const { view, seq } = message.body as VoteBody;
            const as = victim(message.kind === 'PREPARE' ? primaryOf(ctx.cluster, view) : null);
            const digest = phantomDigest(as, view, seq);
            act(ctx, 'forge-vote', { as, kind: message.kind, view, seq, digest });
            yield { to, message: forge(ctx, as, message.kind, { view, seq, digest }) };
          }
        },
      };
    }),
});

// ─── quorum splitter (negative control) ──────────────────────────────────────────────────────

export const quorumSplitter = define({
  name: 'quorum-splitter',
  description:
    'negative control, for f+1 colluders: the `victims` (default: the last replica) get an alternative batch for every sequence number — its PRE-PREPARE when this replica is primary, its PREPARE and COMMIT otherwise — and everybody else the real one; colluders that fill a quorum intersection make two honest replicas commit different batches',
  protocols: PBFT,
  params: z.object({ victims: z.array(nodeId).max(64).default([]) }).strict(),
  create: (honest, params: { victims: string[] }) =>
    wrapPbft(honest, (spy) => {
      const { ctx } = spy;
      const replicas = ctx.cluster.replicas;
      const fallback = replicas.filter((r) => r !== ctx.self).at(-1);
      const victims = new Set(
        params.victims.length > 0 ? params.victims : fallback === undefined ? [] : [fallback],
      );
      /** The batch of each (view, seq) it saw proposed, to derive the alternative from. */
      const batches = new Map<string, RequestEnvelope[]>();
      const remember = (pp: PrePrepareBody) => {
        if (batches.size >= 1_024) batches.delete(batches.keys().next().value as string);
        batches.set(`${pp.view}/${pp.seq}`, pp.batch);
      };
      function* split(message: Envelope, other: Envelope): Iterable<Out> {
        for (const r of replicas) {
          if (r !== ctx.self) yield { to: r, message: victims.has(r) ? other : message };
        }
      }
      return {
        observe(_from, message) {
          if (message.kind === 'PRE-PREPARE') remember(message.body as PrePrepareBody);
          return true;
        },
        *rewrite(to, message) {
          if (to !== null) return yield { to, message };
          if (message.kind === 'PRE-PREPARE') {
            const pp = message.body as PrePrepareBody;
            remember(pp);
            const other = alternativePrePrepare((b) => ctx.sign('PRE-PREPARE', b), pp);
            act(ctx, 'split-pre-prepare', {
              view: pp.view,
              seq: pp.seq,
              digest: pp.digest,
              otherDigest: (other.body as PrePrepareBody).digest,
              victims: [...victims],
            });
            return yield* split(message, other);
          }
          if (message.kind !== 'PREPARE' && message.kind !== 'COMMIT') return yield { to, message };
          const vote = message.body as VoteBody;
          const batch = batches.get(`${vote.view}/${vote.seq}`);
          if (batch === undefined) return yield { to, message };
          const digest = digestOf(alternativeBatch(batch));
          act(ctx, 'split-vote', {
            kind: message.kind,
            view: vote.view,
            seq: vote.seq,
            digest: vote.digest,
            otherDigest: digest,
            victims: [...victims],
          });
          yield* split(message, ctx.sign(message.kind, { ...vote, digest }));
        },
      };
    }),
});

export const pbftAdversaries: AdversaryDefinition[] = [
  silent,
  silentPrimary,
  equivocatingPrimary,
  censoringPrimary,
  covertCensor,
  slowPrimary,
  phantomVoter,
  forger,
  badViewChange,
  badNewView,
  oldViewReplayer,
  floodingReplica,
  quorumSplitter,
  ...pbftLies,
  replayingPrimary,
  ...pbftClientAdversaries,
] as AdversaryDefinition[];
