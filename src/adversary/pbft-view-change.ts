/**
 * Byzantine PBFT replicas that attack the view change (docs/reference/pbft.md "View change"):
 *
 *   bad-view-change     sends VIEW-CHANGEs whose P holds a fabricated prepared certificate
 *                       (forged signatures, or genuine ones that do not belong together), or
 *                       that hide its certificates and checkpoint altogether
 *   bad-new-view        as the new primary, sends a NEW-VIEW whose O does not match its V
 *                       (a prepared batch replaced by the null request, an extra batch after
 *                       max-s) or whose V holds fewer than q VIEW-CHANGEs
 *   old-view-replayer   replays its own messages from older views (and relays other
 *                       replicas' old ones) whenever a new view begins, and now and then
 *
 * Honest replicas check every VIEW-CHANGE's certificates and recompute O from V
 * (src/pbft/view-change.ts); what fails is rejected, and a bad NEW-VIEW gets its sender
 * deposed. Every misdeed is reported with act(ctx, …).
 */
import { z } from 'zod';
import type { Envelope } from '../core/envelope-types.js';
import type { Json } from '../crypto/json.js';
import { NULL_DIGEST, primaryOf } from '../pbft/certificates.js';
import { digestOf } from '../pbft/digest.js';
import type {
  NewViewBody,
  NewViewEnvelope,
  PrePrepareBody,
  PrePrepareEnvelope,
  PreparedCertificate,
  PrepareEnvelope,
  RequestEnvelope,
  StateBody,
  ViewChangeBody,
} from '../pbft/messages.js';
import { SLOTTED_KINDS } from '../pbft/messages.js';
import { act } from './api.js';
import { alternativeBatch, define, forge, PBFT, type PbftSpy, wrapPbft } from './pbft-wrap.js';

/** A bounded memory: the newest `limit` items. */
function remember<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.shift();
}

// ─── bad VIEW-CHANGE ─────────────────────────────────────────────────────────────────────────

const viewChangeModes = ['hidden', 'forged-certificate', 'mismatched-certificate'] as const;
type ViewChangeMode = (typeof viewChangeModes)[number];

/**
 * A prepared certificate that claims the batch `batch` prepared at (view, seq): the PRE-PREPARE
 * in the name of that view's primary, q−1 PREPAREs in the names of its backups — signed with
 * this replica's key, so only its own name (if it is among them) carries a valid signature.
 */
function forgedCertificate(
  spy: PbftSpy,
  view: number,
  seq: number,
  batch: RequestEnvelope[],
): PreparedCertificate {
  const { ctx } = spy;
  const primary = primaryOf(ctx.cluster, view);
  const digest = digestOf(batch);
  const body = { view, seq, digest, batch };
  const prePrepare = (
    primary === ctx.self ? ctx.sign('PRE-PREPARE', body) : forge(ctx, primary, 'PRE-PREPARE', body)
  ) as PrePrepareEnvelope;
  const backups = ctx.cluster.replicas.filter((r) => r !== primary);
  const prepares = backups.slice(0, ctx.cluster.quorum - 1).map((b) => {
    const vote = { view, seq, digest };
    return (
      b === ctx.self ? ctx.sign('PREPARE', vote) : forge(ctx, b, 'PREPARE', vote)
    ) as PrepareEnvelope;
  });
  return { prePrepare, prepares };
}

