import { afterAll, describe, expect, it } from 'vitest';
import { publicKeys } from '../../src/core/cluster-file.js';
import { envelopeDigest, KeyRing } from '../../src/core/envelope.js';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { toHex } from '../../src/crypto/hex.js';
import type { Json } from '../../src/crypto/json.js';
import { ledgerCommandSchema } from '../../src/ledger/app.js';
import {
  blockHash,
  certify,
  checkCertificate,
  genesisHash,
  makeBlock,
  signBlock,
} from '../../src/ledger/block.js';
import { ChainError, LedgerChain } from '../../src/ledger/chain.js';
import { LedgerClusterError, ledgerCluster } from '../../src/ledger/cluster.js';
import { ledgerDigest, nobleLedgerCrypto } from '../../src/ledger/crypto.js';
import { GENESIS_BALANCE, LedgerState } from '../../src/ledger/state.js';
import { makeTransfer, parseTransfer, TransferError, txId } from '../../src/ledger/tx.js';
import { crypto, makeFixture, REPLICAS, standardChain, voteAll } from './helpers.js';

const fx = makeFixture();
afterAll(() => fx.cleanup());
const std = standardChain(fx);

describe('ledger crypto', () => {
  it('ledgerDigest is envelopeDigest in the ledger domain, with either SHA-256', () => {
    const body: Json = { from: 'c0', to: 'c1', amount: 5, nonce: 1 };
    const domain = { cluster: fx.file.clusterId, protocol: 'ledger' };
    const expected = toHex(envelopeDigest(domain, 'TRANSFER', body));
    expect(toHex(ledgerDigest(crypto, fx.file.clusterId, 'TRANSFER', body))).toBe(expected);
    expect(toHex(ledgerDigest(nobleLedgerCrypto, fx.file.clusterId, 'TRANSFER', body))).toBe(
      expected,
    );
  });

  it('a transfer is a genuine signed Envelope: KeyRing verifies it in the ledger domain only', () => {
    const ring = new KeyRing(publicKeys(fx.file), nodeBackend);
    const tx = std.tx.a!;
    expect(ring.verify({ cluster: fx.file.clusterId, protocol: 'ledger' }, tx)).toBe(true);
    expect(ring.verify({ cluster: fx.file.clusterId, protocol: 'pbft' }, tx)).toBe(false);
    expect(ring.verify({ cluster: 'other', protocol: 'ledger' }, tx)).toBe(false);
    // And a block vote is an Envelope too.
    const vote = std.blocks[0]!.certificate[0]!;
    expect(ring.verify({ cluster: fx.file.clusterId, protocol: 'ledger' }, vote)).toBe(true);
  });

  it('noble and node give the same tx ids, block hashes and verdicts', () => {
    const tx = std.tx.a!;
    expect(txId(tx, nobleLedgerCrypto)).toBe(txId(tx, crypto));
    const header = std.blocks[1]!.header;
    expect(blockHash(fx.file.clusterId, header, nobleLedgerCrypto)).toBe(
      blockHash(fx.file.clusterId, header, crypto),
    );
    const cert = std.blocks[1]!.certificate;
    expect(checkCertificate(fx.cluster, header, cert, nobleLedgerCrypto)).toBeNull();
  });
});

describe('transactions', () => {
  it('makeTransfer refuses what could never be applied', () => {
    const signer = fx.signer('c0');
    const id = fx.file.clusterId;
    expect(() => makeTransfer(id, signer, { from: 'c0', to: 'c1', amount: 0, nonce: 1 })).toThrow(
      TransferError,
    );
    expect(() => makeTransfer(id, signer, { from: 'c0', to: 'c1', amount: -3, nonce: 1 })).toThrow(
      /positive/,
    );
    expect(() => makeTransfer(id, signer, { from: 'c0', to: 'c0', amount: 1, nonce: 1 })).toThrow(
      /oneself/,
    );
    expect(() => makeTransfer(id, signer, { from: 'c1', to: 'c0', amount: 1, nonce: 1 })).toThrow(
      /cannot sign/,
    );
    expect(() => makeTransfer(id, signer, { from: 'c0', to: 'c1', amount: 1.5, nonce: 1 })).toThrow(
      TransferError,
    );
    expect(() =>
      makeTransfer(id, signer, { from: 'c0', to: 'c1', amount: 2 ** 53, nonce: 1 }),
    ).toThrow(TransferError);
  });

  it('parseTransfer accepts only well-formed, bounded envelopes', () => {
    const tx = std.tx.a!;
    expect(parseTransfer(JSON.parse(JSON.stringify(tx)))).toEqual(tx);
    expect(parseTransfer({ ...tx, extra: 1 })).toBeNull();
    expect(parseTransfer({ ...tx, kind: 'REQUEST' })).toBeNull();
    expect(parseTransfer({ ...tx, sig: tx.sig.toUpperCase() })).toBeNull();
    expect(parseTransfer({ ...tx, body: { ...tx.body, to: 'x'.repeat(33) } })).toBeNull();
    expect(parseTransfer({ ...tx, body: { ...tx.body, nonce: 0 } })).toBeNull();
    expect(parseTransfer({ ...tx, body: { ...tx.body, amount: '5' } })).toBeNull();
  });

  it('the tx id is the hex SHA-256 of the canonical signed envelope', () => {
    const tx = std.tx.a!;
    const canonicalText = `{"body":{"amount":100,"from":"c0","nonce":1,"to":"c1"},"from":"c0","kind":"TRANSFER","sig":"${tx.sig}"}`;
    expect(txId(tx, crypto)).toBe(toHex(crypto.sha256(new TextEncoder().encode(canonicalText))));
  });
});

