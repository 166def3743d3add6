/**
 * The demo's clients: one per account, each a PBFT client in this process (ClientHost) that
 * signs transfers with its own key and relays them, `perRequest` at a time, with nonces
 * 1, 2, 3, … — one request outstanding, so its nonces arrive in order. The payee and amount
 * come from a seeded stream; amounts are small, so funds never run out. Every transfer's
 * outcome comes back in the reply (f+1 matching replies).
 */
import type { Logger } from 'pino';
import type { ClusterFile } from '../core/cluster-file.js';
import { makeSigner } from '../core/envelope.js';
import type { SecretKey } from '../core/keyfile.js';
import type { HostedKit, Params } from '../core/kit.js';
import { Rng } from '../core/rng.js';
import { fastBackend } from '../crypto/backends.js';
import type { Json } from '../crypto/json.js';
import type { LedgerResult } from '../ledger/app.js';
import { nodeLedgerCrypto } from '../ledger/node-crypto.js';
import { makeTransfer, type TransferEnvelope, txId } from '../ledger/tx.js';
import { ClientHost, RequestTimeout } from '../node/client-host.js';

export interface WorkloadOptions {
  file: ClusterFile;
  kit: HostedKit;
  keys: ReadonlyMap<string, SecretKey>;
  params: Params;
  perRequest: number;
  requestTimeoutMs: number;
  logger: Logger;
}

export interface WorkloadCounts {
  requests: number;
  applied: number;
  rejected: number;
  timeouts: number;
  /** A sample of applied transfer ids (for the dashboard's "prove" suggestions). */
  lastTxIds: string[];
}

export class TransferWorkload {
  readonly counts: WorkloadCounts = {
    requests: 0,
    applied: 0,
    rejected: 0,
    timeouts: 0,
    lastTxIds: [],
  };
  private readonly clients: ClientHost[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly options: WorkloadOptions) {
    for (const c of options.file.clients) {
      const key = options.keys.get(c.id);
      if (key === undefined) continue;
      this.clients.push(
        new ClientHost({
          file: options.file,
          id: c.id,
          key,
          kit: options.kit,
          params: options.params,
          logger: options.logger,
        }),
      );
    }
  }

  async waitConnected(timeoutMs: number): Promise<void> {
    await Promise.all(this.clients.map((c) => c.waitConnected(undefined, timeoutMs)));
  }

  start(): void {
    this.running = true;
    const accounts = this.options.file.clients.map((c) => c.id);
    this.loops = this.clients.map((client, i) => this.loop(client, accounts, i + 1));
  }

  /**
   * Stop issuing; wait for the requests in flight (their replies count), at most `graceMs` if
   * given: on a starved machine a request may take long, and close() abandons what is left.
   */
  async stop(graceMs?: number): Promise<void> {
    this.running = false;
    if (graceMs === undefined) {
      await Promise.all(this.loops);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.loops),
      new Promise<void>((r) => {
        timer = setTimeout(r, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients.map((c) => c.close()));
  }

  private async loop(client: ClientHost, accounts: string[], seed: number): Promise<void> {
    const rng = new Rng(seed, 7);
    const key = this.options.keys.get(client.id);
    if (key === undefined) return;
    const signer = makeSigner(client.id, key.seed, fastBackend);
    const others = accounts.filter((a) => a !== client.id);
    const { clusterId } = this.options.file;
    let nonce = 0;
    while (this.running) {
      const transfers: TransferEnvelope[] = [];
      for (let k = 0; k < this.options.perRequest; k++) {
        nonce++;
        const to = rng.pick(others);
        const amount = 1 + Math.floor(rng.next() * 9);
        transfers.push(
          makeTransfer(clusterId, signer, { from: client.id, to, amount, nonce }, nodeLedgerCrypto),
        );
      }
      let result: LedgerResult;
      try {
        result = (await client.request(
          { transfers } as unknown as Json,
          this.options.requestTimeoutMs,
        )) as unknown as LedgerResult;
      } catch (e) {
        if (!this.running) return; // stopping: close() abandoned the request
        if (!(e instanceof RequestTimeout)) throw e;
        // The request stays queued in the client core (it is retried until f+1 replies):
        // stop here rather than send later nonces behind it.
        this.counts.timeouts++;
        return;
      }
      this.counts.requests++;
      result.outcomes.forEach((outcome, i) => {
        if (outcome.status === 'applied') this.counts.applied++;
        else this.counts.rejected++;
        const tx = transfers[i];
        if (outcome.status === 'applied' && tx !== undefined && i === 0) this.remember(tx);
      });
    }
  }

  private remember(tx: TransferEnvelope): void {
    const ids = this.counts.lastTxIds;
    ids.push(txId(tx, nodeLedgerCrypto));
    if (ids.length > 16) ids.shift();
  }
}
