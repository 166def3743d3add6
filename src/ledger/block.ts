/**
 * Blocks: one committed batch each, hash-chained, with a commit certificate.
 *
 *   header      {height, prevHash, txRoot, txCount, stateHash, seq}
 *   txs         [{tx: signed TRANSFER envelope, outcome: applied | rejected + reason}]
 *   certificate [BLOCK envelopes {height, hash} from ≥ q distinct replicas]
 *
 *   block hash  = SHA-256("bftkit/1/<cluster>/ledger/HEADER" ‖ 0x00 ‖ canonical(header))
 *   prevHash    = the previous block's hash; for height 1, the genesis hash (below)
 *   txRoot      = RFC 6962 Merkle root over the leaves canonical({id: tx id, outcome})
 *   stateHash   = LedgerState.hash() after applying the block
 *   vote digest = SHA-256("bftkit/1/<cluster>/ledger/BLOCK" ‖ 0x00 ‖ canonical({hash, height}))
 *
 * A leaf carries the outcome as well as the tx id so that an inclusion proof proves what
 * happened to the transaction, not only that it was ordered; txCount pins the tree size.
 *
 * The header holds nothing a correct replica could see differently from another: in particular
 * not the PBFT view. A batch committed in view v at one replica may commit at another only
 * after a view change, re-proposed in view v' with the same seq; a header with the view would
 * then hash differently at the two, no block would gather q matching votes, and since blocks
 * become final in height order, none after it either (seen on a starved machine: clients got
 * their replies, 0 blocks were certified). The seq is agreed: one seq, one batch.
 *
 * `checkBlock` is the one verification of a block against its predecessor: the chain uses it
 * when it appends, the auditor for every stored block. Browser-safe.
 */
import { z } from 'zod';
import type { Signer } from '../core/envelope.js';
import type { Envelope } from '../core/envelope-types.js';
import { canonicalBytes } from '../crypto/canonical.js';
import { fromHex, toHex } from '../crypto/hex.js';
import type { Json } from '../crypto/json.js';
import type { LedgerCluster } from './cluster.js';
import { type LedgerCrypto, ledgerDigest, nobleLedgerCrypto } from './crypto.js';
import { merkleRoot } from './merkle.js';
import {
  describeOutcome,
  GENESIS_BALANCE,
  type LedgerState,
  type Outcome,
  outcomeSchema,
} from './state.js';
import {
  accountIdSchema as memberIdSchema,
  type TransferEnvelope,
  transferEnvelopeSchema,
  txId,
} from './tx.js';

export const BLOCK_FORMAT = 'bftkit-ledger-block/1';
/** Most transactions in one block (PBFT's largest batch). */
export const MAX_BLOCK_TXS = 256;
/** Most signatures in one certificate (the largest cluster). */
export const MAX_CERTIFICATE = 64;
export const BLOCK_VOTE = 'BLOCK';

const hash32 = z.string().regex(/^[0-9a-f]{64}$/);
const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const headerSchema = z.strictObject({
  height: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  prevHash: hash32,
  txRoot: hash32,
  txCount: z.number().int().min(0).max(MAX_BLOCK_TXS),
  stateHash: hash32,
  seq: counter,
});
export type BlockHeader = z.infer<typeof headerSchema>;

export const entrySchema = z.strictObject({ tx: transferEnvelopeSchema, outcome: outcomeSchema });
export interface BlockEntry {
  readonly tx: TransferEnvelope;
  readonly outcome: Outcome;
}

export const blockVoteSchema = z.strictObject({
  kind: z.literal(BLOCK_VOTE),
  from: memberIdSchema,
  body: z.strictObject({ height: headerSchema.shape.height, hash: hash32 }),
  sig: z.string().regex(/^[0-9a-f]{128}$/),
});
export type BlockVote = Envelope<typeof BLOCK_VOTE, { height: number; hash: string }>;

