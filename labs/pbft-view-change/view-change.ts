/**
 * Lab "pbft-view-change": which VIEW-CHANGEs a PBFT replica accepts, and the O a NEW-VIEW must
 * carry (README.md). Write the two functions marked TODO; the labels (PBFT-n) are those of the
 * pseudocode in README.md. Grade with: npx bftkit lab grade pbft-view-change .
 */
import type { NewViewPlan, Verifier, ViewChangeBody, ViewChangeEnvelope } from 'bftkit';

/**
 * PBFT-39: null if `vc` is a valid VIEW-CHANGE, else the reason in a few words. `v.cluster`
 * has `replicas`, `n`, `f`, `quorum` (q); `v.verify(envelope)` checks a signature; `v.window`
 * is L. bftkit's `checkPrePrepare(v, pp)` checks a PRE-PREPARE by itself (signed by its view's
 * primary, digest = digest(batch), every request signed by its client): null, or a refusal
 * `{ code, detail }` whose `detail` you can pass on.
 */
export function checkViewChange(v: Verifier, vc: ViewChangeEnvelope): string | null {
  // TODO PBFT-39: the signer; C proves the checkpoint at h (PBFT-32); every certificate in P is
  // a prepared certificate (PBFT-23) of a view below the new one, h < s ≤ h + L, one per s.
  throw new Error(`TODO: checkViewChange (PBFT-39) from ${vc.from} in a cluster of ${v.cluster.n}`);
}

/**
 * PBFT-42, PBFT-43: what the NEW-VIEW for `view` must carry, from the bodies of the q valid
 * VIEW-CHANGEs in V: min-s (and its checkpoint: seq, stateDigest, proof; null when min-s = 0),
 * max-s, and O as one entry { seq, digest, batch } per s in (min-s, max-s], in order. The null
 * request is { digest: NULL_DIGEST, batch: [] }.
 */
export function computeNewView(view: number, viewChanges: readonly ViewChangeBody[]): NewViewPlan {
  // TODO PBFT-42 (min-s, max-s), PBFT-43 (for each s: the certificate of the highest view).
  throw new Error(
    `TODO: computeNewView (PBFT-42, PBFT-43) for view ${view} from ${viewChanges.length} VIEW-CHANGEs`,
  );
}
