/**
 * Where a ledger replica's certified blocks go: the `ledger_blocks` table of its own
 * database file (`<data>/state.db`, ledger/store.ts), through a second connection so that the
 * block writes never wait behind, or get mixed into, the protocol's group commits.
 *
 * Blocks arrive in height order. A replica that restarted and caught up by state transfer
 * missed the blocks certified while it was down: the checkpoint it installs (the core says so
 * with a 'ledger-resumed' output), or the first certified block it cannot store, starts a
 * catch-up — fetch the missing blocks from the other
 * replicas (`GET /ledger/blocks?from=H`, served by every ledger node), verify each one fully
 * against the stored chain (links, Merkle root, certificate of q valid signatures, every
 * transaction replayed: `LedgerChain.append`), store it. A peer cannot make it store anything
 * that is not certified, and a peer that sends a bad block is skipped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ClusterFile } from '../core/cluster-file.js';
import { InputError } from '../core/errors.js';
import type { Json } from '../crypto/json.js';
import type { LedgerBlockOutput, LedgerResumedOutput } from '../ledger/app.js';
import { LedgerChain } from '../ledger/chain.js';
import { ledgerCluster } from '../ledger/cluster.js';
import { nodeLedgerCrypto } from '../ledger/node-crypto.js';
import { LedgerStore, LedgerStoreError } from '../ledger/store.js';

/** Blocks per GET /ledger/blocks answer, and the largest answer read (256-tx blocks). */
export const BLOCKS_PER_FETCH = 16;
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 5_000;
const RETRY_MS = 1_000;

export class LedgerSink {
  private readonly store: LedgerStore;
  private stored: number;
  /** The highest certified height this replica has seen (output by its core). */
  private wanted = 0;
  private catchingUp = false;
  private closed = false;
  /** Blocks fetched from peers and stored. */
  fetched = 0;

  constructor(
    dataDir: string,
    private readonly file: ClusterFile,
    private readonly self: string,
    private readonly log: Logger,
  ) {
    this.store = LedgerStore.open(dataDir, file.clusterId, nodeLedgerCrypto);
    this.stored = this.store.height();
  }

  /** Height of the last stored block. */
  get height(): number {
    return this.stored;
  }

  status(): Json {
    return {
      height: this.stored,
      certified: Math.max(this.wanted, this.stored),
      fetched: this.fetched,
    };
  }

  /** A core output: store it if it is the next certified block, else catch up to it. */
  onOutput(event: unknown): void {
    const resumed = event as Partial<LedgerResumedOutput> | null;
    if (resumed?.type === 'ledger-resumed' && typeof resumed.height === 'number') {
      // The core installed a checkpoint: the blocks up to its tip exist, certified, elsewhere.
      this.wanted = Math.max(this.wanted, resumed.height);
      if (this.wanted > this.stored && !this.catchingUp) void this.catchUp();
      return;
    }
    const e = event as Partial<LedgerBlockOutput> | null;
    if (e === null || typeof e !== 'object' || e.type !== 'ledger-block' || e.block === undefined)
      return;
    const { height } = e.block.header;
    this.wanted = Math.max(this.wanted, height);
    if (height <= this.stored) return; // stored before a restart, or fetched already
    if (height === this.stored + 1 && !this.catchingUp) {
      try {
        this.store.append(e.block);
        this.stored = height;
        return;
      } catch (error) {
        if (!(error instanceof LedgerStoreError)) throw error;
        this.log.error({ height, reason: error.message }, 'ledger: cannot store a certified block');
        return;
      }
    }
    if (!this.catchingUp) void this.catchUp();
  }

  /** GET /ledger/blocks?from=H[&limit=N]: stored blocks from height H on. */
  serveBlocks(query: URLSearchParams): Json {
    const from = decimal(query.get('from') ?? '1');
    const limit = decimal(query.get('limit') ?? String(BLOCKS_PER_FETCH));
    if (!Number.isSafeInteger(from) || from < 1)
      throw new InputError('from: expected a height ≥ 1');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > BLOCKS_PER_FETCH)
      throw new InputError(`limit: expected 1…${BLOCKS_PER_FETCH}`);
    return this.store.range(from, limit).map((r) => r.block) as Json;
  }

  close(): void {
    this.closed = true;
    this.store.close();
  }

  private async catchUp(): Promise<void> {
    this.catchingUp = true;
    const cluster = ledgerCluster(this.file);
    this.log.warn(
      { stored: this.stored, certified: this.wanted },
      'ledger: catching up from peers',
    );
    try {
      // The verifier: the stored chain replayed (every block checked again on the way).
      const chain = LedgerChain.fromBlocks(
        this.store.read().map((r) => r.block),
        cluster,
        nodeLedgerCrypto,
      );
      const peers = this.file.nodes.filter((n) => n.id !== this.self);
      let turn = 0;
      while (!this.closed && this.stored < this.wanted) {
        const peer = peers[turn++ % peers.length];
        if (peer === undefined) return;
        const before = this.stored;
        const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host;
        const blocks = await fetchBlocks(
          `http://${host}:${peer.port}/ledger/blocks?from=${this.stored + 1}&limit=${BLOCKS_PER_FETCH}`,
        );
        for (const block of blocks ?? []) {
          if (this.closed) return;
          try {
            const certified = chain.append(block);
            this.store.append(certified);
            this.stored = certified.header.height;
            this.fetched++;
          } catch (error) {
            this.log.warn(
              { peer: peer.id, height: this.stored + 1, reason: (error as Error).message },
              'ledger: refused a block from a peer',
            );
            break;
          }
        }
        if (this.stored === before && turn % peers.length === 0) await sleep(RETRY_MS);
      }
      if (!this.closed) this.log.info({ stored: this.stored }, 'ledger: caught up');
    } finally {
      this.catchingUp = false;
    }
  }
}

/** A peer's answer, read up to MAX_ANSWER_BYTES; null when there is none or it is not a list. */
async function fetchBlocks(url: string): Promise<unknown[] | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok || res.body === null) return null;
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_ANSWER_BYTES) {
        await reader.cancel();
        return null;
      }
      chunks.push(value);
    }
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** A count as people write it in a URL: decimal digits only ("0x10", "1.0", "1e3" are not). */
export function decimal(text: string): number {
  return /^(0|[1-9][0-9]{0,15})$/.test(text) ? Number(text) : Number.NaN;
}