export const certifiedBlockSchema = z.strictObject({
  format: z.literal(BLOCK_FORMAT),
  header: headerSchema,
  txs: z.array(entrySchema).max(MAX_BLOCK_TXS),
  certificate: z.array(blockVoteSchema).max(MAX_CERTIFICATE),
});

/** Executed, not yet certified. */
export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly BlockEntry[];
}

/** What is stored, audited and exported. */
export interface CertifiedBlock extends Block {
  readonly format: typeof BLOCK_FORMAT;
  readonly certificate: readonly BlockVote[];
}

export class BlockError extends Error {
  override name = 'BlockError';
}

/** The block hash: SHA-256 over the HEADER domain tag and canonical(header), hex. */
export function blockHash(
  clusterId: string,
  header: BlockHeader,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): string {
  return toHex(ledgerDigest(crypto, clusterId, 'HEADER', header as unknown as Json));
}

/**
 * The prevHash of block 1: a digest of everything genesis depends on — the cluster's replicas
 * and accounts with their keys, n, f and the genesis balance. A chain made for another key set
 * fails its first link.
 */
export function genesisHash(
  cluster: LedgerCluster,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): string {
  const members = (m: ReadonlyMap<string, Uint8Array>): Json =>
    [...m.entries()].map(([id, key]) => [id, toHex(key)]);
  return toHex(
    ledgerDigest(crypto, cluster.clusterId, 'GENESIS', {
      n: cluster.n,
      f: cluster.f,
      replicas: members(cluster.replicas),
      accounts: members(cluster.accounts),
      balance: GENESIS_BALANCE,
    }),
  );
}

/** The Merkle leaf of an entry: canonical({id, outcome}). */
export function entryLeaf(entry: BlockEntry, crypto: LedgerCrypto = nobleLedgerCrypto): Uint8Array {
  return canonicalBytes({ id: txId(entry.tx, crypto), outcome: entry.outcome as Json });
}

export function txRoot(
  entries: readonly BlockEntry[],
  crypto: LedgerCrypto = nobleLedgerCrypto,
): string {
  return toHex(
    merkleRoot(
      crypto.sha256,
      entries.map((e) => entryLeaf(e, crypto)),
    ),
  );
}

/**
 * Execute one committed batch on top of `prev` (null: the first block) and `state` (the state
 * after `prev`; not modified). Every transfer is recorded, applied or rejected with a reason.
 * The transfers must be well-formed (`transferEnvelopeSchema`): a replica's come from batches
 * the host admitted under `ledgerCommandSchema`, so they are not parsed a second time here.
 */
export function makeBlock(
  prev: BlockHeader | null,
  txs: readonly TransferEnvelope[],
  state: LedgerState,
  seq: number,
  cluster: LedgerCluster,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): { block: Block; state: LedgerState } {
  if (txs.length > MAX_BLOCK_TXS)
    throw new BlockError(`${txs.length} transactions, at most ${MAX_BLOCK_TXS} per block`);
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw new BlockError('seq must be a non-negative safe integer');
  if (prev !== null && seq <= prev.seq)
    throw new BlockError(`seq ${seq} does not follow the previous block's seq ${prev.seq}`);
  const next = state.clone();
  const entries: BlockEntry[] = txs.map((tx) => ({ tx, outcome: next.apply(cluster, tx, crypto) }));
  const header: BlockHeader = {
    height: prev === null ? 1 : prev.height + 1,
    prevHash:
      prev === null ? genesisHash(cluster, crypto) : blockHash(cluster.clusterId, prev, crypto),
    txRoot: txRoot(entries, crypto),
    txCount: entries.length,
    stateHash: next.hash(cluster.clusterId, crypto),
    seq,
  };
  return { block: { header, txs: entries }, state: next };
}

