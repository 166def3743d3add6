/**
 * Byzantine PBFT replicas whose lies only a check of the paper catches — each one makes a
 * mutant of that check (src/mutants/catalogue.ts) visible to a scenario's checkers:
 *
 *   digest-liar          as primary, sends the batch to half the backups and, under the same
 *                        digest, the batch in another order to the rest (caught by: d is the
 *                        digest of m)
 *   request-forger       as primary, adds to each batch a request it invents in a client's
 *                        name, under its own signature (caught by: the client's signature
 *                        on the request is correct)
 *   beyond-watermark     as primary, gives every batch a sequence number `shift` higher than
 *                        its core chose, above the high watermark (caught by: h < n ≤ H)
 *   short-certificate    behaves as primary until `quietAfterMs`, then withholds its
 *                        PRE-PREPAREs and complains first; its VIEW-CHANGE claims that another
 *                        batch prepared at a sequence number it proposed, with its own
 *                        PRE-PREPARE and no PREPARE at all (caught by: a prepared certificate
 *                        holds 2f PREPAREs)
 *
 * Every misdeed is reported with act(ctx, …).
 */
import { z } from 'zod';
import type { Envelope } from '../core/envelope-types.js';
import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import { digestOf } from '../pbft/digest.js';
import type {
  CheckpointEnvelope,
  PrePrepareBody,
  PrePrepareEnvelope,
  PreparedCertificate,
  RequestEnvelope,
  ViewChangeBody,
} from '../pbft/messages.js';
import { act, type Out } from './api.js';
import {
  alternativeBatch,
  define,
  forge,
  halves,
  PBFT,
  type PbftHooks,
  type PbftSpy,
  wrapPbft,
} from './pbft-wrap.js';

const noParams = z.object({}).strict();

// ─── digest liar ─────────────────────────────────────────────────────────────────────────────

export const digestLiar = define({
  name: 'digest-liar',
  description:
    'as primary, sends each PRE-PREPARE with its batch to the first half of the backups and, under the same digest, the batch in reverse order (or empty) to the rest',
  protocols: PBFT,
  params: noParams,
  create: (honest) =>
    wrapPbft(honest, (spy) => ({
      *rewrite(to, message) {
        if (message.kind !== 'PRE-PREPARE' || to !== null) return yield { to, message };
        const pp = message.body as PrePrepareBody;
        const lie = spy.ctx.sign('PRE-PREPARE', {
          ...pp,
          batch: alternativeBatch(pp.batch),
        } as unknown as Json);
        const [first, rest] = halves(spy.others);
        act(spy.ctx, 'digest-lie', { view: pp.view, seq: pp.seq, digest: pp.digest, to: rest });
        for (const r of first) yield { to: r, message };
        for (const r of rest) yield { to: r, message: lie };
      },
    })),
});

// ─── request forger ──────────────────────────────────────────────────────────────────────────

/** Far above any timestamp a correct client reaches in a run: a request nobody signed. */
const FORGED_TIMESTAMP_BASE = 1_000_000_000;

export const requestForger = define({
  name: 'request-forger',
  description:
    'as primary, adds to every batch a request it invents in the name of `client` (a put of k0), signed with its own key',
  protocols: PBFT,
  params: z.object({ client: z.string().min(1).max(128).default('c0') }).strict(),
  create: (honest, params: { client: string }) =>
    wrapPbft(honest, (spy) => {
      let forged = 0;
      return {
        *rewrite(to, message) {
          if (message.kind !== 'PRE-PREPARE' || !spy.leading) return yield { to, message };
          const pp = message.body as PrePrepareBody;
          const timestamp = FORGED_TIMESTAMP_BASE + ++forged;
          const invented = forge(spy.ctx, params.client, 'REQUEST', {
            client: params.client,
            timestamp,
            command: { op: 'put', key: 'k0', value: `forged-${timestamp}` },
          }) as unknown as RequestEnvelope;
          const batch = [...pp.batch, invented];
          act(spy.ctx, 'forge-request', {
            view: pp.view,
            seq: pp.seq,
            client: params.client,
            timestamp,
          });
          yield {
            to,
            message: spy.ctx.sign('PRE-PREPARE', {
              ...pp,
              digest: digestOf(batch),
              batch,
            } as unknown as Json),
          };
        },
      };
    }),
});

