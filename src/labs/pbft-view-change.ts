/**
 * Lab "pbft-view-change" (build): PBFT's view change — which VIEW-CHANGEs a replica accepts
 * (PBFT-39: signed by a replica, its checkpoint proven, each prepared certificate a real one)
 * and the O a NEW-VIEW must carry, computed from V (PBFT-42, PBFT-43). The reference solution
 * is src/pbft/view-change.ts.
 *
 * Two kinds of test. Property tests call the student's two functions directly, beside the
 * reference, on sets of VIEW-CHANGEs the grader crafts from a seed: honest ones from replicas
 * that saw different parts of a history, and Byzantine ones with one defect each (a forged
 * signature, a certificate one PREPARE short, the primary's PREPARE counted, a PREPARE of
 * another slot, a certificate from the new view, a proof of a checkpoint no quorum signed, …).
 * Signatures there are the grader's own (a digest of signer and message): the student's code
 * sees only `v.verify`. Scenario tests run the PBFT view-change scenarios with every correct
 * replica using the student's rules.
 */

import { makeClusterView } from '../core/cluster-view.js';
import type { Envelope } from '../core/envelope-types.js';
import { InputError } from '../core/errors.js';
import type { NodeId } from '../core/protocol.js';
import { Rng } from '../core/rng.js';
import type { Json } from '../crypto/json.js';
import { NULL_DIGEST, primaryOf, type Verifier } from '../pbft/certificates.js';
import { digestOf } from '../pbft/digest.js';
import { parsePbftParams, replicaOptions } from '../pbft/kit.js';
import type {
  CheckpointEnvelope,
  PrePrepareEnvelope,
  PreparedCertificate,
  RequestEnvelope,
  ViewChangeBody,
  ViewChangeEnvelope,
} from '../pbft/messages.js';
import { refuse } from '../pbft/refusal.js';
import { PbftReplica } from '../pbft/replica.js';
import {
  type NewViewPlan,
  viewChangeRules as reference,
  type ViewChangeRules,
} from '../pbft/view-change.js';
import { replicaIds } from '../scenario/runner.js';
import type { Scenario } from '../scenario/schema.js';
import type { Lab, RunOutcome, Solution } from './lab.js';
import { buildTests, byzantineNodes, type Wrap } from './scenario-test.js';

const FILE = 'view-change.ts';
/** Watermark window L and checkpoint interval K of the crafted histories. */
const WINDOW = 32;
const K = 8;
/** Crafted cases per seed. */
const CASES = 40;

// ── The grader's signatures: a digest of signer, kind and body ──────────────────────────────

function signature(from: NodeId, kind: string, body: Json): string {
  return digestOf({ from, kind, body });
}

function signed<T extends Envelope>(kind: T['kind'], from: NodeId, body: T['body']): T {
  return { kind, from, body, sig: signature(from, kind, body as Json) } as T;
}

function verifierFor(f: number): Verifier {
  const replicas = replicaIds(3 * f + 1);
  const cluster = makeClusterView({
    id: 'lab',
    protocol: 'pbft',
    model: 'byzantine',
    replicas,
    clients: ['c0', 'c1'],
    f,
  });
  return {
    cluster,
    window: WINDOW,
    verify: (m) => m.sig === signature(m.from, m.kind, m.body as Json),
  };
}

// ── A history the VIEW-CHANGEs report ───────────────────────────────────────────────────────

interface History {
  v: Verifier;
  /** The view the VIEW-CHANGEs ask for. */
  newView: number;
  /** The latest stable checkpoint (a multiple of K; 0: none yet). */
  stable: number;
  /** Per sequence number, the prepared certificates of distinct views that exist. */
  certificates: Map<number, PreparedCertificate[]>;
}

const stateDigest = (seq: number) => digestOf({ state: seq });

function request(rng: Rng, client: NodeId): RequestEnvelope {
  const body = { client, timestamp: rng.int(1, 1_000_000), command: { op: 'get', key: 'k0' } };
  return signed<RequestEnvelope>('REQUEST', client, body as RequestEnvelope['body']);
}