/** The vote a replica signs once it has executed a block: ⟨BLOCK, height, hash⟩σi. */
export function signBlock(
  cluster: LedgerCluster,
  signer: Signer,
  header: BlockHeader,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): BlockVote {
  const body = { height: header.height, hash: blockHash(cluster.clusterId, header, crypto) };
  const sig = toHex(signer.sign(ledgerDigest(crypto, cluster.clusterId, BLOCK_VOTE, body)));
  return { kind: BLOCK_VOTE, from: signer.id, body, sig };
}

/**
 * Is `vote` a replica's valid signature over this height and hash? Null if so, else why not.
 * The signature is checked by `signatureOk` (a replica passes its host's cached verifier).
 */
export function verifyBlockVote(
  cluster: LedgerCluster,
  vote: BlockVote,
  height: number,
  hash: string,
  crypto: LedgerCrypto = nobleLedgerCrypto,
  signatureOk: VoteSignatureCheck = (v) => verifyBlockVoteSignature(cluster, v, crypto),
): string | null {
  if (vote.kind !== BLOCK_VOTE) return `a ${vote.kind} envelope is not a block vote`;
  if (!cluster.replicas.has(vote.from))
    return `signer "${vote.from}" is not a replica of the cluster`;
  if (vote.body.height !== height || vote.body.hash !== hash)
    return `${vote.from} signed height ${vote.body.height} / ${vote.body.hash.slice(0, 12)}…, not this block`;
  return signatureOk(vote) ? null : `${vote.from}: invalid signature`;
}

/** A check of a vote's signature (verifyBlockVoteSignature, or a host's cached verifier). */
export type VoteSignatureCheck = (vote: BlockVote) => boolean;

/** Is the vote signed by the replica it names, whatever block it is for? */
export function verifyBlockVoteSignature(
  cluster: LedgerCluster,
  vote: BlockVote,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): boolean {
  const key = cluster.replicas.get(vote.from);
  if (key === undefined) return false;
  let sig: Uint8Array;
  try {
    sig = fromHex(vote.sig);
  } catch {
    return false;
  }
  const digest = ledgerDigest(crypto, cluster.clusterId, BLOCK_VOTE, vote.body);
  return crypto.backend.verify(key, digest, sig);
}

/**
 * A commit certificate must consist only of valid votes for this height and hash, each from a
 * different replica of the cluster, at least q of them. Returns null or the first problem.
 * (Strict: a stored certificate is exactly what `certify` produced, so anything extra is
 * tampering, not noise to skip.)
 */
export function checkCertificate(
  cluster: LedgerCluster,
  header: BlockHeader,
  certificate: readonly BlockVote[],
  crypto: LedgerCrypto = nobleLedgerCrypto,
): string | null {
  const hash = blockHash(cluster.clusterId, header, crypto);
  if (certificate.length > cluster.n)
    return `${certificate.length} signatures, more than the ${cluster.n} replicas`;
  const seen = new Set<string>();
  for (const vote of certificate) {
    if (seen.has(vote.from)) return `duplicate signer ${vote.from}`;
    seen.add(vote.from);
    const problem = verifyBlockVote(cluster, vote, header.height, hash, crypto);
    if (problem !== null) return problem;
  }
  if (seen.size < cluster.quorum)
    return `${seen.size} distinct signers, a certificate needs q = ${cluster.quorum}`;
  return null;
}

/**
 * Build the certificate for an executed block from the votes received: keep the valid votes
 * for this block, one per replica, sorted by replica id, the first q of them. Throws if fewer
 * than q valid distinct votes are at hand.
 */
export function certify(
  block: Block,
  votes: readonly BlockVote[],
  cluster: LedgerCluster,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): CertifiedBlock {
  const hash = blockHash(cluster.clusterId, block.header, crypto);
  const byReplica = new Map<string, BlockVote>();
  for (const raw of votes) {
    const parsed = blockVoteSchema.safeParse(raw);
    if (!parsed.success || byReplica.has(parsed.data.from)) continue;
    const vote = parsed.data as BlockVote;
    if (verifyBlockVote(cluster, vote, block.header.height, hash, crypto) === null)
      byReplica.set(vote.from, vote);
  }
  return certifyCounted(block, byReplica, cluster.quorum);
}

