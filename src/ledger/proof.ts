/**
 * Transaction proofs: a self-contained JSON document showing that a transaction was committed
 * in a certified block, and with which outcome, checkable with the cluster file alone.
 *
 *   {format: "bftkit-ledger-proof/1", clusterId,
 *    tx: signed TRANSFER envelope, outcome,
 *    merklePath: {index, size, path: [hex, …]},   RFC 6962 audit path of the leaf
 *    header: the block header, certificate: the block's BLOCK votes}
 *
 * checkProof: cluster id matches; the leaf canonical({id: txId(tx), outcome}) is leaf `index`
 * of a tree of `size` = header.txCount leaves with root header.txRoot; the certificate has ≥ q
 * valid votes from distinct replicas for this height and blockHash(header); an applied
 * transfer carries its payer's valid signature. What a proof cannot show is that the balances
 * were computed right: that is the certificate's word (≥ q replicas, so at least one correct
 * one, executed it) — the full audit replays everything.
 *
 * Browser-safe: this module and everything it imports load in a browser (noble ed25519 and
 * noble SHA-256 by default; test/ledger/browser-safe.test.ts walks the import graph).
 */
import { z } from 'zod';
import { fromHex, toHex } from '../crypto/hex.js';
import {
  type BlockHeader,
  type BlockVote,
  blockHash,
  blockVoteSchema,
  type CertifiedBlock,
  certifiedBlockSchema,
  checkCertificate,
  entryLeaf,
  headerSchema,
  MAX_BLOCK_TXS,
  MAX_CERTIFICATE,
} from './block.js';
import { type LedgerClusterInput, ledgerCluster } from './cluster.js';
import { type LedgerCrypto, nobleLedgerCrypto } from './crypto.js';
import { merklePath, verifyMerklePath } from './merkle.js';
import { type Outcome, outcomeSchema } from './state.js';
import {
  type TransferEnvelope,
  transferEnvelopeSchema,
  txId,
  verifyTransferSignature,
} from './tx.js';

export const PROOF_FORMAT = 'bftkit-ledger-proof/1';

const hash32 = z.string().regex(/^[0-9a-f]{64}$/);

export const proofSchema = z.strictObject({
  format: z.literal(PROOF_FORMAT),
  clusterId: z.string().min(1).max(64),
  tx: transferEnvelopeSchema,
  outcome: outcomeSchema,
  merklePath: z.strictObject({
    index: z
      .number()
      .int()
      .min(0)
      .max(MAX_BLOCK_TXS - 1),
    size: z.number().int().min(1).max(MAX_BLOCK_TXS),
    path: z.array(hash32).max(16),
  }),
  header: headerSchema,
  certificate: z.array(blockVoteSchema).max(MAX_CERTIFICATE),
});

export interface TxProof {
  format: typeof PROOF_FORMAT;
  clusterId: string;
  tx: TransferEnvelope;
  outcome: Outcome;
  merklePath: { index: number; size: number; path: string[] };
  header: BlockHeader;
  certificate: BlockVote[];
}

export type ProofCheck =
  | { ok: true; txId: string; height: number; blockHash: string; outcome: Outcome }
  | { ok: false; reason: string };

/**
 * The proof for transaction `id` in `blocks` (stored blocks, parsed JSON): its applied
 * occurrence if there is one, else its first. Null if no well-formed block holds it.
 */
export function proveTx(
  blocks: Iterable<unknown>,
  id: string,
  clusterId: string,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): TxProof | null {
  let found: { block: CertifiedBlock; index: number } | null = null;
  for (const raw of blocks) {
    const parsed = certifiedBlockSchema.safeParse(raw);
    if (!parsed.success) continue;
    const block = parsed.data as CertifiedBlock;
    const index = block.txs.findIndex((e) => txId(e.tx, crypto) === id);
    if (index < 0) continue;
    if (found === null) found = { block, index };
    if (block.txs[index]!.outcome.status === 'applied') {
      found = { block, index };
      break;
    }
  }
  if (found === null) return null;
  const { block, index } = found;
  const entry = block.txs[index]!;
  const leaves = block.txs.map((e) => entryLeaf(e, crypto));
  return {
    format: PROOF_FORMAT,
    clusterId,
    tx: entry.tx,
    outcome: entry.outcome,
    merklePath: {
      index,
      size: leaves.length,
      path: merklePath(crypto.sha256, leaves, index).map(toHex),
    },
    header: block.header,
    certificate: [...block.certificate],
  };
}

/** Check a proof against a cluster file. Never throws on a bad proof (it may on a bad cluster). */
export function checkProof(
  raw: unknown,
  clusterFile: LedgerClusterInput,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): ProofCheck {
  const cluster = ledgerCluster(clusterFile);
  const parsed = proofSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? '' : `${issue.path.map(String).join('.')}: `;
    return { ok: false, reason: `not a ${PROOF_FORMAT} proof: ${where}${issue?.message ?? ''}` };
  }
  const proof = parsed.data as TxProof;
  if (proof.clusterId !== cluster.clusterId)
    return {
      ok: false,
      reason: `proof is for cluster "${proof.clusterId}", the cluster file is "${cluster.clusterId}"`,
    };
  const { index, size, path } = proof.merklePath;
  if (size !== proof.header.txCount)
    return {
      ok: false,
      reason: `merkle path is for ${size} leaves, the block has ${proof.header.txCount}`,
    };
  const id = txId(proof.tx, crypto);
  const leaf = entryLeaf({ tx: proof.tx, outcome: proof.outcome }, crypto);
  const included = verifyMerklePath(
    crypto.sha256,
    fromHex(proof.header.txRoot),
    leaf,
    index,
    size,
    path.map(fromHex),
  );
  if (!included)
    return {
      ok: false,
      reason: `the transaction and its outcome are not leaf ${index} of the block's txRoot`,
    };
  const problem = checkCertificate(cluster, proof.header, proof.certificate, crypto);
  if (problem !== null) return { ok: false, reason: `certificate: ${problem}` };
  if (proof.outcome.status === 'applied' && !verifyTransferSignature(cluster, proof.tx, crypto))
    return { ok: false, reason: "an applied transfer without its payer's valid signature" };
  return {
    ok: true,
    txId: id,
    height: proof.header.height,
    blockHash: blockHash(cluster.clusterId, proof.header, crypto),
    outcome: proof.outcome,
  };
}