function certificate(v: Verifier, view: number, seq: number, batch: RequestEnvelope[]) {
  const primary = primaryOf(v.cluster, view);
  const digest = digestOf(batch as unknown as Json);
  const prePrepare = signed<PrePrepareEnvelope>('PRE-PREPARE', primary, {
    view,
    seq,
    digest,
    batch,
  });
  const prepares = v.cluster.replicas
    .filter((r) => r !== primary)
    .slice(0, v.cluster.quorum - 1)
    .map((r) => signed<Envelope>('PREPARE', r, { view, seq, digest }));
  return { prePrepare, prepares } as PreparedCertificate;
}

function history(rng: Rng): History {
  const f = rng.chance(0.5) ? 1 : 2;
  const v = verifierFor(f);
  const newView = rng.int(2, 4);
  const stable = K * rng.int(0, 2);
  const certificates = new Map<number, PreparedCertificate[]>();
  const top = stable + rng.int(0, 10);
  // Sequence numbers from below the oldest checkpoint a replica may report, up to `top`.
  for (let seq = Math.max(1, stable - K + 1); seq <= top; seq++) {
    if (rng.chance(0.25)) continue; // a gap: nothing prepared there
    const views = [...new Set([rng.int(0, newView - 1), rng.int(0, newView - 1)])];
    certificates.set(
      seq,
      views.map((view) => certificate(v, view, seq, [request(rng, rng.pick(v.cluster.clients))])),
    );
  }
  return { v, newView, stable, certificates };
}

function checkpointProof(v: Verifier, seq: number): CheckpointEnvelope[] {
  if (seq === 0) return [];
  return v.cluster.replicas
    .slice(0, v.cluster.quorum)
    .map((r) =>
      signed<CheckpointEnvelope>('CHECKPOINT', r, { seq, stateDigest: stateDigest(seq) }),
    );
}

/** An honest replica's VIEW-CHANGE: its checkpoint (the latest or one before) and what it saw. */
function honestViewChange(rng: Rng, h: History, from: NodeId): ViewChangeEnvelope {
  const stableSeq = h.stable > 0 && rng.chance(0.3) ? h.stable - K : h.stable;
  const prepared: PreparedCertificate[] = [];
  for (const [seq, certs] of h.certificates) {
    if (seq <= stableSeq || seq > stableSeq + WINDOW) continue;
    const seen = certs.filter(() => rng.chance(0.6));
    const highest = seen.sort((a, b) => b.prePrepare.body.view - a.prePrepare.body.view)[0];
    if (highest !== undefined) prepared.push(highest);
  }
  return signed<ViewChangeEnvelope>('VIEW-CHANGE', from, {
    newView: h.newView,
    stableSeq,
    checkpointProof: checkpointProof(h.v, stableSeq),
    prepared,
  });
}

// ── Byzantine defects: each turns an honest VIEW-CHANGE into a crafted one ──────────────────

type Defect = { name: string; apply(rng: Rng, h: History, vc: ViewChangeEnvelope): Envelope };

/** Re-sign a changed body as its sender (a Byzantine replica signs what it likes). */
function resign(vc: ViewChangeEnvelope, body: ViewChangeBody): ViewChangeEnvelope {
  return signed<ViewChangeEnvelope>('VIEW-CHANGE', vc.from, body);
}

/** Change one certificate of P (one the seed picks, or a new one when P is empty). */
function withCertificate(
  rng: Rng,
  h: History,
  vc: ViewChangeEnvelope,
  change: (cert: PreparedCertificate) => PreparedCertificate,
): ViewChangeEnvelope {
  const prepared = [...vc.body.prepared];
  const i = prepared.length === 0 ? -1 : rng.int(0, prepared.length - 1);
  const seq = vc.body.stableSeq + 1;
  const original = prepared[i] ?? certificate(h.v, h.newView - 1, seq, [request(rng, 'c0')]);
  const changed = change(original);
  if (i < 0) prepared.push(changed);
  else prepared[i] = changed;
  return resign(vc, { ...vc.body, prepared });
}

/** A PREPARE for the slot (view, seq, digest) of `slot`, signed by `from`. */
function prepareAs(from: NodeId, slot: { view: number; seq: number; digest: string }): Envelope {
  const { view, seq, digest } = slot;
  return signed<Envelope>('PREPARE', from, { view, seq, digest });
}

