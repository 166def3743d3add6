/**
 * LedgerChain: the ledger as one replica (or an auditor) holds it — the tip of the certified
 * chain, the state after it, and the blocks executed but not yet certified. Pure: no I/O, no
 * clock; what to persist is what `addVote` / `append` return (the chain keeps no old blocks).
 *
 * A replica's life, per committed PBFT batch (see README.md "Integration"):
 *
 *   const block = chain.execute(txs, seq);           // deterministic; pending until certified
 *   broadcast(signBlock(cluster, signer, block.header));
 *   … for each BLOCK vote received (and its own):
 *   for (const final of chain.addVote(vote)) store.append(final);
 *
 * Execution never waits for certificates: batch s+1 executes on the state after batch s even
 * if block s has not gathered its q votes yet. Blocks become final strictly in height order.
 *
 * Browser-safe.
 */

import {
  type Block,
  type BlockHeader,
  type BlockVote,
  blockHash,
  blockVoteSchema,
  type CertifiedBlock,
  certifyCounted,
  checkBlock,
  genesisHash,
  makeBlock,
  type VoteSignatureCheck,
  verifyBlockVote,
  verifyBlockVoteSignature,
} from './block.js';
import type { LedgerCluster } from './cluster.js';
import { type LedgerCrypto, nobleLedgerCrypto } from './crypto.js';
import { LedgerState } from './state.js';
import type { TransferEnvelope } from './tx.js';

export class ChainError extends Error {
  override name = 'ChainError';
}

/** How far beyond the executed height votes are buffered (a faster replica's votes). */
export const VOTE_WINDOW = 64;

interface Pending {
  block: Block;
  hash: string;
  state: LedgerState;
  votes: Map<string, BlockVote>;
}

export class LedgerChain {
  readonly #cluster: LedgerCluster;
  readonly #crypto: LedgerCrypto;
  /** Header of the last certified block (null: none). */
  #tip: BlockHeader | null = null;
  #state: LedgerState;
  readonly #pending: Pending[] = [];
  /** Votes for heights not executed yet: height → replica → vote. */
  readonly #early = new Map<number, Map<string, BlockVote>>();

  /** How a vote's signature is checked: once per vote (a replica passes its cached verifier). */
  readonly #signatureOk: VoteSignatureCheck;

  constructor(
    cluster: LedgerCluster,
    crypto: LedgerCrypto = nobleLedgerCrypto,
    signatureOk?: VoteSignatureCheck,
  ) {
    this.#cluster = cluster;
    this.#crypto = crypto;
    this.#state = LedgerState.genesis(cluster);
    this.#signatureOk = signatureOk ?? ((vote) => verifyBlockVoteSignature(cluster, vote, crypto));
  }

  /** Rebuild from stored blocks, verifying each one; throws ChainError at the first bad one. */
  static fromBlocks(
    blocks: Iterable<unknown>,
    cluster: LedgerCluster,
    crypto: LedgerCrypto = nobleLedgerCrypto,
  ): LedgerChain {
    const chain = new LedgerChain(cluster, crypto);
    for (const block of blocks) chain.append(block);
    return chain;
  }

  /**
   * Continue a chain from a state that others vouched for (a PBFT checkpoint): the header of
   * its last block (null: genesis) and the state after it.
   */
  static resume(
    tip: BlockHeader | null,
    state: LedgerState,
    cluster: LedgerCluster,
    crypto: LedgerCrypto = nobleLedgerCrypto,
    signatureOk?: VoteSignatureCheck,
  ): LedgerChain {
    const chain = new LedgerChain(cluster, crypto, signatureOk);
    chain.#tip = tip;
    chain.#state = state.clone();
    return chain;
  }

  /** Height of the last certified block (0: none). */
  get height(): number {
    return this.#tip?.height ?? 0;
  }

  /** Height of the last executed block, certified or not. */
  get executedHeight(): number {
    return this.height + this.#pending.length;
  }

  get tip(): BlockHeader | null {
    return this.#tip;
  }

  /** Header of the last executed block, certified or not (null: none). */
  get executedTip(): BlockHeader | null {
    return this.#pending.at(-1)?.block.header ?? this.#tip;
  }

