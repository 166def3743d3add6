/**
 * The ledger as a replicated application of PBFT (smr/app.ts): the integration step of
 * README.md "Integration".
 *
 *   REQUEST command   {transfers: [signed TRANSFER, …]}  (a client may relay up to 64)
 *   per committed batch with ≥ 1 transfer (view v, seq s), at every replica:
 *     block ← chain.execute(transfers of the batch, s)         deterministic (not v: block.ts)
 *     vote  ← ⟨BLOCK, height, hash(block.header)⟩σi            signed as ledger/BLOCK
 *     multicast vote; count it and the others' (chain.addVote)
 *   on q matching votes: the block is final → output {type: 'ledger-block', block}
 *   REPLY result      {height, outcomes: [applied | rejected + reason, …]}
 *
 * The host stores the final blocks (ledger/store.ts). Votes go out as soon as a replica has
 * executed the block and are a function of the executed batches, so nothing needs persisting
 * before they are sent. The state a checkpoint covers is the executed one — balances, nonces
 * and the header of the last executed block — so a replica that installs a checkpoint can
 * go on building the chain from there.
 */
import { z } from 'zod';
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import type { AppDefinition, AppRequest, ReplicatedApp } from '../smr/app.js';
import {
  BLOCK_VOTE,
  type BlockHeader,
  type CertifiedBlock,
  headerSchema,
  MAX_BLOCK_TXS,
} from './block.js';
import { LedgerChain } from './chain.js';
import type { LedgerCluster } from './cluster.js';
import { LEDGER_PROTOCOL, type LedgerCrypto } from './crypto.js';
import { LedgerState, type Outcome, outcomeSchema, stateSnapshotSchema } from './state.js';
import { type TransferEnvelope, transferEnvelopeSchema } from './tx.js';

/** Most transfers one REQUEST carries (a batch of such requests makes one block ≤ 256). */
export const MAX_REQUEST_TRANSFERS = 64;

export const ledgerCommandSchema = z.strictObject({
  transfers: z.array(transferEnvelopeSchema).min(1).max(MAX_REQUEST_TRANSFERS),
});
export type LedgerCommand = { transfers: TransferEnvelope[] };

export const ledgerResultSchema = z.strictObject({
  height: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  outcomes: z.array(outcomeSchema).max(MAX_REQUEST_TRANSFERS),
});
export type LedgerResult = { height: number; outcomes: Outcome[] };

/** Hashes of the last executed blocks a checkpoint carries (see LedgerApp.restore). */
export const RECENT_BLOCK_HASHES = 256;

export const ledgerSnapshotSchema = z.strictObject({
  tip: headerSchema.nullable(),
  accounts: stateSnapshotSchema,
  /** Hashes of the last executed blocks, oldest first, the last one the tip's. */
  recent: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(RECENT_BLOCK_HASHES),
});

const blockVoteBody = z.strictObject({
  height: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});

/** What a ledger replica outputs to its host when a block becomes final. */
export interface LedgerBlockOutput {
  readonly type: 'ledger-block';
  readonly block: CertifiedBlock;
}

/**
 * Output when a replica installs a checkpoint: the chain goes on from `height`, and the blocks
 * up to there were certified by others — a host that lacks them fetches them.
 */
export interface LedgerResumedOutput {
  readonly type: 'ledger-resumed';
  readonly height: number;
}

/**
 * The ledger over `cluster` (its replicas' and accounts' keys). Transfers and votes are
 * checked with `crypto` — the node:crypto backend on Node, under the one verification rule.
 */
export function ledgerApp(cluster: LedgerCluster, crypto: LedgerCrypto): AppDefinition {
  return {
    name: 'ledger',
    command: ledgerCommandSchema as z.ZodType<Json>,
    result: ledgerResultSchema as z.ZodType<Json>,
    snapshot: ledgerSnapshotSchema as z.ZodType<Json>,
    messages: { [BLOCK_VOTE]: blockVoteBody },
    domains: { [BLOCK_VOTE]: LEDGER_PROTOCOL },
    create: (ctx) => new LedgerApp(ctx, cluster, crypto),
    // One batch is one block: at most MAX_BLOCK_TXS transfers.
    weight: (command) => (command as unknown as LedgerCommand).transfers.length,
    maxBatchWeight: MAX_BLOCK_TXS,
  };
}

/** Heights for which a replica keeps its own BLOCK vote, to answer latecomers (echo). */
const VOTE_MEMORY = 1024;
/** How long after a block became final a vote for it counts as a latecomer's. */
const LATE_VOTE_MS = 1_000;

class LedgerApp implements ReplicatedApp {
  private chain: LedgerChain;
  /** Hashes of the last RECENT_BLOCK_HASHES executed blocks, oldest first (part of the state). */
  private recent: string[] = [];
  private readonly ownVotes = new Map<
    number,
    { vote: Envelope<string, { hash: string }>; finalAt: number | null; echoed: Set<NodeId> }
  >();