// ─── beyond the high watermark ───────────────────────────────────────────────────────────────

export const beyondWatermark = define({
  name: 'beyond-watermark',
  description:
    'as primary, sends every PRE-PREPARE with a sequence number `shift` above the one its core chose (set shift to the window L: above the high watermark)',
  protocols: PBFT,
  params: z.object({ shift: z.number().int().min(1).max(1_000_000).default(64) }).strict(),
  create: (honest, params: { shift: number }) =>
    wrapPbft(honest, (spy) => ({
      *rewrite(to, message) {
        if (message.kind !== 'PRE-PREPARE' || !spy.leading) return yield { to, message };
        const pp = message.body as PrePrepareBody;
        const seq = pp.seq + params.shift;
        act(spy.ctx, 'beyond-watermark', { view: pp.view, seq: pp.seq, sentAs: seq });
        yield { to, message: spy.ctx.sign('PRE-PREPARE', { ...pp, seq } as unknown as Json) };
      },
    })),
});

// ─── short prepared certificate ──────────────────────────────────────────────────────────────

/** A reordering of `batch` whose digest sorts below `digest` (the tie-break of O), if any. */
function smallerBatch(batch: readonly RequestEnvelope[], digest: string): RequestEnvelope[] | null {
  const candidates: RequestEnvelope[][] = [[]];
  for (let i = 1; i < batch.length; i++) candidates.push([...batch.slice(i), ...batch.slice(0, i)]);
  candidates.push([...batch].reverse());
  for (const c of candidates) if (digestOf(c) < digest) return c;
  return null;
}

/** What short-certificate remembers and how it lies; the hooks run beside its honest core. */
class ShortCertificate {
  /** CHECKPOINT votes by (seq, state digest), to prove its stable checkpoint. */
  private readonly checkpoints = new Map<string, Map<string, CheckpointEnvelope>>();
  private stable: { seq: number; proof: CheckpointEnvelope[] } = { seq: 0, proof: [] };
  private readonly proposed = new Map<number, PrePrepareEnvelope>();
  private readonly sent = new Map<number, Envelope>();

  constructor(
    private readonly spy: PbftSpy,
    private readonly params: { quietAfterMs: number },
  ) {}

  hooks(): PbftHooks {
    const { spy } = this;
    const { ctx } = spy;
    return {
      start: () => spy.setTimer('quiet', this.params.quietAfterMs),
      onTimer: (name) => {
        if (name !== 'quiet' || !spy.leading) return;
        // Complain first, so that the new primary counts this VIEW-CHANGE among its q.
        ctx.broadcast(this.viewChange(spy.view + 1), { includeSelf: false });
      },
      onNote: (event, data) => this.onCheckpoint(event, data),
      observe: (_from, message) => {
        this.record(message);
        return true;
      },
      rewrite: (to, message) => this.rewrite(to, message),
    };
  }

  private *rewrite(to: NodeId | null, message: Envelope): Iterable<Out> {
    const { spy } = this;
    this.record(message);
    if (
      message.kind === 'PRE-PREPARE' &&
      spy.leading &&
      spy.ctx.now() >= this.params.quietAfterMs
    ) {
      const { view, seq } = message.body as PrePrepareBody;
      act(spy.ctx, 'withhold', { kind: 'PRE-PREPARE', view, seq });
      return;
    }
    if (message.kind !== 'VIEW-CHANGE') return yield { to, message };
    yield { to, message: this.viewChange((message.body as ViewChangeBody).newView) };
  }