export const badViewChange = define({
  name: 'bad-view-change',
  description:
    'sends VIEW-CHANGEs with a fabricated P: a prepared certificate of the latest view for the first sequence number above its checkpoint, for another batch, under forged signatures (forged-certificate); a genuine PRE-PREPARE with genuine PREPAREs of other slots (mismatched-certificate); or no certificates and no checkpoint at all (hidden, which is a lie nobody can detect); mode rotate takes them in turn',
  protocols: PBFT,
  params: z.object({ mode: z.enum([...viewChangeModes, 'rotate']).default('rotate') }).strict(),
  create: (honest, params: { mode: ViewChangeMode | 'rotate' }) =>
    wrapPbft(honest, (spy) => {
      const { ctx } = spy;
      const prePrepares: PrePrepareEnvelope[] = [];
      const prepares: PrepareEnvelope[] = [];
      const sent = new Map<number, Envelope>();

      const fabricate = (vc: ViewChangeBody): { mode: ViewChangeMode; body: ViewChangeBody } => {
        let mode =
          params.mode === 'rotate'
            ? (viewChangeModes[vc.newView % viewChangeModes.length] as ViewChangeMode)
            : params.mode;
        if (mode === 'hidden') {
          return { mode, body: { ...vc, stableSeq: 0, checkpointProof: [], prepared: [] } };
        }
        if (mode === 'mismatched-certificate') {
          const pp = prePrepares.at(-1);
          const others = prepares.filter(
            (p) => pp !== undefined && (p.body.seq !== pp.body.seq || p.body.view !== pp.body.view),
          );
          const need = ctx.cluster.quorum - 1;
          if (pp !== undefined && others.length >= need && pp.body.seq > vc.stableSeq) {
            const cert: PreparedCertificate = { prePrepare: pp, prepares: others.slice(-need) };
            const rest = vc.prepared.filter((c) => c.prePrepare.body.seq !== pp.body.seq);
            return { mode, body: { ...vc, prepared: [cert, ...rest] } };
          }
          mode = 'forged-certificate';
        }
        const seq = vc.stableSeq + 1;
        const seen = prePrepares.at(-1)?.body.batch ?? [];
        const cert = forgedCertificate(spy, vc.newView - 1, seq, alternativeBatch(seen));
        const rest = vc.prepared.filter((c) => c.prePrepare.body.seq !== seq);
        return { mode, body: { ...vc, prepared: [cert, ...rest] } };
      };

      const record = (message: Envelope) => {
        if (message.kind === 'PRE-PREPARE')
          remember(prePrepares, message as PrePrepareEnvelope, 16);
        else if (message.kind === 'PREPARE') remember(prepares, message as PrepareEnvelope, 64);
      };
      return {
        observe(_from, message) {
          record(message);
          return true;
        },
        *rewrite(to, message) {
          record(message);
          if (message.kind !== 'VIEW-CHANGE') return yield { to, message };
          const vc = message.body as ViewChangeBody;
          let bad = sent.get(vc.newView);
          if (bad === undefined) {
            const { mode, body } = fabricate(vc);
            bad = ctx.sign('VIEW-CHANGE', body as unknown as Json);
            sent.set(vc.newView, bad);
            if (sent.size > 8) sent.delete(sent.keys().next().value as number);
            const cert = body.prepared[0];
            act(ctx, 'bad-view-change', {
              mode,
              newView: vc.newView,
              stableSeq: body.stableSeq,
              certificate:
                cert === undefined
                  ? null
                  : { view: cert.prePrepare.body.view, seq: cert.prePrepare.body.seq },
            });
          }
          yield { to, message: bad };
        },
      };
    }),
});

// ─── bad NEW-VIEW ────────────────────────────────────────────────────────────────────────────

const newViewModes = ['short-v', 'drop-entry', 'extra-entry'] as const;
type NewViewMode = (typeof newViewModes)[number];

