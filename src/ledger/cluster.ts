/**
 * What the ledger needs from a cluster file: the cluster id (it is in every domain tag), the
 * replicas' public keys (they sign certificates), the clients' public keys (clients are the
 * accounts and sign transfers) and the certificate quorum.
 *
 * Browser-safe: this takes an already parsed cluster file (`ClusterFile` is only a type here;
 * loading one from disk is src/core/cluster-file.ts, which is Node-only) and re-checks what the
 * ledger's verdicts depend on, so a page that JSON.parses a cluster file gets the same answer.
 */
import type { ClusterFile } from '../core/cluster-file.js';
import { byzantineQuorum } from '../core/quorum.js';
import { fromHex } from '../crypto/hex.js';

export interface LedgerCluster {
  readonly clusterId: string;
  readonly n: number;
  readonly f: number;
  /**
   * Signatures a commit certificate needs: the Byzantine quorum ⌊(n+f)/2⌋+1 (2f+1 at n = 3f+1),
   * whatever protocol orders the blocks — an offline verifier trusts no replica's word.
   */
  readonly quorum: number;
  /** Replica id → 32-byte public key. */
  readonly replicas: ReadonlyMap<string, Uint8Array>;
  /** Account (client) id → 32-byte public key, in the cluster file's order. */
  readonly accounts: ReadonlyMap<string, Uint8Array>;
}

export class LedgerClusterError extends Error {
  override name = 'LedgerClusterError';
}

const ID = /^[a-z][a-z0-9_-]{0,31}$/;
const CLUSTER_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const KEY = /^[0-9a-f]{64}$/;

/** The parts of a cluster file the ledger uses; everything else is ignored. */
export type LedgerClusterInput = Pick<ClusterFile, 'clusterId' | 'n' | 'f' | 'nodes' | 'clients'>;

/** Throws `LedgerClusterError` on anything the ledger cannot rely on. */
export function ledgerCluster(file: LedgerClusterInput): LedgerCluster {
  const fail = (message: string): never => {
    throw new LedgerClusterError(`cluster file: ${message}`);
  };
  if (typeof file !== 'object' || file === null) fail('not an object');
  if (typeof file.clusterId !== 'string' || !CLUSTER_ID.test(file.clusterId))
    fail('clusterId is not a cluster id');
  if (!Array.isArray(file.nodes) || !Array.isArray(file.clients))
    fail('nodes and clients must be arrays');
  if (!Number.isSafeInteger(file.n) || file.n !== file.nodes.length || file.n > 64)
    fail(`n must equal the number of nodes (≤ 64)`);
  if (!Number.isSafeInteger(file.f) || file.f < 0 || file.f >= file.n)
    fail('f must be an integer with 0 ≤ f < n');
  if (file.clients.length > 1024) fail('more than 1024 clients');
  const seenKeys = new Set<string>();
  const members = (list: readonly { id: string; publicKey: string }[], what: string) => {
    const map = new Map<string, Uint8Array>();
    for (const m of list) {
      if (typeof m?.id !== 'string' || !ID.test(m.id)) fail(`a ${what} has an invalid id`);
      if (typeof m.publicKey !== 'string' || !KEY.test(m.publicKey))
        fail(`${what} ${m.id}: publicKey is not 32 bytes of lowercase hex`);
      if (map.has(m.id)) fail(`${what} id "${m.id}" appears twice`);
      if (seenKeys.has(m.publicKey)) fail(`${what} ${m.id}: public key used twice`);
      seenKeys.add(m.publicKey);
      map.set(m.id, fromHex(m.publicKey));
    }
    return map;
  };
  const replicas = members(file.nodes, 'node');
  const accounts = members(file.clients, 'client');
  for (const id of accounts.keys())
    if (replicas.has(id)) fail(`id "${id}" is both a node and a client`);
  return Object.freeze({
    clusterId: file.clusterId,
    n: file.n,
    f: file.f,
    quorum: byzantineQuorum(file.n, file.f),
    replicas,
    accounts,
  });
}