const defects: readonly Defect[] = [
  {
    name: 'a forged signature on the VIEW-CHANGE',
    apply: (_rng, _h, vc) => ({ ...vc, sig: digestOf('forged') }),
  },
  {
    name: 'a VIEW-CHANGE signed by a client',
    apply: (_rng, _h, vc) => signed<ViewChangeEnvelope>('VIEW-CHANGE', 'c0', vc.body),
  },
  {
    name: 'a prepared certificate one PREPARE short',
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) => ({ ...c, prepares: c.prepares.slice(1) })),
  },
  {
    name: "a prepared certificate counting the primary's own PREPARE",
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) => ({
        ...c,
        prepares: [
          prepareAs(c.prePrepare.from, c.prePrepare.body),
          ...c.prepares.slice(1),
        ] as PreparedCertificate['prepares'],
      })),
  },
  {
    name: 'a prepared certificate with one backup PREPARE twice',
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) => ({
        ...c,
        prepares: [c.prepares[0], ...c.prepares.slice(0, -1)] as PreparedCertificate['prepares'],
      })),
  },
  {
    name: 'a PREPARE of another sequence number in a certificate',
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) => {
        const [first, ...rest] = c.prepares;
        const { view, seq, digest } = c.prePrepare.body;
        const moved = prepareAs(first?.from ?? 'n1', { view, seq: seq + 1, digest });
        return { ...c, prepares: [moved, ...rest] as PreparedCertificate['prepares'] };
      }),
  },
  {
    name: 'a forged PREPARE signature in a certificate',
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) => {
        const [first, ...rest] = c.prepares;
        const forged = { ...(first as Envelope), sig: digestOf('forged prepare') };
        return { ...c, prepares: [forged, ...rest] as PreparedCertificate['prepares'] };
      }),
  },
  {
    name: 'a certificate for another batch under the same digest',
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) => {
        const body = { ...c.prePrepare.body, batch: [request(rng, 'c1')] };
        return {
          ...c,
          prePrepare: signed<PrePrepareEnvelope>('PRE-PREPARE', c.prePrepare.from, body),
        };
      }),
  },
  {
    name: 'a PRE-PREPARE signed by a replica that is not the primary of its view',
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) => {
        const other = h.v.cluster.replicas.find((r) => r !== c.prePrepare.from) as NodeId;
        return {
          ...c,
          prePrepare: signed<PrePrepareEnvelope>('PRE-PREPARE', other, c.prePrepare.body),
        };
      }),
  },
  {
    name: 'a request in a batch with a forged client signature',
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) => {
        const forged = { ...request(rng, 'c1'), sig: digestOf('forged request') };
        return certificate(h.v, c.prePrepare.body.view, c.prePrepare.body.seq, [forged]);
      }),
  },
  {
    name: 'a prepared certificate from the new view itself',
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) =>
        certificate(h.v, h.newView, c.prePrepare.body.seq, c.prePrepare.body.batch),
      ),
  },
  {
    name: 'a prepared certificate at or below the stable checkpoint',
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) =>
        certificate(h.v, c.prePrepare.body.view, vc.body.stableSeq, c.prePrepare.body.batch),
      ),
  },
  {
    name: 'a prepared certificate above the high watermark',
    apply: (rng, h, vc) =>
      withCertificate(rng, h, vc, (c) =>
        certificate(
          h.v,
          c.prePrepare.body.view,
          vc.body.stableSeq + WINDOW + 1,
          c.prePrepare.body.batch,
        ),
      ),
  },
  {
    name: 'two prepared certificates for one sequence number',
    apply: (rng, h, vc) => {
      const seq = vc.body.prepared[0]?.prePrepare.body.seq ?? vc.body.stableSeq + 1;
      const twin = certificate(h.v, 0, seq, [request(rng, 'c1')]);
      const extra = certificate(h.v, 1, seq, [request(rng, 'c0')]);
      return resign(vc, { ...vc.body, prepared: [...vc.body.prepared, twin, extra] });
    },
  },
  {
    name: 'a stable checkpoint proven by one CHECKPOINT short of a quorum',
    apply: (_rng, h, vc) => {
      const stableSeq = vc.body.stableSeq === 0 ? K : vc.body.stableSeq;
      const proof = checkpointProof(h.v, stableSeq).slice(1);
      return resign(vc, { ...vc.body, stableSeq, checkpointProof: proof });
    },
  },
  {
    name: 'a checkpoint proof whose CHECKPOINTs disagree on the state',
    apply: (_rng, h, vc) => {
      const stableSeq = vc.body.stableSeq === 0 ? K : vc.body.stableSeq;
      const proof = checkpointProof(h.v, stableSeq).map((cp, i) =>
        i === 0
          ? signed<CheckpointEnvelope>('CHECKPOINT', cp.from, {
              seq: stableSeq,
              stateDigest: stateDigest(-1),
            })
          : cp,
      );
      return resign(vc, { ...vc.body, stableSeq, checkpointProof: proof });
    },
  },
  {
    name: 'a stable checkpoint above 0 without a proof',
    apply: (_rng, _h, vc) =>
      resign(vc, { ...vc.body, stableSeq: vc.body.stableSeq + K, checkpointProof: [] }),
  },
];

