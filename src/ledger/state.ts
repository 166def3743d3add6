/**
 * Ledger state: a balance and a nonce per account, and the deterministic transition function.
 *
 * Genesis is derived from the cluster file alone: every client of the cluster is an account
 * that starts with GENESIS_BALANCE units and nonce 0. Nothing is ever created or destroyed
 * afterwards, so the total supply stays clients × GENESIS_BALANCE (≤ 1024 × 10^6, far below
 * 2^53: every sum is exact).
 *
 * A transfer is applied iff all of these hold, checked in this order; the first that fails is
 * the reason it is recorded as rejected (and nothing changes, not even the nonce):
 *
 *   signer-mismatch      envelope.from ≠ body.from
 *   unknown-account      the payer is not a client of the cluster
 *   bad-signature        the signature is not the payer's (one verification rule)
 *   unknown-recipient    the payee is not a client of the cluster
 *   self-transfer        payer = payee (forbidden: it would only burn a nonce)
 *   non-positive-amount  amount ≤ 0
 *   bad-nonce            nonce ≠ the payer's last applied nonce + 1 (replays land here)
 *   insufficient-funds   amount > the payer's balance
 *
 * Browser-safe.
 */
import { z } from 'zod';
import { toHex } from '../crypto/hex.js';
import type { Json } from '../crypto/json.js';
import type { LedgerCluster } from './cluster.js';
import { type LedgerCrypto, ledgerDigest, nobleLedgerCrypto } from './crypto.js';
import { type TransferEnvelope, verifyTransferSignature } from './tx.js';

/** Every account's balance at genesis. */
export const GENESIS_BALANCE = 1_000_000;

export const REJECT_REASONS = [
  'signer-mismatch',
  'unknown-account',
  'bad-signature',
  'unknown-recipient',
  'self-transfer',
  'non-positive-amount',
  'bad-nonce',
  'insufficient-funds',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const outcomeSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('applied') }),
  z.strictObject({ status: z.literal('rejected'), reason: z.enum(REJECT_REASONS) }),
]);
export type Outcome = { status: 'applied' } | { status: 'rejected'; reason: RejectReason };

export function describeOutcome(outcome: Outcome): string {
  return outcome.status === 'applied' ? 'applied' : `rejected (${outcome.reason})`;
}

const nonNegative = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** `LedgerState.snapshot()`: [[account, balance, nonce], …]. */
export const stateSnapshotSchema = z
  .array(z.tuple([z.string().min(1).max(64), nonNegative, nonNegative]))
  .max(1024);

export interface Account {
  readonly balance: number;
  /** The nonce of the last applied transfer paid by this account (0: none yet). */
  readonly nonce: number;
}

/**
 * Balances and nonces. Mutable only through `apply`; `makeBlock` and the chain apply to a
 * `clone()`, so a state handed out is never changed behind its holder's back.
 */
export class LedgerState {
  private constructor(private readonly accounts: Map<string, { balance: number; nonce: number }>) {}

  /** The state before block 1: each client account with GENESIS_BALANCE and nonce 0. */
  static genesis(cluster: LedgerCluster): LedgerState {
    return new LedgerState(
      new Map(
        [...cluster.accounts.keys()].map((id) => [id, { balance: GENESIS_BALANCE, nonce: 0 }]),
      ),
    );
  }

  clone(): LedgerState {
    return new LedgerState(new Map([...this.accounts].map(([id, a]) => [id, { ...a }])));
  }

  account(id: string): Account | undefined {
    const a = this.accounts.get(id);
    return a === undefined ? undefined : { ...a };
  }

  balance(id: string): number | undefined {
    return this.accounts.get(id)?.balance;
  }

  /** The nonce the account's next transfer must carry. */
  nextNonce(id: string): number | undefined {
    const a = this.accounts.get(id);
    return a === undefined ? undefined : a.nonce + 1;
  }

  /** Decide a transfer's outcome and, if applied, apply it. Deterministic. */
  apply(
    cluster: LedgerCluster,
    tx: TransferEnvelope,
    crypto: LedgerCrypto = nobleLedgerCrypto,
  ): Outcome {
    const reason = this.judge(cluster, tx, crypto);
    if (reason !== null) return { status: 'rejected', reason };
    const { from, to, amount, nonce } = tx.body;
    const payer = this.accounts.get(from)!;
    const payee = this.accounts.get(to)!;
    payer.balance -= amount;
    payer.nonce = nonce;
    payee.balance += amount;
    return { status: 'applied' };
  }

  private judge(
    cluster: LedgerCluster,
    tx: TransferEnvelope,
    crypto: LedgerCrypto,
  ): RejectReason | null {
    const { from, to, amount, nonce } = tx.body;
    if (tx.from !== from) return 'signer-mismatch';
    const payer = this.accounts.get(from);
    if (payer === undefined) return 'unknown-account';
    if (!verifyTransferSignature(cluster, tx, crypto)) return 'bad-signature';
    if (!this.accounts.has(to)) return 'unknown-recipient';
    if (from === to) return 'self-transfer';
    if (!Number.isSafeInteger(amount) || amount <= 0) return 'non-positive-amount';
    if (nonce !== payer.nonce + 1) return 'bad-nonce';
    if (amount > payer.balance) return 'insufficient-funds';
    return null;
  }

  /**
   * The state a snapshot describes, if it has exactly the cluster's accounts with sane
   * balances and nonces; null otherwise.
   */
  static fromSnapshot(cluster: LedgerCluster, snapshot: unknown): LedgerState | null {
    const parsed = stateSnapshotSchema.safeParse(snapshot);
    if (!parsed.success || parsed.data.length !== cluster.accounts.size) return null;
    const accounts = new Map<string, { balance: number; nonce: number }>();
    for (const [id, balance, nonce] of parsed.data) {
      if (!cluster.accounts.has(id) || accounts.has(id)) return null;
      accounts.set(id, { balance, nonce });
    }
    return new LedgerState(accounts);
  }

  /** Canonical form: [[account, balance, nonce], …] sorted by account id. */
  snapshot(): Json {
    return [...this.accounts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, a]) => [id, a.balance, a.nonce]);
  }

  /** hex SHA-256("bftkit/1/<cluster>/ledger/STATE" ‖ 0x00 ‖ canonical(snapshot)). */
  hash(clusterId: string, crypto: LedgerCrypto = nobleLedgerCrypto): string {
    return toHex(ledgerDigest(crypto, clusterId, 'STATE', this.snapshot()));
  }
}
