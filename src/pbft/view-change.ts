/**
 * View change (docs/reference/pbft.md "View change"), as pure functions:
 *
 *   ⟨VIEW-CHANGE, v+1, s_stable, C, P, i⟩σi   checked by checkViewChange
 *   O from V (min-s … max-s)                   computed by computeNewView
 *   ⟨NEW-VIEW, v+1, V, O⟩σp'                   checked by checkNewView: every backup recomputes
 *                                              O from V and rejects the NEW-VIEW on mismatch
 */
import type { NodeId } from '../core/protocol.js';
import {
  checkCheckpointProof,
  checkPreparedCertificate,
  NULL_DIGEST,
  primaryOf,
  type Verifier,
} from './certificates.js';
import { digestOf } from './digest.js';
import type {
  CheckpointEnvelope,
  NewViewEnvelope,
  PreparedCertificate,
  RequestEnvelope,
  ViewChangeBody,
  ViewChangeEnvelope,
} from './messages.js';
import { type Refusal, type RefusalCode, refuse, within } from './refusal.js';

/** A VIEW-CHANGE: signed by a replica, its stable checkpoint proven, its P certificates valid. */
export function checkViewChange(v: Verifier, vc: ViewChangeEnvelope): Refusal | null {
  const unsigned = checkSigned(v, vc);
  if (unsigned !== null) return unsigned;
  const { newView, stableSeq, checkpointProof, prepared } = vc.body;
  if (stableSeq === 0) {
    if (checkpointProof.length !== 0)
      return refuse('bad-checkpoint-proof', 'checkpoint proof for the initial state');
  } else {
    const first = checkpointProof[0];
    if (first === undefined)
      return refuse('bad-checkpoint-proof', 'stable checkpoint without proof');
    const refusal = checkCheckpointProof(v, stableSeq, first.body.stateDigest, checkpointProof);
    if (refusal !== null) return within('checkpoint proof', refusal);
  }
  const seqs = new Set<number>();
  for (const cert of prepared) {
    const { view, seq } = cert.prePrepare.body;
    if (view >= newView)
      return refuse(
        'certificate-not-below-view',
        'prepared certificate from a view not below the new one',
      );
    if (seq <= stableSeq || seq > stableSeq + v.window)
      return refuse('certificate-outside-window', 'prepared certificate outside window');
    if (seqs.has(seq))
      return refuse('duplicate-certificate', `two prepared certificates for ${seq}`);
    seqs.add(seq);
    const refusal = checkPreparedCertificate(v, cert);
    if (refusal !== null) return within(`prepared certificate ${seq}`, refusal);
  }
  return null;
}

export interface NewViewEntry {
  readonly seq: number;
  readonly digest: string;
  readonly batch: readonly RequestEnvelope[];
}

/** What a NEW-VIEW for `view` must contain, computed from V alone. */
export interface NewViewPlan {
  readonly view: number;
  /** min-s: the latest stable checkpoint in V. */
  readonly minS: number;
  /** max-s: the highest prepared sequence number in V (min-s if none). */
  readonly maxS: number;
  /** The stable checkpoint at min-s and its proof (null at 0). */
  readonly checkpoint: {
    readonly seq: number;
    readonly stateDigest: string;
    readonly proof: readonly CheckpointEnvelope[];
  } | null;
  /** O: one pre-prepare per s in (min-s, max-s], in order. */
  readonly entries: readonly NewViewEntry[];
}

/**
 * O = for every s in (min-s, max-s]: the digest (and batch) of the prepared certificate with
 * the highest view for s in V, or the null request if there is none. Ties between certificates
 * of one view (impossible among valid ones — quorum intersection) break on the smaller digest,
 * so that the primary and every backup compute the same O.
 */
export function computeNewView(view: number, viewChanges: readonly ViewChangeBody[]): NewViewPlan {
  let minS = 0;
  let checkpoint: NewViewPlan['checkpoint'] = null;
  for (const vc of viewChanges) {
    if (vc.stableSeq > minS) {
      const first = vc.checkpointProof[0];
      minS = vc.stableSeq;
      checkpoint = {
        seq: vc.stableSeq,
        stateDigest: first?.body.stateDigest ?? '',
        proof: vc.checkpointProof,
      };
    }
  }
  const best = new Map<number, PreparedCertificate>();
  for (const vc of viewChanges) {
    for (const cert of vc.prepared) {
      const { seq, view: certView, digest } = cert.prePrepare.body;
      if (seq <= minS) continue;
      const current = best.get(seq);
      const currentView = current?.prePrepare.body.view ?? -1;
      if (
        current === undefined ||
        certView > currentView ||
        (certView === currentView && digest < current.prePrepare.body.digest)
      ) {
        best.set(seq, cert);
      }
    }
  }
  const maxS = Math.max(minS, ...best.keys());
  const entries: NewViewEntry[] = [];
  for (let seq = minS + 1; seq <= maxS; seq++) {
    const cert = best.get(seq);
    entries.push(
      cert === undefined
        ? { seq, digest: NULL_DIGEST, batch: [] }
        : { seq, digest: cert.prePrepare.body.digest, batch: cert.prePrepare.body.batch },
    );
  }
  return { view, minS, maxS, checkpoint, entries };
}

