/**
 * Where a ledger replica's certified blocks go: the `ledger_blocks` table of its own
 * database file (`<data>/state.db`, ledger/store.ts), through a second connection so that the
 * block writes never wait behind, or get mixed into, the protocol's group commits.
 *
 * Blocks arrive in height order. A replica that restarted and caught up by state transfer
 * skips the blocks certified while it was down: it keeps executing and voting, but it cannot
 * store a block whose predecessor it lacks, so its stored ledger stops at the gap (and stays
 * auditable up to there). Fetching the missing blocks from a peer is not built yet.
 */
import type { Logger } from 'pino';
import type { LedgerBlockOutput } from '../ledger/app.js';
import { nodeLedgerCrypto } from '../ledger/node-crypto.js';
import { LedgerStore, LedgerStoreError } from '../ledger/store.js';

export class LedgerSink {
  private readonly store: LedgerStore;
  private stored: number;
  /** Certified blocks that could not be stored (a gap below them). */
  skipped = 0;

  constructor(
    dataDir: string,
    clusterId: string,
    private readonly log: Logger,
  ) {
    this.store = LedgerStore.open(dataDir, clusterId, nodeLedgerCrypto);
    this.stored = this.store.height();
  }

  /** Height of the last stored block. */
  get height(): number {
    return this.stored;
  }

  /** A core output: store it if it is a certified block. */
  onOutput(event: unknown): void {
    const e = event as Partial<LedgerBlockOutput> | null;
    if (e === null || typeof e !== 'object' || e.type !== 'ledger-block' || e.block === undefined)
      return;
    const { height } = e.block.header;
    if (height <= this.stored) return; // stored before a restart
    try {
      this.store.append(e.block);
      this.stored = height;
    } catch (error) {
      if (!(error instanceof LedgerStoreError)) throw error;
      if (this.skipped++ === 0)
        this.log.warn(
          { stored: this.stored, block: height, reason: error.message },
          'ledger gap: a certified block cannot be stored after the stored tip',
        );
    }
  }

  close(): void {
    this.store.close();
  }
}
