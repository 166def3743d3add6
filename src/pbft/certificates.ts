/**
 * Checks of signed certificates, pure functions of the cluster, a signature check and the
 * watermark window L. Each returns null when the certificate holds, or the reason it does not.
 *
 *   prepared(B, v, s, i)        := PRE-PREPARE(v, s, d) + q−1 matching PREPAREs from distinct
 *                                  backups                           → checkPreparedCertificate
 *   committed-local(B, v, s, i) := prepared + q matching COMMITs     → checkCommitCertificate
 *   stable checkpoint proof     := q matching CHECKPOINTs            → checkCheckpointProof
 *
 * Every embedded signature goes through `verify` (ctx.verify, which caches: each signature is
 * checked once per replica however many certificates carry it).
 */
import type { ClusterView } from '../core/cluster-view.js';
import type { Envelope } from '../core/envelope-types.js';
import type { NodeId } from '../core/protocol.js';
import { digestOf } from './digest.js';
import type {
  CheckpointEnvelope,
  CommitCertificate,
  PrePrepareEnvelope,
  PreparedCertificate,
  RequestEnvelope,
} from './messages.js';
import { type Refusal, refuse } from './refusal.js';

export interface Verifier {
  readonly cluster: ClusterView;
  readonly verify: (message: Envelope) => boolean;
  /** Watermark window L. */
  readonly window: number;
}

/** The primary of view v: replicas[v mod n]. */
export function primaryOf(cluster: ClusterView, view: number): NodeId {
  return cluster.replicas[view % cluster.n] as NodeId;
}

/** Digest of the null request (an empty batch), proposed for the gaps of a NEW-VIEW's O. */
export const NULL_DIGEST = digestOf([]);

/** A client request: signed by the client it names, a client of this cluster. */
export function checkRequest(v: Verifier, request: RequestEnvelope): Refusal | null {
  if (request.kind !== 'REQUEST') return refuse('wrong-kind', 'not a request');
  if (request.from !== request.body.client)
    return refuse('not-its-client', 'request signer is not its client');
  if (!v.cluster.clients.includes(request.from))
    return refuse('not-a-client', `unknown client ${request.from}`);
  if (!v.verify(request)) return refuse('bad-signature', `bad client signature (${request.from})`);
  return null;
}

/** A pre-prepare: signed by the primary of its view, digest = digest(batch), requests valid. */
export function checkPrePrepare(v: Verifier, pp: PrePrepareEnvelope): Refusal | null {
  if (pp.kind !== 'PRE-PREPARE') return refuse('wrong-kind', 'not a pre-prepare');
  const { view, digest, batch } = pp.body;
  if (pp.from !== primaryOf(v.cluster, view))
    return refuse('not-from-primary', 'pre-prepare not from the primary');
  if (digestOf(batch) !== digest)
    return refuse('digest-mismatch', 'batch does not match the digest');
  if (!v.verify(pp)) return refuse('bad-signature', 'bad pre-prepare signature');
  for (const request of batch) {
    const reason = checkRequest(v, request);
    if (reason !== null) return reason;
  }
  return null;
}

/**
 * `count` signed votes of `kind` for (view, seq, digest) from distinct replicas of the cluster
 * (excluding `exclude`); any vote that does not match spoils the certificate.
 */
function checkVotes(
  v: Verifier,
  kind: 'PREPARE' | 'COMMIT',
  votes: readonly Envelope[],
  slot: { view: number; seq: number; digest: string },
  count: number,
  exclude: NodeId | null,
): Refusal | null {
  const signers = new Set<NodeId>();
  for (const vote of votes) {
    if (vote.kind !== kind) return refuse('wrong-kind', `not a ${kind}`);
    if (!v.cluster.replicas.includes(vote.from))
      return refuse('not-a-replica', `${kind} from a non-replica`);
    if (vote.from === exclude) return refuse('vote-from-primary', `${kind} from the primary`);
    if (signers.has(vote.from)) return refuse('duplicate-signer', `two ${kind}s from ${vote.from}`);
    const body = vote.body as { view: number; seq: number; digest: string };
    if (body.view !== slot.view || body.seq !== slot.seq || body.digest !== slot.digest) {
      return refuse('vote-mismatch', `${kind} does not match`);
    }
    if (!v.verify(vote)) return refuse('bad-signature', `bad ${kind} signature (${vote.from})`);
    signers.add(vote.from);
  }
  if (signers.size < count)
    return refuse('too-few-votes', `${signers.size} ${kind}s, need ${count}`);
  return null;
}

/** prepared: the pre-prepare and q−1 matching prepares from distinct backups. */
export function checkPreparedCertificate(v: Verifier, cert: PreparedCertificate): Refusal | null {
  const reason = checkPrePrepare(v, cert.prePrepare);
  if (reason !== null) return reason;
  const slot = cert.prePrepare.body;
  const primary = primaryOf(v.cluster, slot.view);
  return checkVotes(v, 'PREPARE', cert.prepares, slot, v.cluster.quorum - 1, primary);
}

/** committed-local: the pre-prepare and q matching commits from distinct replicas. */
export function checkCommitCertificate(v: Verifier, cert: CommitCertificate): Refusal | null {
  const reason = checkPrePrepare(v, cert.prePrepare);
  if (reason !== null) return reason;
  return checkVotes(v, 'COMMIT', cert.commits, cert.prePrepare.body, v.cluster.quorum, null);
}

/** A stable checkpoint: q CHECKPOINTs for (seq, stateDigest) from distinct replicas. */
export function checkCheckpointProof(
  v: Verifier,
  seq: number,
  stateDigest: string,
  proof: readonly CheckpointEnvelope[],
): Refusal | null {
  const signers = new Set<NodeId>();
  for (const cp of proof) {
    if (cp.kind !== 'CHECKPOINT') return refuse('wrong-kind', 'not a checkpoint');
    if (!v.cluster.replicas.includes(cp.from))
      return refuse('not-a-replica', 'checkpoint from a non-replica');
    if (signers.has(cp.from)) return refuse('duplicate-signer', `two checkpoints from ${cp.from}`);
    if (cp.body.seq !== seq || cp.body.stateDigest !== stateDigest)
      return refuse('vote-mismatch', 'checkpoint mismatch');
    if (!v.verify(cp)) return refuse('bad-signature', `bad checkpoint signature (${cp.from})`);
    signers.add(cp.from);
  }
  if (signers.size < v.cluster.quorum) {
    return refuse('too-few-votes', `${signers.size} checkpoints, need ${v.cluster.quorum}`);
  }
  return null;
}