describe('state and blocks', () => {
  it('genesis gives every client of the cluster file the genesis balance', () => {
    const state = LedgerState.genesis(fx.cluster);
    for (const id of ['c0', 'c1', 'c2']) {
      expect(state.balance(id)).toBe(GENESIS_BALANCE);
      expect(state.nextNonce(id)).toBe(1);
    }
    expect(state.balance('n0')).toBeUndefined();
  });

  it('records every outcome with its reason and applies only the valid transfers', () => {
    const outcomes = std.blocks.map((b) =>
      b.txs.map((e) => (e.outcome.status === 'applied' ? 'applied' : e.outcome.reason)),
    );
    expect(outcomes).toEqual([
      ['applied', 'applied', 'applied'],
      ['applied', 'bad-nonce', 'self-transfer', 'unknown-recipient'],
      ['insufficient-funds', 'non-positive-amount', 'bad-signature', 'signer-mismatch', 'applied'],
      [],
      ['bad-nonce', 'applied'],
    ]);
    const state = std.chain.state;
    expect([state.balance('c0'), state.balance('c1'), state.balance('c2')]).toEqual([
      999_750, 1_000_310, 999_940,
    ]);
    expect([state.nextNonce('c0'), state.nextNonce('c1'), state.nextNonce('c2')]).toEqual([
      3, 3, 3,
    ]);
  });

  it('blocks chain from the genesis hash; the state hash is canonical', () => {
    const [b1, b2] = std.blocks;
    expect(b1!.header.prevHash).toBe(genesisHash(fx.cluster, crypto));
    expect(b2!.header.prevHash).toBe(blockHash(fx.file.clusterId, b1!.header, crypto));
    // Same balances reached in another order of applying: same hash.
    const s1 = LedgerState.genesis(fx.cluster);
    const s2 = LedgerState.genesis(fx.cluster);
    s1.apply(fx.cluster, std.tx.a!, crypto);
    s1.apply(fx.cluster, std.tx.b!, crypto);
    s2.apply(fx.cluster, std.tx.b!, crypto);
    s2.apply(fx.cluster, std.tx.a!, crypto);
    expect(s1.hash(fx.file.clusterId, crypto)).toBe(s2.hash(fx.file.clusterId, crypto));
    expect(s1.hash(fx.file.clusterId, crypto)).not.toBe(
      LedgerState.genesis(fx.cluster).hash(fx.file.clusterId, crypto),
    );
  });

  it('makeBlock is pure; malformed transfers never reach it (admission refuses them)', () => {
    const state = LedgerState.genesis(fx.cluster);
    const before = state.hash(fx.file.clusterId, crypto);
    const { block, state: after } = makeBlock(null, [std.tx.a!], state, 1, fx.cluster, crypto);
    expect(state.hash(fx.file.clusterId, crypto)).toBe(before);
    expect(after.balance('c0')).toBe(GENESIS_BALANCE - 100);
    expect(block.header.height).toBe(1);
    const junk = { ...std.tx.a!, body: { nope: 1 } };
    expect(ledgerCommandSchema.safeParse({ transfers: [std.tx.a!] }).success).toBe(true);
    expect(ledgerCommandSchema.safeParse({ transfers: [junk] }).success).toBe(false);
    expect(() => makeBlock(block.header, [], after, 1, fx.cluster, crypto)).toThrow(/seq/);
  });

  it('certify keeps q valid distinct replica votes and refuses fewer', () => {
    const state = LedgerState.genesis(fx.cluster);
    const { block } = makeBlock(null, [std.tx.a!], state, 1, fx.cluster, crypto);
    const votes = REPLICAS.map((id) => signBlock(fx.cluster, fx.signer(id), block.header, crypto));
    const client = signBlock(fx.cluster, fx.signer('c0'), block.header, crypto);
    const forged = { ...votes[3]!, sig: votes[2]!.sig };
    const certified = certify(
      block,
      [client, forged, votes[1]!, votes[1]!, votes[0]!, votes[2]!],
      fx.cluster,
      crypto,
    );
    expect(certified.certificate.map((v) => v.from)).toEqual(['n0', 'n1', 'n2']);
    expect(() =>
      certify(block, [client, forged, votes[0]!, votes[0]!, votes[1]!], fx.cluster, crypto),
    ).toThrow(/2 valid votes, q = 3/);
  });

  it('a cluster the ledger cannot rely on is refused', () => {
    expect(() => ledgerCluster({ ...fx.file, n: 5 })).toThrow(LedgerClusterError);
    const dupe = { ...fx.file, clients: [...fx.file.clients, fx.file.clients[0]!] };
    expect(() => ledgerCluster(dupe)).toThrow(/twice/);
  });
});

