/**
 * Reference solution of lab "pbft-view-change": the skeleton (labs/pbft-view-change/
 * view-change.ts) filled in from the project's own core, src/pbft/view-change.ts and the
 * certificate checks of src/pbft/certificates.ts. CI grades it and expects full marks.
 */
import {
  type CheckpointEnvelope,
  checkPrePrepare,
  type NewViewEntry,
  type NewViewPlan,
  type NodeId,
  NULL_DIGEST,
  type PreparedCertificate,
  primaryOf,
  type Verifier,
  type ViewChangeBody,
  type ViewChangeEnvelope,
} from 'bftkit';

/** PBFT-23: the pre-prepare and q−1 matching PREPAREs from distinct backups. */
function checkPrepared(v: Verifier, cert: PreparedCertificate): string | null {
  const refusal = checkPrePrepare(v, cert.prePrepare);
  if (refusal !== null) return refusal.detail;
  const { view, seq, digest } = cert.prePrepare.body;
  const primary = primaryOf(v.cluster, view);
  const signers = new Set<NodeId>();
  for (const p of cert.prepares) {
    if (p.kind !== 'PREPARE') return 'not a PREPARE';
    if (!v.cluster.replicas.includes(p.from)) return 'PREPARE from a non-replica';
    if (p.from === primary) return 'PREPARE from the primary';
    if (signers.has(p.from)) return `two PREPAREs from ${p.from}`;
    if (p.body.view !== view || p.body.seq !== seq || p.body.digest !== digest)
      return 'PREPARE does not match';
    if (!v.verify(p)) return `bad PREPARE signature (${p.from})`;
    signers.add(p.from);
  }
  if (signers.size < v.cluster.quorum - 1)
    return `${signers.size} PREPAREs, need ${v.cluster.quorum - 1}`;
  return null;
}

/** PBFT-32: q CHECKPOINTs for (seq, d) from distinct replicas. */
function checkCheckpointProof(
  v: Verifier,
  seq: number,
  proof: readonly CheckpointEnvelope[],
): string | null {
  const stateDigest = proof[0]?.body.stateDigest;
  if (stateDigest === undefined) return 'stable checkpoint without proof';
  const signers = new Set<NodeId>();
  for (const cp of proof) {
    if (cp.kind !== 'CHECKPOINT') return 'not a CHECKPOINT';
    if (!v.cluster.replicas.includes(cp.from)) return 'CHECKPOINT from a non-replica';
    if (signers.has(cp.from)) return `two CHECKPOINTs from ${cp.from}`;
    if (cp.body.seq !== seq || cp.body.stateDigest !== stateDigest) return 'CHECKPOINT mismatch';
    if (!v.verify(cp)) return `bad CHECKPOINT signature (${cp.from})`;
    signers.add(cp.from);
  }
  if (signers.size < v.cluster.quorum)
    return `${signers.size} CHECKPOINTs, need ${v.cluster.quorum}`;
  return null;
}

/** PBFT-39 */
export function checkViewChange(v: Verifier, vc: ViewChangeEnvelope): string | null {
  if (vc.kind !== 'VIEW-CHANGE') return 'not a VIEW-CHANGE';
  if (!v.cluster.replicas.includes(vc.from)) return 'VIEW-CHANGE from a non-replica';
  if (!v.verify(vc)) return 'bad VIEW-CHANGE signature';
  const { newView, stableSeq, checkpointProof, prepared } = vc.body;
  if (stableSeq === 0) {
    if (checkpointProof.length !== 0) return 'checkpoint proof for the initial state';
  } else {
    const reason = checkCheckpointProof(v, stableSeq, checkpointProof);
    if (reason !== null) return `checkpoint proof: ${reason}`;
  }
  const seqs = new Set<number>();
  for (const cert of prepared) {
    const { view, seq } = cert.prePrepare.body;
    if (view >= newView) return 'prepared certificate from a view not below the new one';
    if (seq <= stableSeq || seq > stableSeq + v.window)
      return 'prepared certificate outside window';
    if (seqs.has(seq)) return `two prepared certificates for ${seq}`;
    seqs.add(seq);
    const reason = checkPrepared(v, cert);
    if (reason !== null) return `prepared certificate ${seq}: ${reason}`;
  }
  return null;
}

/** PBFT-42, PBFT-43 */
export function computeNewView(view: number, viewChanges: readonly ViewChangeBody[]): NewViewPlan {
  let minS = 0;
  let checkpoint: NewViewPlan['checkpoint'] = null;
  for (const vc of viewChanges) {
    if (vc.stableSeq > minS) {
      minS = vc.stableSeq;
      const stateDigest = vc.checkpointProof[0]?.body.stateDigest ?? '';
      checkpoint = { seq: vc.stableSeq, stateDigest, proof: vc.checkpointProof };
    }
  }
  const best = new Map<number, PreparedCertificate>();
  for (const vc of viewChanges)
    for (const cert of vc.prepared) {
      const { seq, view: certView, digest } = cert.prePrepare.body;
      if (seq <= minS) continue;
      const current = best.get(seq)?.prePrepare.body;
      if (
        current === undefined ||
        certView > current.view ||
        (certView === current.view && digest < current.digest)
      )
        best.set(seq, cert);
    }
  const maxS = Math.max(minS, ...best.keys());
  const entries: NewViewEntry[] = [];
  for (let seq = minS + 1; seq <= maxS; seq++) {
    const pp = best.get(seq)?.prePrepare.body;
    entries.push(
      pp === undefined
        ? { seq, digest: NULL_DIGEST, batch: [] }
        : { seq, digest: pp.digest, batch: pp.batch },
    );
  }
  return { view, minS, maxS, checkpoint, entries };
}