/**
 * The certified block from votes already checked (valid, for this block, one per replica):
 * sorted by replica id, the first q. Throws if fewer than q.
 */
export function certifyCounted(
  block: Block,
  votes: ReadonlyMap<string, BlockVote>,
  quorum: number,
): CertifiedBlock {
  if (votes.size < quorum)
    throw new BlockError(`block ${block.header.height}: ${votes.size} valid votes, q = ${quorum}`);
  const certificate = [...votes.values()]
    .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0))
    .slice(0, quorum);
  return { format: BLOCK_FORMAT, header: block.header, txs: block.txs, certificate };
}

/** Why a block fails: the step of `checkBlock` that refused it. */
export type BlockProblem =
  | 'malformed'
  | 'height'
  | 'link'
  | 'seq'
  | 'merkle'
  | 'certificate'
  | 'tx-outcome'
  | 'state-hash';

export type BlockCheck =
  | { ok: true; block: CertifiedBlock; state: LedgerState }
  | { ok: false; problem: BlockProblem; reason: string };

/**
 * Verify `raw` as the block that follows `prev` (null: genesis), whose state after is `state`
 * (not modified). In order: shape, height, link to prev, seq, Merkle root, certificate, then
 * every transaction replayed (its recorded outcome must be the replay's) and the state hash.
 * A valid certificate does not excuse a wrong execution: the replay is the auditor's own.
 */
export function checkBlock(
  prev: BlockHeader | null,
  state: LedgerState,
  raw: unknown,
  cluster: LedgerCluster,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): BlockCheck {
  const fail = (problem: BlockProblem, reason: string): BlockCheck => ({
    ok: false,
    problem,
    reason,
  });
  const parsed = certifiedBlockSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? '' : `${issue.path.map(String).join('.')}: `;
    return fail('malformed', `not a ${BLOCK_FORMAT} block: ${where}${issue?.message ?? ''}`);
  }
  const block = parsed.data as CertifiedBlock;
  const { header } = block;
  const height = prev === null ? 1 : prev.height + 1;
  if (header.height !== height)
    return fail('height', `block at height ${height} says height ${header.height}`);
  const expectedPrev =
    prev === null ? genesisHash(cluster, crypto) : blockHash(cluster.clusterId, prev, crypto);
  if (header.prevHash !== expectedPrev)
    return fail(
      'link',
      prev === null
        ? 'prevHash is not the genesis hash of this cluster'
        : `prevHash is not the hash of block ${prev.height}`,
    );
  if (prev !== null && header.seq <= prev.seq)
    return fail('seq', `seq ${header.seq} does not follow block ${prev.height}'s seq ${prev.seq}`);
  if (header.txCount !== block.txs.length)
    return fail('merkle', `txCount ${header.txCount} but ${block.txs.length} transactions`);
  if (header.txRoot !== txRoot(block.txs, crypto))
    return fail('merkle', 'txRoot is not the Merkle root of the transactions');
  const certificateProblem = checkCertificate(cluster, header, block.certificate, crypto);
  if (certificateProblem !== null) return fail('certificate', certificateProblem);
  const next = state.clone();
  for (const [i, entry] of block.txs.entries()) {
    const replayed = next.apply(cluster, entry.tx, crypto);
    if (!sameOutcome(replayed, entry.outcome))
      return fail(
        'tx-outcome',
        `transaction ${i} (${txId(entry.tx, crypto).slice(0, 16)}…): recorded ${describeOutcome(entry.outcome)}, replay says ${describeOutcome(replayed)}`,
      );
  }
  if (header.stateHash !== next.hash(cluster.clusterId, crypto))
    return fail('state-hash', 'stateHash is not the hash of the replayed balances');
  return { ok: true, block, state: next };
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.status === 'applied' || b.status === 'applied') return a.status === b.status;
  return a.reason === b.reason;
}