// ── The property tests ──────────────────────────────────────────────────────────────────────

/** The lab's two functions as the student writes them: a reason in words, not a refusal. */
interface StudentRules {
  checkViewChange(v: Verifier, vc: ViewChangeEnvelope): string | null;
  computeNewView(view: number, viewChanges: readonly ViewChangeBody[]): NewViewPlan;
}

/** The student's rules as the replica takes them: a refusal from the reason they give. */
function asRules(solution: Solution): ViewChangeRules {
  const student = solution as unknown as StudentRules;
  return {
    checkViewChange: (v, vc) => {
      const reason = student.checkViewChange(v, vc);
      return reason === null ? null : refuse('invalid-view-change', reason);
    },
    computeNewView: (view, viewChanges) => student.computeNewView(view, viewChanges),
  };
}

function guarded(body: () => RunOutcome): RunOutcome {
  try {
    return body();
  } catch (e) {
    return {
      ok: false,
      detail: `your code threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    };
  }
}

/** PBFT-39 on crafted VIEW-CHANGEs: accept exactly those the reference accepts. */
function checkViewChanges(solution: Solution, seed: number): RunOutcome {
  return guarded(() => {
    const rng = new Rng(seed, 0x7c);
    const rules = asRules(solution);
    for (let i = 0; i < CASES; i++) {
      const h = history(rng);
      const from = rng.pick(h.v.cluster.replicas);
      const honest = honestViewChange(rng, h, from);
      const defect = i % 4 === 0 ? null : rng.pick(defects);
      const vc = (defect === null ? honest : defect.apply(rng, h, honest)) as ViewChangeEnvelope;
      const want = reference.checkViewChange(h.v, vc);
      const got = rules.checkViewChange(h.v, vc);
      if ((want === null) !== (got === null)) {
        const what = `case ${i}: a VIEW-CHANGE from ${vc.from} for view ${h.newView} (n = ${h.v.cluster.n}, stableSeq ${vc.body.stableSeq}, ${vc.body.prepared.length} certificates) with ${defect?.name ?? 'no defect'}`;
        return {
          ok: false,
          detail:
            want === null
              ? `${what}: yours rejects it (${got?.detail}), the reference accepts it`
              : `${what}: yours accepts it, the reference rejects it (${want.detail})`,
        };
      }
    }
    return { ok: true, detail: `${CASES} crafted VIEW-CHANGEs judged as the reference does` };
  });
}

function describePlan(plan: NewViewPlan): string {
  const entries = plan.entries
    .map((e) => `${e.seq}:${e.digest === NULL_DIGEST ? 'null' : e.digest.slice(0, 6)}`)
    .join(' ');
  return `min-s ${plan.minS}, max-s ${plan.maxS}, O [${entries}]`;
}

function samePlan(a: NewViewPlan, b: NewViewPlan): boolean {
  return (
    a.view === b.view &&
    a.minS === b.minS &&
    a.maxS === b.maxS &&
    (a.checkpoint?.seq ?? 0) === (b.checkpoint?.seq ?? 0) &&
    (a.checkpoint?.stateDigest ?? '') === (b.checkpoint?.stateDigest ?? '') &&
    a.entries.length === b.entries.length &&
    a.entries.every((e, i) => {
      const o = b.entries[i];
      return (
        o !== undefined &&
        e.seq === o.seq &&
        e.digest === o.digest &&
        digestOf(e.batch as unknown as Json) === digestOf(o.batch as unknown as Json)
      );
    })
  );
}

/** PBFT-42, PBFT-43 on crafted V (q valid VIEW-CHANGEs): the same min-s, max-s and O. */
function computeNewViews(solution: Solution, seed: number): RunOutcome {
  return guarded(() => {
    const rng = new Rng(seed, 0x0e);
    const rules = asRules(solution);
    for (let i = 0; i < CASES; i++) {
      const h = history(rng);
      const senders = [...h.v.cluster.replicas]
        .sort(() => rng.next() - 0.5)
        .slice(0, h.v.cluster.quorum);
      const bodies = senders.map((from) => honestViewChange(rng, h, from).body);
      const want = reference.computeNewView(h.newView, bodies);
      const got = rules.computeNewView(h.newView, bodies);
      if (!samePlan(got, want)) {
        const stable = bodies.map((b) => b.stableSeq).join(', ');
        return {
          ok: false,
          detail: `case ${i}: V of ${bodies.length} VIEW-CHANGEs for view ${h.newView} (stableSeq ${stable}): yours gives ${describePlan(got)}, the reference ${describePlan(want)}`,
        };
      }
    }
    return { ok: true, detail: `${CASES} sets V, each O as the reference computes it` };
  });
}

// ── The scenario tests ──────────────────────────────────────────────────────────────────────

/** Correct replicas run bftkit's PBFT with the student's rules; the Byzantine keep theirs. */
function studentRules(scenario: Scenario, solution: Solution): Wrap {
  const byzantine = byzantineNodes(scenario);
  const replicas = new Set(replicaIds(scenario.n));
  const options = replicaOptions(parsePbftParams(scenario.params));
  const rules = asRules(solution);
  return (id, factory) =>
    replicas.has(id) && !byzantine.has(id)
      ? (ctx) => new PbftReplica(ctx, { ...options, viewChangeRules: rules })
      : factory;
}

const scenarioTest = buildTests(studentRules);

export const pbftViewChangeLab: Lab = {
  name: 'pbft-view-change',
  kind: 'build',
  title: "Build PBFT's view change: check VIEW-CHANGEs, compute NEW-VIEW",
  topics: ['Byzantine consensus', 'PBFT', 'certificates'],
  hours: 4,
  file: FILE,
  seeds: { from: 1, to: 3 },
  validate(module) {
    for (const name of ['checkViewChange', 'computeNewView'])
      if (typeof module[name] !== 'function')
        throw new InputError(`${FILE}: expected an exported function "${name}"`);
    return module;
  },
  tests: [
    {
      name: 'check-view-change',
      description: 'PBFT-39 on crafted VIEW-CHANGEs: honest ones and Byzantine ones with a defect',
      points: 3,
      required: true,
      mode: 'all',
      traced: false,
      run: (solution, seed) => checkViewChanges(solution, seed),
    },
    {
      name: 'compute-new-view',
      description: 'PBFT-42, PBFT-43 on crafted V: min-s, max-s and O as the reference',
      points: 3,
      required: true,
      mode: 'all',
      traced: false,
      run: (solution, seed) => computeNewViews(solution, seed),
    },
    scenarioTest('silent-primary', 'pbft-silent-primary', 1, 'a silent primary is deposed'),
    scenarioTest(
      'short-certificate',
      'pbft-short-certificate',
      1,
      'the old primary reports a certificate without PREPAREs',
    ),
    scenarioTest(
      'bad-view-change',
      'pbft-bad-view-change',
      1,
      'a replica sends forged and glued certificates',
    ),
    scenarioTest(
      'bad-new-view',
      'pbft-bad-new-view',
      1,
      "the new primary's O does not follow from its V",
    ),
  ],
};