/**
 * The two rules of a view change a replica applies: which VIEW-CHANGEs it accepts, and the O
 * it computes from V (as new primary, and as backup to check a NEW-VIEW). The project's own
 * unless the lab `pbft-view-change` plugs in a student's (PbftOptions.viewChangeRules).
 */
export interface ViewChangeRules {
  checkViewChange(v: Verifier, vc: ViewChangeEnvelope): Refusal | null;
  computeNewView(view: number, viewChanges: readonly ViewChangeBody[]): NewViewPlan;
}

export const viewChangeRules: ViewChangeRules = { checkViewChange, computeNewView };

/** The q VIEW-CHANGEs a new primary puts in V: those of the lowest-ranked senders. */
export function selectViewChanges(
  v: Verifier,
  received: ReadonlyMap<NodeId, ViewChangeEnvelope>,
): ViewChangeEnvelope[] {
  return v.cluster.replicas
    .flatMap((r) => {
      const vc = received.get(r);
      return vc === undefined ? [] : [vc];
    })
    .slice(0, v.cluster.quorum);
}

/** Only that a VIEW-CHANGE is signed by a replica (the unsafe variant's whole check). */
function checkSigned(v: Verifier, vc: ViewChangeEnvelope): Refusal | null {
  if (vc.kind !== 'VIEW-CHANGE') return refuse('wrong-kind', 'not a view-change');
  if (!v.cluster.replicas.includes(vc.from))
    return refuse('not-a-replica', 'view-change from a non-replica');
  if (!v.verify(vc)) return refuse('bad-signature', 'bad view-change signature');
  return null;
}

export type NewViewVerdict =
  | { readonly ok: true; readonly plan: NewViewPlan }
  | { readonly ok: false; readonly refusal: Refusal };

/**
 * A backup accepts NEW-VIEW only if it comes from the primary of its view, V holds q valid
 * VIEW-CHANGEs for that view from distinct replicas, and recomputing O from V gives exactly
 * the pre-prepares it carries (each signed by the new primary).
 *
 * `unsafeSkipCheck` still wants q signed VIEW-CHANGEs in V but neither checks their
 * certificates nor recomputes O: it takes O as the primary sent it. It is the deliberately
 * unsafe variant a Twins search is meant to find (a NEW-VIEW can then drop a committed batch).
 */
export function checkNewView(
  v: Verifier,
  nv: NewViewEnvelope,
  options: { unsafeSkipCheck?: boolean; rules?: ViewChangeRules } = {},
): NewViewVerdict {
  const rules = options.rules ?? viewChangeRules;
  const fail = (code: RefusalCode, detail: string): NewViewVerdict => ({
    ok: false,
    refusal: refuse(code, detail),
  });
  if (nv.kind !== 'NEW-VIEW') return fail('wrong-kind', 'not a new-view');
  const { view, viewChanges, prePrepares } = nv.body;
  const primary = primaryOf(v.cluster, view);
  if (nv.from !== primary) return fail('not-from-primary', 'new-view not from the new primary');
  if (!v.verify(nv)) return fail('bad-signature', 'bad new-view signature');
  for (const pp of prePrepares) {
    if (pp.kind !== 'PRE-PREPARE' || pp.from !== primary || pp.body.view !== view) {
      return fail(
        'not-from-primary',
        'O holds a pre-prepare not of the new primary for the new view',
      );
    }
    if (digestOf(pp.body.batch) !== pp.body.digest)
      return fail('digest-mismatch', 'O batch does not match digest');
    if (!v.verify(pp)) return fail('bad-signature', 'bad signature on a pre-prepare of O');
  }

  const unsafe = options.unsafeSkipCheck === true;
  const senders = new Set<NodeId>();
  for (const vc of viewChanges) {
    if (vc.body.newView !== view)
      return fail('wrong-view', 'V holds a view-change for another view');
    if (senders.has(vc.from))
      return fail('duplicate-signer', `V holds two view-changes from ${vc.from}`);
    const refusal = unsafe ? checkSigned(v, vc) : rules.checkViewChange(v, vc);
    if (refusal !== null) return { ok: false, refusal: within('V', refusal) };
    senders.add(vc.from);
  }
  if (senders.size < v.cluster.quorum) {
    return fail('too-few-votes', `V holds ${senders.size} view-changes, need ${v.cluster.quorum}`);
  }

  if (unsafe) {
    // The deliberately unsafe variant: O is taken as sent, its certificates never looked at.
    const entries = prePrepares
      .map((pp) => ({ seq: pp.body.seq, digest: pp.body.digest, batch: pp.body.batch }))
      .sort((a, b) => a.seq - b.seq);
    const minS = Math.max(0, (entries[0]?.seq ?? 1) - 1);
    const maxS = entries.at(-1)?.seq ?? minS;
    return { ok: true, plan: { view, minS, maxS, checkpoint: null, entries } };
  }

  const plan = rules.computeNewView(
    view,
    viewChanges.map((vc) => vc.body),
  );
  if (prePrepares.length !== plan.entries.length)
    return fail('new-view-mismatch', 'O does not match V');
  for (let i = 0; i < plan.entries.length; i++) {
    const expected = plan.entries[i] as NewViewEntry;
    const pp = prePrepares[i];
    if (pp === undefined || pp.body.seq !== expected.seq || pp.body.digest !== expected.digest) {
      return fail('new-view-mismatch', `O does not match V at ${expected.seq}`);
    }
  }
  return { ok: true, plan };
}