describe('LedgerChain', () => {
  it('executes ahead of certificates and finalizes strictly in height order', () => {
    const chain = new LedgerChain(fx.cluster, crypto);
    const b1 = chain.execute([std.tx.a!], 1);
    const b2 = chain.execute([std.tx.b!], 2);
    expect(chain.executedHeight).toBe(2);
    expect(chain.height).toBe(0);
    expect(chain.executedState.balance('c2')).toBe(GENESIS_BALANCE + 50);
    // Block 2 gathers its votes first: nothing is final until block 1 is.
    expect(voteAll(fx, chain, b2)).toEqual([]);
    const done = voteAll(fx, chain, b1);
    expect(done.map((b) => b.header.height)).toEqual([1, 2]);
    expect(chain.height).toBe(2);
  });

  it('keeps votes that arrive before the block is executed', () => {
    // Another replica executed block 1 first and its votes arrive early.
    const ahead = new LedgerChain(fx.cluster, crypto);
    const b1 = ahead.execute([std.tx.a!], 1);
    const chain = new LedgerChain(fx.cluster, crypto);
    // A forged early vote in n1's name must not take the slot of n1's genuine vote.
    const genuine = signBlock(fx.cluster, fx.signer('n1'), b1.header, crypto);
    const n3 = signBlock(fx.cluster, fx.signer('n3'), b1.header, crypto);
    expect(chain.addVote({ ...genuine, sig: n3.sig })).toEqual([]);
    for (const id of ['n1', 'n2'])
      expect(chain.addVote(signBlock(fx.cluster, fx.signer(id), b1.header, crypto))).toEqual([]);
    chain.execute([std.tx.a!], 1);
    const done = chain.addVote(signBlock(fx.cluster, fx.signer('n0'), b1.header, crypto));
    expect(done.map((b) => b.header.height)).toEqual([1]);
  });

  it('ignores votes for another block, from non-replicas, and duplicates', () => {
    const chain = new LedgerChain(fx.cluster, crypto);
    const b1 = chain.execute([std.tx.a!], 1);
    const other = makeBlock(
      null,
      [std.tx.b!],
      LedgerState.genesis(fx.cluster),
      1,
      fx.cluster,
      crypto,
    ).block;
    for (const id of REPLICAS)
      chain.addVote(signBlock(fx.cluster, fx.signer(id), other.header, crypto));
    chain.addVote(signBlock(fx.cluster, fx.signer('c0'), b1.header, crypto));
    chain.addVote(signBlock(fx.cluster, fx.signer('c1'), b1.header, crypto));
    const n0 = signBlock(fx.cluster, fx.signer('n0'), b1.header, crypto);
    chain.addVote(n0);
    chain.addVote(n0);
    expect(chain.addVote(signBlock(fx.cluster, fx.signer('n1'), b1.header, crypto))).toEqual([]);
    expect(chain.height).toBe(0);
    expect(chain.addVote({ junk: true })).toEqual([]);
  });

  it('rebuilds from blocks with full verification, and detects a diverged replica', () => {
    const copy = LedgerChain.fromBlocks(std.blocks, fx.cluster, crypto);
    expect(copy.tipHash).toBe(std.chain.tipHash);
    expect(copy.state.hash(fx.file.clusterId, crypto)).toBe(
      std.chain.state.hash(fx.file.clusterId, crypto),
    );
    const diverged = new LedgerChain(fx.cluster, crypto);
    diverged.execute([std.tx.b!], 10);
    expect(() => diverged.append(std.blocks[0])).toThrow(ChainError);
    const behind = new LedgerChain(fx.cluster, crypto);
    behind.execute([std.tx.a!, std.tx.b!, std.tx.c!], 10);
    expect(behind.append(std.blocks[0]).header.height).toBe(1);
    expect(() => behind.append(std.blocks[2])).toThrow(/height/);
  });
});
