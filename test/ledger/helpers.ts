/**
 * Ledger test fixtures: a real cluster from keygen (4 replicas, f = 1, q = 3; 3 clients) in a
 * temp dir, signers from the key files, and a standard chain with applied and rejected
 * transfers of every kind, certified by the replicas' own votes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ClusterFile } from '../../src/core/cluster-file.js';
import { DB_FILE } from '../../src/core/data-dir.js';
import { makeSigner, type Signer } from '../../src/core/envelope.js';
import { readKeyFile } from '../../src/core/keyfile.js';
import { keygen } from '../../src/core/keygen.js';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { toHex } from '../../src/crypto/hex.js';
import type { Json } from '../../src/crypto/json.js';
import {
  type Block,
  type BlockHeader,
  type BlockVote,
  blockHash,
  type CertifiedBlock,
  certify,
  signBlock,
  txRoot,
} from '../../src/ledger/block.js';
import { LedgerChain } from '../../src/ledger/chain.js';
import { type LedgerCluster, ledgerCluster } from '../../src/ledger/cluster.js';
import { ledgerDigest } from '../../src/ledger/crypto.js';
import { nodeLedgerCrypto } from '../../src/ledger/node-crypto.js';
import type { Outcome } from '../../src/ledger/state.js';
import { LedgerStore } from '../../src/ledger/store.js';
import {
  makeTransfer,
  TRANSFER,
  type TransferBody,
  type TransferEnvelope,
} from '../../src/ledger/tx.js';

export const crypto = nodeLedgerCrypto;

export interface Fixture {
  dir: string;
  clusterPath: string;
  file: ClusterFile;
  cluster: LedgerCluster;
  signer(id: string): Signer;
  /** Sign a transfer as `signerId` without makeTransfer's client-side refusals. */
  raw(signerId: string, body: TransferBody, envelopeFrom?: string): TransferEnvelope;
  transfer(from: string, to: string, amount: number, nonce: number): TransferEnvelope;
  cleanup(): void;
}