  constructor(
    private readonly ctx: Context,
    private readonly cluster: LedgerCluster,
    private readonly crypto: LedgerCrypto,
  ) {
    this.chain = new LedgerChain(cluster, crypto, this.voteOk);
  }

  executeBatch(requests: readonly AppRequest[], view: number, seq: number): Json[] {
    const transfers = requests.flatMap((r) => (r.command as unknown as LedgerCommand).transfers);
    if (transfers.length === 0) return requests.map(() => ({ height: 0, outcomes: [] }));
    const block = this.chain.execute(transfers, seq);
    const { height } = block.header;
    const hash = this.chain.pendingHash(height) as string;
    this.recent.push(hash);
    if (this.recent.length > RECENT_BLOCK_HASHES) this.recent.shift();
    this.ctx.note('block', { height, txs: transfers.length, view, seq });
    this.count(this.vote(height, hash));
    let at = 0;
    return requests.map((r) => {
      const count = (r.command as unknown as LedgerCommand).transfers.length;
      const outcomes = block.txs.slice(at, at + count).map((e) => e.outcome);
      at += count;
      return { height, outcomes } as Json;
    });
  }

  /** ⟨BLOCK, height, hash⟩σi to the others; remembered to answer latecomers (echo). */
  private vote(height: number, hash: string): Envelope {
    const vote = this.ctx.sign(BLOCK_VOTE, { height, hash });
    this.ownVotes.set(height, {
      vote: vote as Envelope<string, { hash: string }>,
      finalAt: null,
      echoed: new Set(),
    });
    this.ownVotes.delete(height - VOTE_MEMORY);
    this.ctx.broadcast(vote, { includeSelf: false });
    return vote;
  }

  onMessage(from: NodeId, message: Envelope): void {
    if (message.from !== from || !this.cluster.replicas.has(from)) return;
    this.count(message);
    this.echo(from, message);
  }

  /**
   * A replica that re-executes a block the others finalized long ago (it restarted) votes
   * alone: their votes went out while it was away. So a vote for a block this replica
   * finalized at least LATE_VOTE_MS ago, with the same hash, is answered once with this
   * replica's own vote — each late replica gathers its q votes. The last of n votes, which
   * normally arrives just after q others made the block final, is not answered: its sender
   * has every vote already. Own votes are remembered for the last VOTE_MEMORY heights.
   */
  private echo(from: NodeId, vote: Envelope): void {
    const body = vote.body as { height?: unknown; hash?: unknown };
    if (typeof body.height !== 'number' || body.height > this.chain.height) return;
    const mine = this.ownVotes.get(body.height);
    if (mine === undefined || mine.finalAt === null || mine.vote.body.hash !== body.hash) return;
    if (this.ctx.now() - mine.finalAt < LATE_VOTE_MS || mine.echoed.has(from)) return;
    mine.echoed.add(from);
    this.ctx.send(from, mine.vote);
  }

  /** The host's verifier: a vote it admitted is a cache hit, not a second ed25519 check. */
  private readonly voteOk = (vote: Envelope): boolean => this.ctx.verify(vote);

  private count(vote: Envelope): void {
    for (const block of this.chain.addVote(vote)) {
      const own = this.ownVotes.get(block.header.height);
      if (own !== undefined) own.finalAt = this.ctx.now();
      this.ctx.note('block-final', { height: block.header.height });
      this.ctx.output({ type: 'ledger-block', block } satisfies LedgerBlockOutput);
    }
  }

  snapshot(): Json {
    return {
      tip: this.chain.executedTip,
      accounts: this.chain.executedState.snapshot(),
      recent: [...this.recent],
    } as Json;
  }

  restore(snapshot: Json): void {
    const parsed = ledgerSnapshotSchema.parse(snapshot);
    const state = LedgerState.fromSnapshot(this.cluster, parsed.accounts);
    if (state === null) throw new Error('ledger snapshot: accounts are not the cluster’s');
    const executed = this.chain.executedHeight;
    this.chain = LedgerChain.resume(
      parsed.tip as BlockHeader | null,
      state,
      this.cluster,
      this.crypto,
      this.voteOk,
    );
    const height = parsed.tip?.height ?? 0;
    this.recent = [...parsed.recent];
    this.ctx.output({ type: 'ledger-resumed', height } satisfies LedgerResumedOutput);
    // The blocks this replica skipped may still wait for its vote: with f replicas that do not
    // vote, a block needs every correct replica's. The checkpoint names their hashes, and q
    // replicas signed it (f+1 correct ones executed those blocks), so vouch for them.
    const first = height - this.recent.length + 1;
    this.recent.forEach((hash, i) => {
      if (first + i > executed) this.vote(first + i, hash);
    });
  }
}
