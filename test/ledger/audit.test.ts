import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DB_FILE } from '../../src/core/data-dir.js';
import { auditLedger } from '../../src/ledger/audit.js';
import { type BlockVote, signBlock } from '../../src/ledger/block.js';
import { nobleLedgerCrypto } from '../../src/ledger/crypto.js';
import { LedgerState } from '../../src/ledger/state.js';
import { LedgerStore, LedgerStoreError } from '../../src/ledger/store.js';
import { SqliteStore } from '../../src/node/storage.js';
import {
  crypto,
  forgeBlock,
  makeFixture,
  rewriteBlock,
  standardChain,
  storeBlocks,
  tamper,
} from './helpers.js';

const fx = makeFixture();
afterAll(() => fx.cleanup());
const std = standardChain(fx);
let counter = 0;

const template = storeBlocks(fx, std.blocks, 'template');

/** A fresh copy of the standard ledger in its own data dir (a file copy: no fsyncs). */
function stored(blocks = std.blocks): string {
  if (blocks !== std.blocks) return storeBlocks(fx, blocks, `data-${counter++}`);
  const data = join(fx.dir, `data-${counter++}`);
  mkdirSync(data, { mode: 0o700 });
  copyFileSync(join(template, DB_FILE), join(data, DB_FILE));
  return data;
}

function audit(data: string) {
  const ledger = LedgerStore.openReadOnly(data);
  const rows = ledger.read();
  ledger.close();
  return auditLedger(
    rows.map((r) => r.block),
    fx.file,
    crypto,
  );
}

describe('ledger store', () => {
  it('stores certified blocks and reads them back in height order', () => {
    const data = stored();
    const store = LedgerStore.open(data, fx.file.clusterId);
    expect(store.height()).toBe(5);
    const rows = store.read();
    expect(rows.map((r) => r.height)).toEqual([1, 2, 3, 4, 5]);
    expect(rows.map((r) => r.block)).toEqual(JSON.parse(JSON.stringify(std.blocks)));
    store.close();
  });

  it('is append-only: the next height, linked to the tip; no update, no delete', () => {
    const data = stored(std.blocks.slice(0, 2));
    const store = LedgerStore.open(data, fx.file.clusterId);
    expect(() => store.append(std.blocks[1]!)).toThrow(LedgerStoreError);
    expect(() => store.append(std.blocks[3]!)).toThrow(/expected block 3/);
    const other = forgeBlock(fx, std.blocks[0]!.header, [], std.blocks[0]!.header.stateHash);
    expect(() => store.append({ ...other, header: { ...other.header, height: 3 } })).toThrow(
      /does not link/,
    );
    store.append(std.blocks[2]!);
    store.close();
    const db = new Database(join(data, DB_FILE));
    expect(() => db.prepare("UPDATE ledger_blocks SET block = 'x' WHERE height = 1").run()).toThrow(
      /append-only/,
    );
    expect(() => db.prepare('DELETE FROM ledger_blocks').run()).toThrow(/append-only/);
    db.close();
    expect(() => LedgerStore.open(data, 'another-cluster')).toThrow(/belongs to cluster/);
  });

  it("shares the node's database file without disturbing the node's tables", () => {
    const data = join(fx.dir, 'shared-node');
    const node = new SqliteStore(data, { cluster: fx.file.clusterId, node: 'n0' });
    node.persist([['view', 3]]);
    const ledger = LedgerStore.open(data, fx.file.clusterId);
    for (const block of std.blocks) ledger.append(block);
    node.persist([['view', 4]]);
    ledger.close();
    node.close();
    const again = new SqliteStore(data, { cluster: fx.file.clusterId, node: 'n0' });
    expect(again.recovered?.get('view')).toBe(4);
    again.close();
    expect(audit(data)).toMatchObject({ ok: true, blocks: 5 });
    // A handle the node already has works too.
    const db = new Database(join(data, DB_FILE));
    expect(new LedgerStore(db, fx.file.clusterId).height()).toBe(5);
    db.close();
  });
});