  private record(message: Envelope): void {
    if (message.kind === 'CHECKPOINT') {
      const cp = message as CheckpointEnvelope;
      const key = `${cp.body.seq}/${cp.body.stateDigest}`;
      let votes = this.checkpoints.get(key);
      if (votes === undefined) {
        if (this.checkpoints.size >= 64)
          this.checkpoints.delete(this.checkpoints.keys().next().value as string);
        votes = new Map();
        this.checkpoints.set(key, votes);
      }
      votes.set(cp.from, cp);
    } else if (message.kind === 'PRE-PREPARE' && message.from === this.spy.ctx.self) {
      const pp = message as PrePrepareEnvelope;
      if (this.proposed.size >= 256)
        this.proposed.delete(this.proposed.keys().next().value as number);
      this.proposed.set(pp.body.seq, pp);
    }
  }

  /** The core's 'checkpoint' note: its checkpoint is stable once q votes for it are known. */
  private onCheckpoint(event: string, data: Json | undefined): void {
    const d = data as { seq?: number; stateDigest?: string } | undefined;
    if (event !== 'checkpoint' || d?.seq === undefined) return;
    const quorum = this.spy.ctx.cluster.quorum;
    const votes = this.checkpoints.get(`${d.seq}/${d.stateDigest}`);
    const proof = [...(votes?.values() ?? [])].slice(0, quorum);
    if (proof.length === quorum) this.stable = { seq: d.seq, proof };
  }

  /** Its VIEW-CHANGE for `newView`, made once: the stable checkpoint and one lie in P. */
  private viewChange(newView: number): Envelope {
    const known = this.sent.get(newView);
    if (known !== undefined) return known;
    const vc = this.spy.ctx.sign('VIEW-CHANGE', {
      newView,
      stableSeq: this.stable.seq,
      checkpointProof: this.stable.proof,
      prepared: this.lie(newView),
    } as unknown as Json);
    this.sent.set(newView, vc);
    return vc;
  }

  /** P with one certificate: a proposed batch replaced by one that wins O's tie-break. */
  private lie(newView: number): PreparedCertificate[] {
    const { ctx } = this.spy;
    for (const [seq, pp] of [...this.proposed].sort((a, b) => a[0] - b[0])) {
      if (seq <= this.stable.seq || pp.body.view >= newView) continue;
      const batch = smallerBatch(pp.body.batch, pp.body.digest);
      if (batch === null) continue;
      const lie = ctx.sign('PRE-PREPARE', {
        ...pp.body,
        digest: digestOf(batch),
        batch,
      } as unknown as Json) as PrePrepareEnvelope;
      act(ctx, 'short-certificate', {
        newView,
        seq,
        digest: pp.body.digest,
        claimed: lie.body.digest,
      });
      return [{ prePrepare: lie, prepares: [] }];
    }
    return [];
  }
}

export const shortCertificate = define({
  name: 'short-certificate',
  description:
    'behaves as primary until `quietAfterMs`, then withholds its PRE-PREPAREs and at once sends a VIEW-CHANGE (so that it is among the first q) in which a batch it proposed above its stable checkpoint is replaced by another one, whose digest wins the tie-break of O, under a prepared certificate of its own PRE-PREPARE and no PREPARE',
  protocols: PBFT,
  params: z
    .object({ quietAfterMs: z.number().int().min(0).max(86_400_000).default(1_000) })
    .strict(),
  create: (honest, params: { quietAfterMs: number }) =>
    wrapPbft(honest, (spy) => new ShortCertificate(spy, params).hooks()),
});

// ─── commit splitter (colluders at n = 7) ────────────────────────────────────────────────────

