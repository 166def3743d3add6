/**
 * Transactions: a transfer {from, to, amount, nonce}, signed by the paying account's client
 * key as an Envelope of kind TRANSFER in the domain "bftkit/1/<cluster>/ledger/TRANSFER".
 *
 * Two levels of "valid":
 *   - well-formed (this file's schema): the shape, sizes and integer ranges. Only well-formed
 *     transfers can be ordered into a block; anything else is refused at the door.
 *   - acceptable (src/ledger/state.ts): signature, accounts, nonce, funds, amount > 0. A
 *     well-formed but unacceptable transfer IS recorded in its block — as rejected, with a
 *     reason — because the replicas ordered it and every replica must agree on what happened.
 *
 * tx id = lowercase hex of SHA-256(canonical(signed envelope)).
 *
 * Browser-safe.
 */
import { z } from 'zod';
import type { Signer } from '../core/envelope.js';
import type { Envelope } from '../core/envelope-types.js';
import { canonicalBytes } from '../crypto/canonical.js';
import { fromHex, toHex } from '../crypto/hex.js';
import type { Json } from '../crypto/json.js';
import type { LedgerCluster } from './cluster.js';
import { type LedgerCrypto, ledgerDigest, nobleLedgerCrypto } from './crypto.js';

export const TRANSFER = 'TRANSFER';

/** Account ids are client ids of the cluster file: same pattern. */
export const accountIdSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/);
const safeInteger = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

/**
 * The transfer body. `amount` may be any safe integer here so that a non-positive amount can be
 * ordered and rejected with a reason; `makeTransfer` refuses to sign one.
 */
export const transferBodySchema = z.strictObject({
  from: accountIdSchema,
  to: accountIdSchema,
  amount: safeInteger,
  nonce: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});

export const transferEnvelopeSchema = z.strictObject({
  kind: z.literal(TRANSFER),
  from: accountIdSchema,
  body: transferBodySchema,
  sig: z.string().regex(/^[0-9a-f]{128}$/),
});

export type TransferBody = z.infer<typeof transferBodySchema>;
export type TransferEnvelope = Envelope<typeof TRANSFER, TransferBody>;

export class TransferError extends Error {
  override name = 'TransferError';
}

/** The digest a transfer's signature covers. */
export function transferDigest(
  clusterId: string,
  body: TransferBody,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): Uint8Array {
  return ledgerDigest(crypto, clusterId, TRANSFER, body);
}

/**
 * Sign a transfer as its paying account. Refuses what could never be applied for reasons the
 * payer controls (amount ≤ 0 or unsafe, self-transfer, nonce < 1, signer ≠ payer); whether it
 * will be applied still depends on the ledger (nonce, funds) when it is ordered.
 */
export function makeTransfer(
  clusterId: string,
  signer: Signer,
  body: TransferBody,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): TransferEnvelope {
  const parsed = transferBodySchema.safeParse(body);
  if (!parsed.success) throw new TransferError(`malformed transfer: ${parsed.error.message}`);
  if (body.from !== signer.id)
    throw new TransferError(`${signer.id} cannot sign a transfer from ${body.from}`);
  if (body.amount <= 0) throw new TransferError(`amount must be positive, got ${body.amount}`);
  if (body.from === body.to) throw new TransferError('a transfer to oneself is not allowed');
  const clean: TransferBody = {
    from: body.from,
    to: body.to,
    amount: body.amount,
    nonce: body.nonce,
  };
  const sig = toHex(signer.sign(transferDigest(clusterId, clean, crypto)));
  return { kind: TRANSFER, from: signer.id, body: clean, sig };
}

/** Parse an untrusted value as a well-formed transfer envelope (null if it is not one). */
export function parseTransfer(raw: unknown): TransferEnvelope | null {
  const parsed = transferEnvelopeSchema.safeParse(raw);
  return parsed.success ? (parsed.data as TransferEnvelope) : null;
}

/** hex SHA-256 of the canonical signed envelope. */
export function txId(tx: TransferEnvelope, crypto: LedgerCrypto = nobleLedgerCrypto): string {
  return toHex(crypto.sha256(canonicalBytes(tx as unknown as Json)));
}

/**
 * Is the signature the payer's, under the one verification rule? The signer is the
 * envelope's `from`, which must also be the body's payer and an account of the cluster.
 */
export function verifyTransferSignature(
  cluster: LedgerCluster,
  tx: TransferEnvelope,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): boolean {
  const key = cluster.accounts.get(tx.from);
  if (key === undefined || tx.from !== tx.body.from) return false;
  let sig: Uint8Array;
  try {
    sig = fromHex(tx.sig);
  } catch {
    return false;
  }
  return crypto.backend.verify(key, transferDigest(cluster.clusterId, tx.body, crypto), sig);
}