export function makeFixture(clusterId = 'ledger-test'): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'bftkit-ledger-'));
  const keys = join(dir, 'keys');
  const file = keygen({
    nodes: 4,
    clients: 3,
    protocol: 'pbft',
    basePort: 7000,
    host: '127.0.0.1',
    out: keys,
    clusterId,
  });
  const cluster = ledgerCluster(file);
  const signers = new Map<string, Signer>();
  const signer = (id: string): Signer => {
    let s = signers.get(id);
    if (s === undefined) {
      s = makeSigner(id, readKeyFile(join(keys, `${id}.key`)).seed, nodeBackend);
      signers.set(id, s);
    }
    return s;
  };
  const raw = (signerId: string, body: TransferBody, envelopeFrom = signerId) => {
    const digest = ledgerDigest(crypto, file.clusterId, TRANSFER, body as unknown as Json);
    return {
      kind: TRANSFER,
      from: envelopeFrom,
      body,
      sig: toHex(signer(signerId).sign(digest)),
    } as TransferEnvelope;
  };
  return {
    dir,
    clusterPath: join(keys, 'cluster.json'),
    file,
    cluster,
    signer,
    raw,
    transfer: (from, to, amount, nonce) =>
      makeTransfer(file.clusterId, signer(from), { from, to, amount, nonce }, crypto),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const REPLICAS = ['n0', 'n1', 'n2', 'n3'];

/** Every replica votes for the block; returns what became final. */
export function voteAll(fx: Fixture, chain: LedgerChain, block: Block): CertifiedBlock[] {
  const done: CertifiedBlock[] = [];
  for (const id of REPLICAS)
    done.push(...chain.addVote(signBlock(fx.cluster, fx.signer(id), block.header, crypto)));
  return done;
}

export interface StandardChain {
  chain: LedgerChain;
  blocks: CertifiedBlock[];
  /** Transfers by name, for proofs and replays. */
  tx: Record<string, TransferEnvelope>;
}

/**
 * Five blocks: 1 three applied transfers; 2 one applied, a replay, a self-transfer, an unknown
 * recipient; 3 insufficient funds, a non-positive amount, a bad signature, a signer mismatch,
 * an applied one; 4 empty; 5 a wrong nonce and an applied one.
 */
export function standardChain(fx: Fixture): StandardChain {
  const t = fx.transfer;
  const tx: Record<string, TransferEnvelope> = {
    a: t('c0', 'c1', 100, 1),
    b: t('c1', 'c2', 50, 1),
    c: t('c2', 'c0', 10, 1),
    d: t('c0', 'c2', 200, 2),
    self: fx.raw('c1', { from: 'c1', to: 'c1', amount: 5, nonce: 2 }),
    unknownTo: fx.raw('c1', { from: 'c1', to: 'c9', amount: 5, nonce: 2 }),
    poor: t('c2', 'c0', 2_000_000, 2),
    zero: fx.raw('c2', { from: 'c2', to: 'c1', amount: 0, nonce: 2 }),
    forged: fx.raw('c1', { from: 'c0', to: 'c1', amount: 999, nonce: 3 }, 'c0'),
    mismatch: fx.raw('c1', { from: 'c0', to: 'c1', amount: 1, nonce: 3 }),
    e: t('c2', 'c1', 300, 2),
    skip: t('c0', 'c1', 1, 9),
    f: t('c1', 'c0', 40, 2),
  };
  const batches: TransferEnvelope[][] = [
    [tx.a!, tx.b!, tx.c!],
    [tx.d!, tx.a!, tx.self!, tx.unknownTo!],
    [tx.poor!, tx.zero!, tx.forged!, tx.mismatch!, tx.e!],
    [],
    [tx.skip!, tx.f!],
  ];
  const chain = new LedgerChain(fx.cluster, crypto);
  const blocks: CertifiedBlock[] = [];
  batches.forEach((batch, i) => {
    const block = chain.execute(batch, 10 + i * 3);
    blocks.push(...voteAll(fx, chain, block));
  });
  return { chain, blocks, tx };
}

/** Store blocks in `<dir>/data/state.db`; returns the data dir. */
export function storeBlocks(fx: Fixture, blocks: readonly CertifiedBlock[], name = 'data'): string {
  const data = join(fx.dir, name);
  const store = LedgerStore.open(data, fx.file.clusterId);
  for (const block of blocks) store.append(block);
  store.close();
  return data;
}

/** What an attacker with write access to the file can do: lift the triggers and rewrite. */
export function tamper(data: string, change: (db: Database.Database) => void): void {
  const db = new Database(join(data, DB_FILE));
  db.exec('DROP TRIGGER ledger_blocks_no_update; DROP TRIGGER ledger_blocks_no_delete;');
  change(db);
  db.close();
}

export function rewriteBlock(
  data: string,
  height: number,
  edit: (block: { header: BlockHeader; txs: unknown[]; certificate: BlockVote[] }) => void,
): void {
  tamper(data, (db) => {
    const row = db.prepare('SELECT block FROM ledger_blocks WHERE height = ?').get(height) as {
      block: string;
    };
    const block = JSON.parse(row.block);
    edit(block);
    db.prepare('UPDATE ledger_blocks SET block = ? WHERE height = ?').run(
      JSON.stringify(block),
      height,
    );
  });
}

/**
 * A block as a quorum of replicas that executed wrongly would certify it: consistent Merkle
 * root and a valid certificate, but outcomes and stateHash of the caller's choosing.
 */
export function forgeBlock(
  fx: Fixture,
  prev: BlockHeader,
  entries: { tx: TransferEnvelope; outcome: Outcome }[],
  stateHash: string,
  signers = REPLICAS.slice(0, 3),
): CertifiedBlock {
  const header: BlockHeader = {
    height: prev.height + 1,
    prevHash: blockHash(fx.file.clusterId, prev, crypto),
    txRoot: txRoot(entries, crypto),
    txCount: entries.length,
    stateHash,
    seq: prev.seq + 1,
  };
  const block: Block = { header, txs: entries };
  const votes = signers.map((id) => signBlock(fx.cluster, fx.signer(id), header, crypto));
  return certify(block, votes, fx.cluster, crypto);
}