describe('auditLedger', () => {
  it('passes on a genuine ledger, with either backend', () => {
    const data = stored();
    const result = audit(data);
    expect(result).toEqual({
      ok: true,
      blocks: 5,
      transactions: 14,
      applied: 6,
      rejected: 8,
      tipHash: std.chain.tipHash,
      balances: { c0: 999_750, c1: 1_000_310, c2: 999_940 },
    });
    expect(auditLedger(std.blocks, fx.file, nobleLedgerCrypto)).toEqual(result);
    expect(auditLedger([], fx.file, crypto)).toMatchObject({ ok: true, blocks: 0 });
  });

  it('a flipped byte anywhere in a stored block fails at that height', () => {
    const data = stored();
    const ledger = new Database(join(data, DB_FILE), { readonly: true });
    const text = (
      ledger.prepare('SELECT block FROM ledger_blocks WHERE height = 3').get() as {
        block: string;
      }
    ).block;
    ledger.close();
    const bytes = new TextEncoder().encode(text);
    const positions = Array.from({ length: 24 }, (_, i) => Math.floor((i * bytes.length) / 24));
    for (const pos of positions) {
      const copy = bytes.slice();
      copy[pos]! ^= 0x01;
      const flipped = new TextDecoder().decode(copy);
      let parsed: unknown;
      try {
        parsed = JSON.parse(flipped);
      } catch {
        parsed = flipped;
      }
      const blocks: unknown[] = [...std.blocks];
      blocks[2] = parsed;
      const result = auditLedger(blocks, fx.file, crypto);
      expect(result, `flip at byte ${pos} (${text.slice(pos - 10, pos + 10)})`).toMatchObject({
        ok: false,
        height: 3,
      });
    }
    // And through the database: an amount changed in place.
    rewriteBlock(data, 3, (block) => {
      (block.txs[4] as { tx: { body: { amount: number } } }).tx.body.amount = 301;
    });
    expect(audit(data)).toMatchObject({ ok: false, height: 3, problem: 'merkle' });
  });

  it('a stored row that is not JSON any more is reported as malformed', () => {
    const data = stored();
    tamper(data, (db) => {
      db.prepare('UPDATE ledger_blocks SET block = substr(block, 2) WHERE height = 2').run();
    });
    expect(audit(data)).toMatchObject({ ok: false, height: 2, problem: 'malformed' });
  });

  it('a removed transaction', () => {
    const data = stored();
    rewriteBlock(data, 2, (block) => {
      block.txs.splice(1, 1);
    });
    expect(audit(data)).toMatchObject({ ok: false, height: 2, problem: 'merkle' });
    const fixedCount = stored();
    rewriteBlock(fixedCount, 2, (block) => {
      block.txs.splice(1, 1);
      block.header.txCount = 3;
    });
    expect(audit(fixedCount)).toMatchObject({
      ok: false,
      height: 2,
      problem: 'merkle',
      reason: expect.stringMatching(/txRoot/),
    });
  });

  it('a forged certificate signature', () => {
    const data = stored();
    rewriteBlock(data, 4, (block) => {
      const vote = block.certificate[1]!;
      const last = vote.sig.at(-1) === '0' ? '1' : '0';
      (vote as { sig: string }).sig = vote.sig.slice(0, -1) + last;
    });
    expect(audit(data)).toMatchObject({
      ok: false,
      height: 4,
      problem: 'certificate',
      reason: expect.stringMatching(/invalid signature/),
    });
  });

  it('a short certificate (q − 1) and a duplicate signer', () => {
    const short = stored();
    rewriteBlock(short, 2, (block) => {
      block.certificate.pop();
    });
    expect(audit(short)).toMatchObject({
      ok: false,
      height: 2,
      problem: 'certificate',
      reason: '2 distinct signers, a certificate needs q = 3',
    });
    const dupe = stored();
    rewriteBlock(dupe, 5, (block) => {
      block.certificate[2] = block.certificate[0]!;
    });
    expect(audit(dupe)).toMatchObject({
      ok: false,
      height: 5,
      problem: 'certificate',
      reason: expect.stringMatching(/duplicate signer n0/),
    });
  });

  it('certificate votes from a non-replica or for another block', () => {
    const client = stored();
    rewriteBlock(client, 1, (block) => {
      block.certificate[0] = signBlock(fx.cluster, fx.signer('c0'), block.header, crypto);
    });
    expect(audit(client)).toMatchObject({
      ok: false,
      height: 1,
      problem: 'certificate',
      reason: expect.stringMatching(/not a replica/),
    });
    const reused = stored();
    rewriteBlock(reused, 2, (block) => {
      block.certificate[0] = std.blocks[0]!.certificate[0] as BlockVote;
    });
    expect(audit(reused)).toMatchObject({
      ok: false,
      height: 2,
      problem: 'certificate',
      reason: expect.stringMatching(/signed height 1/),
    });
  });

  it('a reordered block', () => {
    const data = stored();
    tamper(data, (db) => {
      db.exec(
        'UPDATE ledger_blocks SET height = -1 WHERE height = 2;' +
          'UPDATE ledger_blocks SET height = 2 WHERE height = 3;' +
          'UPDATE ledger_blocks SET height = 3 WHERE height = -1;',
      );
    });
    expect(audit(data)).toMatchObject({ ok: false, height: 2, problem: 'height' });
    // Renumbered to hide it: the link breaks instead.
    const renumbered = stored();
    rewriteBlock(renumbered, 3, (block) => {
      block.header.height = 2;
    });
    const blocks = LedgerStore.openReadOnly(renumbered);
    const rows = blocks.read().map((r) => r.block);
    blocks.close();
    expect(auditLedger([rows[0], rows[2]], fx.file, crypto)).toMatchObject({
      ok: false,
      height: 2,
      problem: 'link',
    });
  });

  it('a replayed transaction, even certified by a quorum, is caught by the replay', () => {
    const tip = std.blocks[4]!.header;
    const replay = forgeBlock(
      fx,
      tip,
      [{ tx: std.tx.a!, outcome: { status: 'applied' } }],
      tip.stateHash,
    );
    const result = auditLedger([...std.blocks, replay], fx.file, crypto);
    expect(result).toMatchObject({
      ok: false,
      height: 6,
      problem: 'tx-outcome',
      reason: expect.stringMatching(/recorded applied, replay says rejected \(bad-nonce\)/),
    });
    // Also an applied transfer with a bad signature.
    const forged = forgeBlock(
      fx,
      tip,
      [{ tx: std.tx.forged!, outcome: { status: 'applied' } }],
      tip.stateHash,
    );
    expect(auditLedger([...std.blocks, forged], fx.file, crypto)).toMatchObject({
      height: 6,
      problem: 'tx-outcome',
      reason: expect.stringMatching(/bad-signature/),
    });
  });

  it('a wrong balance (stateHash), even certified by a quorum', () => {
    const tip = std.blocks[4]!.header;
    const tx = fx.transfer('c0', 'c2', 7, 3);
    const wrong = forgeBlock(fx, tip, [{ tx, outcome: { status: 'applied' } }], tip.stateHash);
    expect(auditLedger([...std.blocks, wrong], fx.file, crypto)).toMatchObject({
      ok: false,
      height: 6,
      problem: 'state-hash',
    });
    // The same block with the right state hash audits.
    const state = std.chain.state;
    state.apply(fx.cluster, tx, crypto);
    const right = forgeBlock(
      fx,
      tip,
      [{ tx, outcome: { status: 'applied' } }],
      state.hash(fx.file.clusterId, crypto),
    );
    expect(auditLedger([...std.blocks, right], fx.file, crypto)).toMatchObject({
      ok: true,
      blocks: 6,
    });
  });

  it("another cluster's keys: the first link fails", () => {
    const other = makeFixture('other-cluster');
    try {
      expect(auditLedger(std.blocks, other.file, crypto)).toMatchObject({
        ok: false,
        height: 1,
        problem: 'link',
      });
      // Even with the same cluster id but different keys.
      const sameId = { ...other.file, clusterId: fx.file.clusterId };
      expect(auditLedger(std.blocks, sameId, crypto)).toMatchObject({ height: 1, problem: 'link' });
    } finally {
      other.cleanup();
    }
  });

  it('the genesis state is the documented one', () => {
    expect(LedgerState.genesis(fx.cluster).snapshot()).toEqual([
      ['c0', 1_000_000, 0],
      ['c1', 1_000_000, 0],
      ['c2', 1_000_000, 0],
    ]);
  });
});