  /** Hash of the last certified block, or the genesis hash. */
  get tipHash(): string {
    const tip = this.tip;
    return tip === null
      ? genesisHash(this.#cluster, this.#crypto)
      : blockHash(this.#cluster.clusterId, tip, this.#crypto);
  }

  /** A copy of the state after the last certified block. */
  get state(): LedgerState {
    return this.#state.clone();
  }

  /** A copy of the state after the last executed block (what the next batch executes on). */
  get executedState(): LedgerState {
    return (this.#pending.at(-1)?.state ?? this.#state).clone();
  }

  /** The hash of an executed block not yet certified. */
  pendingHash(height: number): string | undefined {
    return this.#pending[height - this.height - 1]?.hash;
  }

  pendingBlock(height: number): Block | undefined {
    return this.#pending[height - this.height - 1]?.block;
  }

  /** Execute a committed batch on top of everything executed so far (well-formed transfers). */
  execute(txs: readonly TransferEnvelope[], seq: number): Block {
    const last = this.#pending.at(-1);
    const prev = last?.block.header ?? this.tip;
    const { block, state } = makeBlock(
      prev,
      txs,
      last?.state ?? this.#state,
      seq,
      this.#cluster,
      this.#crypto,
    );
    const hash = blockHash(this.#cluster.clusterId, block.header, this.#crypto);
    const pending: Pending = { block, hash, state, votes: new Map() };
    this.#pending.push(pending);
    const early = this.#early.get(block.header.height);
    this.#early.delete(block.header.height);
    for (const vote of early?.values() ?? []) this.#count(pending, vote);
    return block;
  }

  /**
   * Count a replica's BLOCK vote. Returns the blocks that became final (certified, in height
   * order; persist them in this order). Invalid votes and votes for other blocks are ignored;
   * votes for heights not executed yet are kept (within VOTE_WINDOW) until they are.
   */
  addVote(raw: unknown): CertifiedBlock[] {
    const parsed = blockVoteSchema.safeParse(raw);
    if (!parsed.success) return [];
    const vote = parsed.data as BlockVote;
    const height = vote.body.height;
    if (height <= this.height) return [];
    const pending = this.#pending[height - this.height - 1];
    if (pending === undefined) {
      // Only a replica's own signed vote may take its slot: a forged one must not crowd out
      // the genuine vote that arrives later. (Which block it names is checked on execution.)
      if (height > this.executedHeight + VOTE_WINDOW) return [];
      const votes = this.#early.get(height) ?? new Map<string, BlockVote>();
      if (
        votes.has(vote.from) ||
        !this.#cluster.replicas.has(vote.from) ||
        !this.#signatureOk(vote)
      )
        return [];
      votes.set(vote.from, vote);
      this.#early.set(height, votes);
      return [];
    }
    this.#count(pending, vote);
    return this.#finalize();
  }

  #count(pending: Pending, vote: BlockVote): void {
    if (pending.votes.has(vote.from)) return;
    const problem = verifyBlockVote(
      this.#cluster,
      vote,
      pending.block.header.height,
      pending.hash,
      this.#crypto,
      this.#signatureOk,
    );
    if (problem === null) pending.votes.set(vote.from, vote);
  }

  #finalize(): CertifiedBlock[] {
    const done: CertifiedBlock[] = [];
    for (;;) {
      const first = this.#pending[0];
      if (first === undefined || first.votes.size < this.#cluster.quorum) return done;
      const certified = certifyCounted(first.block, first.votes, this.#cluster.quorum);
      this.#pending.shift();
      this.#tip = certified.header;
      this.#state = first.state;
      done.push(certified);
    }
  }

  /**
   * Append a certified block learned from elsewhere (recovery, state transfer), after full
   * verification. If this chain already executed that height, the block must be the one it
   * executed: anything else means this replica diverged, which is fatal (ChainError).
   */
  append(raw: unknown): CertifiedBlock {
    const check = checkBlock(this.tip, this.#state, raw, this.#cluster, this.#crypto);
    if (!check.ok)
      throw new ChainError(`block ${this.height + 1}: ${check.problem}: ${check.reason}`);
    const first = this.#pending[0];
    if (first !== undefined) {
      const hash = blockHash(this.#cluster.clusterId, check.block.header, this.#crypto);
      if (hash !== first.hash)
        throw new ChainError(
          `block ${this.height + 1} is certified with hash ${hash}, this replica executed ${first.hash}`,
        );
      this.#pending.shift();
    }
    this.#tip = check.block.header;
    this.#state = check.state;
    return check.block;
  }
}