/**
 * Colluders (at n = 7: the primaries of views 0 and 1) that bring two correct replicas, the
 * `victims`, to q − 1 matching COMMITs at sequence number `seq` while no other correct
 * replica prepares it, then make sure the next view never hears of it:
 *
 *   - as the view-0 primary: the PRE-PREPARE for `seq` goes to everyone but `outsiders`, and
 *     after it no PRE-PREPARE at all (the backups' timers depose it);
 *   - their PREPAREs for `seq` go to the victims only, with a COMMIT they sign without having
 *     prepared; they keep the others' PREPAREs for `seq` from their own cores (so that these
 *     never prepare it, and never report it in a VIEW-CHANGE);
 *   - their VIEW-CHANGEs leave out `seq`, and they keep the victims' VIEW-CHANGEs from their
 *     cores, so the new primary's V is made of replicas that never prepared `seq`.
 *
 * Only 2 correct replicas then prepared `seq`, not q − f = 3: with committed-local at q
 * COMMITs nobody commits it, and the next view safely re-proposes `seq`; a replica that
 * commits at q − 1 has committed a batch the next view will overwrite.
 */
export const commitSplitter = define({
  name: 'commit-splitter',
  description:
    'colluders (the primaries of views 0 and 1 at n = 7): the victims get q − 1 COMMITs for `seq` while no other correct replica prepares it, then the colluders hide it from the next view (see the module comment)',
  protocols: PBFT,
  params: z
    .object({
      seq: z.number().int().min(1).max(1_000_000).default(3),
      victims: z.array(z.string().min(1).max(128)).max(64).default(['n2', 'n3']),
      outsiders: z.array(z.string().min(1).max(128)).max(64).default(['n5', 'n6']),
    })
    .strict(),
  create: (honest, params: { seq: number; victims: string[]; outsiders: string[] }) =>
    wrapPbft(honest, (spy) => {
      const { ctx } = spy;
      const victims = new Set(params.victims);
      const target = (message: Envelope) => (message.body as { seq?: number }).seq === params.seq;
      /** Its COMMIT for the batch of `vote` (a PRE-PREPARE or PREPARE), to the victims only. */
      function* commitToVictims(vote: Envelope): Iterable<Out> {
        const { view, seq, digest } = vote.body as PrePrepareBody;
        const commit = ctx.sign('COMMIT', { view, seq, digest });
        act(ctx, 'split-vote', { kind: 'COMMIT', seq, to: params.victims });
        for (const v of params.victims) yield { to: v, message: commit };
      }
      return {
        observe(from, message) {
          if (message.kind === 'VIEW-CHANGE' && victims.has(from)) return false;
          if (message.kind === 'PREPARE' && target(message) && from !== ctx.self) return false;
          return true;
        },
        *rewrite(to, message) {
          if (message.kind === 'PRE-PREPARE' && spy.view === 0 && spy.leading) {
            const { seq } = message.body as PrePrepareBody;
            if (seq > params.seq) {
              act(ctx, 'withhold', { kind: 'PRE-PREPARE', seq });
              return;
            }
            if (seq === params.seq) {
              act(ctx, 'split-pre-prepare', { seq, outsiders: params.outsiders });
              for (const r of spy.others)
                if (!params.outsiders.includes(r)) yield { to: r, message };
              yield* commitToVictims(message);
              return;
            }
          }
          if (message.kind === 'PREPARE' && target(message)) {
            act(ctx, 'split-vote', { kind: message.kind, seq: params.seq, to: params.victims });
            for (const v of params.victims) yield { to: v, message };
            yield* commitToVictims(message);
            return;
          }
          if (message.kind === 'COMMIT' && target(message)) return;
          if (message.kind === 'VIEW-CHANGE') {
            const vc = message.body as ViewChangeBody;
            const prepared = vc.prepared.filter((c) => c.prePrepare.body.seq !== params.seq);
            if (prepared.length !== vc.prepared.length) {
              act(ctx, 'hide-certificate', { newView: vc.newView, seq: params.seq });
              return yield {
                to,
                message: ctx.sign('VIEW-CHANGE', { ...vc, prepared } as unknown as Json),
              };
            }
          }
          yield { to, message };
        },
      };
    }),
});
export const pbftLies = [
  digestLiar,
  requestForger,
  beyondWatermark,
  shortCertificate,
  commitSplitter,
];
