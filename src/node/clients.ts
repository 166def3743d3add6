/**
 * Clients for programs (the public API's KV and ledger clients): one authenticated client of
 * a running cluster, as the client whose key is given, over a ClientHost (client-host.ts) —
 * the same core and transport as `bftkit client` and the demo's clients. For PBFT a result is
 * accepted on f+1 matching signed replies; for Raft the client follows redirects to the leader.
 */

import { type ClusterFile, loadClusterFile } from '../core/cluster-file.js';
import { makeSigner, type Signer } from '../core/envelope.js';
import { readKeyFile, type SecretKey } from '../core/keyfile.js';
import type { Params } from '../core/kit.js';
import { fastBackend } from '../crypto/backends.js';
import type { Json } from '../crypto/json.js';
import type { LedgerResult } from '../ledger/app.js';
import { nodeLedgerCrypto } from '../ledger/node-crypto.js';
import { makeTransfer, type TransferEnvelope, txId } from '../ledger/tx.js';
import type { KvCommand, KvResult } from '../smr/kv.js';
import { ClientHost } from './client-host.js';
import { ClockStore } from './clock-store.js';
import { checkIdentity } from './identity.js';
import { parseOperation } from './kv-operation.js';
import { kitForCluster } from './registry.js';

export interface ClientOptions {
  /** The cluster file, or its path. */
  cluster: ClusterFile | string;
  /** The client's secret key, or the path of its key file (mode 0600). */
  key: SecretKey | string;
  /** Protocol parameters for the client core (its timeouts, …). */
  params?: Params;
  /** Per-request timeout in ms (default 10 000): the request then rejects with RequestTimeout. */
  timeoutMs?: number;
}

/** Request numbers start from the wall clock in microseconds (ClockStore), so that they exceed
 * those of any earlier client with the same key. */
async function openHost(
  o: ClientOptions,
): Promise<{ host: ClientHost; file: ClusterFile; key: SecretKey }> {
  const file = typeof o.cluster === 'string' ? loadClusterFile(o.cluster) : o.cluster;
  const key = typeof o.key === 'string' ? readKeyFile(o.key) : o.key;
  checkIdentity(file, key.id, key, 'client');
  const host = new ClientHost({
    file,
    id: key.id,
    key,
    kit: kitForCluster(file),
    ...(o.params === undefined ? {} : { params: o.params }),
    store: new ClockStore(file.protocol),
  });
  // Enough replicas to be answered: all but f (PBFT), or one to be redirected from (Raft).
  await host.waitConnected(file.protocol === 'raft' ? 1 : file.n - file.f, o.timeoutMs ?? 10_000);
  return { host, file, key };
}

/** A client of a KV cluster (`"app": "kv"`, PBFT or Raft): put, get and compare-and-set. */
export class KvClient {
  private constructor(
    private readonly host: ClientHost,
    private readonly timeoutMs: number,
  ) {}

  /** Connect to the cluster as the key's client (rejects if too few replicas answer). */
  static async open(options: ClientOptions): Promise<KvClient> {
    const { host } = await openHost(options);
    return new KvClient(host, options.timeoutMs ?? 10_000);
  }

  /** Set `key` to `value`. */
  put(key: string, value: string): Promise<KvResult> {
    return this.run('put', [key, value]);
  }

  /** The value of `key` (`value: null` when it is absent). */
  get(key: string): Promise<KvResult> {
    return this.run('get', [key]);
  }

  /** Set `key` to `to` if its value is `from` (null: absent); `ok: false` and the value if not. */
  cas(key: string, from: string | null, to: string): Promise<KvResult> {
    const command: KvCommand = { op: 'cas', key, from, to };
    return this.request(command);
  }

  close(): Promise<void> {
    return this.host.close();
  }

  private run(op: 'put' | 'get', args: string[]): Promise<KvResult> {
    return this.request(parseOperation(op, args));
  }

  private async request(command: KvCommand): Promise<KvResult> {
    return (await this.host.request(command, this.timeoutMs)) as KvResult;
  }
}

/** A transfer as committed: its id and the ledger's outcome for it. */
export interface TransferReceipt {
  txId: string;
  height: number;
  outcome: LedgerResult['outcomes'][number];
}

/**
 * A client of a ledger cluster (`"app": "ledger"`, PBFT): signs transfers from its own account
 * (the client id) and relays them. Nonces count up from `firstNonce` (default 1): the ledger
 * applies an account's transfers in nonce order, so give the next unused one.
 */
export class LedgerClient {
  private nonce: number;

  private constructor(
    private readonly host: ClientHost,
    private readonly file: ClusterFile,
    private readonly signer: Signer,
    private readonly timeoutMs: number,
    firstNonce: number,
  ) {
    this.nonce = firstNonce;
  }

  static async open(options: ClientOptions & { firstNonce?: number }): Promise<LedgerClient> {
    const { host, file, key } = await openHost(options);
    const signer = makeSigner(key.id, key.seed, fastBackend);
    return new LedgerClient(
      host,
      file,
      signer,
      options.timeoutMs ?? 10_000,
      options.firstNonce ?? 1,
    );
  }

  /**
   * Sign and submit one transfer of `amount` to account `to`; resolves once it is committed
   * (its outcome says whether it was applied). The nonce moves on only then: after a timeout
   * the next transfer reuses it, and the ledger applies at most one of the two.
   */
  async transfer(to: string, amount: number): Promise<TransferReceipt> {
    const body = { from: this.signer.id, to, amount, nonce: this.nonce };
    const tx: TransferEnvelope = makeTransfer(
      this.file.clusterId,
      this.signer,
      body,
      nodeLedgerCrypto,
    );
    const result = (await this.host.request(
      { transfers: [tx] } as unknown as Json,
      this.timeoutMs,
    )) as unknown as LedgerResult;
    this.nonce++;
    const outcome = result.outcomes[0];
    if (outcome === undefined) throw new Error('the ledger answered with no outcome');
    return { txId: txId(tx, nodeLedgerCrypto), height: result.height, outcome };
  }

  close(): Promise<void> {
    return this.host.close();
  }
}
