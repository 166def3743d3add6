/**
 * The offline audit: given the stored blocks and the cluster file (public keys only), does the
 * ledger hold? For each block, in height order (`checkBlock` in ./block.js):
 *
 *   1. shape: a bftkit-ledger-block/1 document, every field bounded
 *   2. height: the i-th block (from 1) says height i — no gap, no reordering
 *   3. link: prevHash is the previous block's hash (block 1: the cluster's genesis hash)
 *   4. seq: strictly increasing
 *   5. Merkle: txCount and txRoot match the transactions and their outcomes
 *   6. certificate: ≥ q votes, distinct replicas of this cluster, each a valid signature
 *      (one verification rule) over this height and this block's hash
 *   7. replay: every transaction re-executed from genesis state — signature, accounts, nonce,
 *      funds — must have exactly the recorded outcome
 *   8. state: stateHash is the hash of the replayed balances
 *
 * and stops at the first bad height. Browser-safe: the crypto is a parameter (default: noble;
 * on Node pass `nodeLedgerCrypto` from ./node-crypto.js, same verdicts, faster).
 */

import {
  type BlockHeader,
  type BlockProblem,
  blockHash,
  checkBlock,
  genesisHash,
} from './block.js';
import { type LedgerClusterInput, ledgerCluster } from './cluster.js';
import { type LedgerCrypto, nobleLedgerCrypto } from './crypto.js';
import { LedgerState } from './state.js';

export type AuditResult =
  | {
      ok: true;
      /** Number of blocks. */
      blocks: number;
      /** Number of transactions, applied or rejected. */
      transactions: number;
      applied: number;
      rejected: number;
      /** Hash of the last block (the genesis hash for an empty ledger). */
      tipHash: string;
      /** Balances after the last block, by account. */
      balances: Record<string, number>;
    }
  | { ok: false; height: number; problem: BlockProblem; reason: string };

export function auditLedger(
  blocks: Iterable<unknown>,
  clusterFile: LedgerClusterInput,
  crypto: LedgerCrypto = nobleLedgerCrypto,
): AuditResult {
  const cluster = ledgerCluster(clusterFile);
  let prev: BlockHeader | null = null;
  let state = LedgerState.genesis(cluster);
  let count = 0;
  let transactions = 0;
  let applied = 0;
  for (const raw of blocks) {
    const check = checkBlock(prev, state, raw, cluster, crypto);
    if (!check.ok)
      return { ok: false, height: count + 1, problem: check.problem, reason: check.reason };
    count++;
    prev = check.block.header;
    state = check.state;
    transactions += check.block.txs.length;
    applied += check.block.txs.filter((e) => e.outcome.status === 'applied').length;
  }
  const balances: Record<string, number> = {};
  for (const id of cluster.accounts.keys()) balances[id] = state.balance(id) ?? 0;
  return {
    ok: true,
    blocks: count,
    transactions,
    applied,
    rejected: transactions - applied,
    tipHash:
      prev === null ? genesisHash(cluster, crypto) : blockHash(cluster.clusterId, prev, crypto),
    balances,
  };
}