export const badNewView = define({
  name: 'bad-new-view',
  description:
    'as the new primary, sends a NEW-VIEW that does not follow from its V: the highest prepared batch in O replaced by the null request (drop-entry), a client request proposed after max-s (extra-entry), or V with only q−1 VIEW-CHANGEs (short-v); mode rotate takes them in turn',
  protocols: PBFT,
  params: z.object({ mode: z.enum([...newViewModes, 'rotate']).default('rotate') }).strict(),
  create: (honest, params: { mode: NewViewMode | 'rotate' }) =>
    wrapPbft(honest, (spy) => {
      const { ctx } = spy;
      const requests: RequestEnvelope[] = [];
      const sent = new Map<number, NewViewEnvelope>();

      const signPrePrepare = (body: PrePrepareBody) =>
        ctx.sign('PRE-PREPARE', body as unknown as Json) as PrePrepareEnvelope;

      const corrupt = (nv: NewViewBody): { mode: NewViewMode; body: NewViewBody } => {
        let mode =
          params.mode === 'rotate'
            ? (newViewModes[nv.view % newViewModes.length] as NewViewMode)
            : params.mode;
        if (mode === 'short-v') {
          return { mode, body: { ...nv, viewChanges: nv.viewChanges.slice(0, -1) } };
        }
        const last = nv.prePrepares.at(-1);
        if (mode === 'drop-entry' && last !== undefined && last.body.digest !== NULL_DIGEST) {
          const dropped = signPrePrepare({ ...last.body, digest: NULL_DIGEST, batch: [] });
          return { mode, body: { ...nv, prePrepares: [...nv.prePrepares.slice(0, -1), dropped] } };
        }
        mode = 'extra-entry';
        const minS = Math.max(0, ...nv.viewChanges.map((vc) => vc.body.stableSeq));
        const seq = (last?.body.seq ?? minS) + 1;
        const batch = requests.slice(-1);
        const extra = signPrePrepare({ view: nv.view, seq, digest: digestOf(batch), batch });
        return { mode, body: { ...nv, prePrepares: [...nv.prePrepares, extra] } };
      };

      const badFor = (nv: NewViewEnvelope): NewViewEnvelope => {
        let bad = sent.get(nv.body.view);
        if (bad === undefined) {
          const { mode, body } = corrupt(nv.body);
          bad = ctx.sign('NEW-VIEW', body as unknown as Json) as NewViewEnvelope;
          sent.set(nv.body.view, bad);
          if (sent.size > 8) sent.delete(sent.keys().next().value as number);
          act(ctx, 'bad-new-view', {
            mode,
            view: nv.body.view,
            viewChanges: body.viewChanges.length,
            o: body.prePrepares.map((pp) => [pp.body.seq, pp.body.digest.slice(0, 12)]),
          });
        }
        return bad;
      };

      return {
        observe(_from, message) {
          if (message.kind === 'REQUEST') remember(requests, message as RequestEnvelope, 4);
          return true;
        },
        *rewrite(to, message) {
          if (message.kind === 'NEW-VIEW' && message.from === ctx.self) {
            return yield { to, message: badFor(message as NewViewEnvelope) };
          }
          if (message.kind === 'STATE') {
            // The NEW-VIEW a STATE hands on is the bad one too: one story for everybody.
            const state = message.body as unknown as StateBody;
            if (state.newView !== null && state.newView.from === ctx.self) {
              const body = { ...state, newView: badFor(state.newView) };
              return yield { to, message: ctx.sign('STATE', body as unknown as Json) };
            }
          }
          yield { to, message };
        },
      };
    }),
});

// ─── replay of older views ───────────────────────────────────────────────────────────────────

/** The view a message speaks for (VIEW-CHANGE: the view it asks for). */
function viewOf(message: Envelope, current: number): number {
  const body = message.body as { view?: unknown; newView?: unknown };
  if (typeof body.view === 'number') return body.view;
  if (typeof body.newView === 'number') return body.newView;
  return current;
}

export const oldViewReplayer = define({
  name: 'old-view-replayer',
  description:
    'whenever its core enters a new view, replays up to `burst` of its own signed messages from older views (PRE-PREPAREs, PREPAREs, COMMITs, CHECKPOINTs, VIEW-CHANGEs, NEW-VIEWs) and relays `relay` old messages of other replicas in their names; besides, with probability `rate` per message it sends, one more old message',
  protocols: PBFT,
  params: z
    .object({
      burst: z.number().int().min(0).max(256).default(24),
      relay: z.number().int().min(0).max(64).default(4),
      rate: z.number().min(0).max(1).default(0.05),
    })
    .strict(),
  create: (honest, params: { burst: number; relay: number; rate: number }) =>
    wrapPbft(honest, (spy) => {
      const { ctx } = spy;
      const mine: { view: number; message: Envelope }[] = [];
      const theirs: { view: number; message: Envelope }[] = [];
      let replayedView = 0;
      const older = (list: typeof mine) => list.filter((m) => m.view < spy.view);
      const replay = (entry: { view: number; message: Envelope }, relayed: boolean) => {
        const m = entry.message;
        act(ctx, relayed ? 'relay-old' : 'replay-old', {
          kind: m.kind,
          from: m.from,
          view: entry.view,
          current: spy.view,
        });
        for (const r of spy.others) ctx.send(r, m);
      };
      return {
        observe(from, message) {
          if (from !== ctx.self && SLOTTED_KINDS.has(message.kind))
            remember(theirs, { view: viewOf(message, spy.view), message }, 64);
          return true;
        },
        *rewrite(to, message) {
          yield { to, message };
          if (!SLOTTED_KINDS.has(message.kind)) return;
          remember(mine, { view: viewOf(message, spy.view), message }, 256);
          if (message.kind === 'COMMIT' && ctx.random() < params.rate) {
            const old = older(mine);
            const pick = old[Math.floor(ctx.random() * old.length)];
            if (pick !== undefined) replay(pick, false);
          }
        },
        onNote(event) {
          if (event !== 'view' || spy.view <= replayedView) return;
          replayedView = spy.view;
          for (const entry of older(mine).slice(-params.burst)) replay(entry, false);
          for (const entry of older(theirs).slice(-params.relay)) replay(entry, true);
        },
      };
    }),
});
