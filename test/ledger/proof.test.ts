import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nobleLedgerCrypto } from '../../src/ledger/crypto.js';
import { checkProof, proveTx, type TxProof } from '../../src/ledger/proof.js';
import { txId } from '../../src/ledger/tx.js';
import { crypto, makeFixture, standardChain } from './helpers.js';

const fx = makeFixture();
afterAll(() => fx.cleanup());
const std = standardChain(fx);
const id = fx.file.clusterId;

function proofOf(name: string): TxProof {
  const proof = proveTx(std.blocks, txId(std.tx[name]!, crypto), id, crypto);
  if (proof === null) throw new Error(`no proof for ${name}`);
  return JSON.parse(JSON.stringify(proof)) as TxProof;
}

describe('transaction proofs', () => {
  it('a genuine proof checks, in the browser backend (noble) as on node', () => {
    const proof = proofOf('e');
    expect(proof.header.height).toBe(3);
    expect(proof.merklePath).toMatchObject({ index: 4, size: 5 });
    const verdict = checkProof(proof, fx.file, nobleLedgerCrypto);
    expect(verdict).toMatchObject({
      ok: true,
      txId: txId(std.tx.e!, crypto),
      height: 3,
      outcome: { status: 'applied' },
      blockHash: std.blocks[3]!.header.prevHash,
    });
    expect(checkProof(proof, fx.file, crypto)).toEqual(verdict);
  });

  it('proves a rejection too, and prefers the applied occurrence of a replayed tx', () => {
    expect(checkProof(proofOf('poor'), fx.file, crypto)).toMatchObject({
      ok: true,
      outcome: { status: 'rejected', reason: 'insufficient-funds' },
    });
    // tx a is applied in block 1 and replayed (rejected) in block 2.
    expect(proofOf('a').header.height).toBe(1);
    expect(proveTx(std.blocks, '0'.repeat(64), id, crypto)).toBeNull();
    // Single-leaf and empty-sibling shapes: block 1 has 3 leaves (an unbalanced tree).
    for (const name of ['a', 'b', 'c', 'd', 'f', 'skip'])
      expect(checkProof(proofOf(name), fx.file, crypto).ok, name).toBe(true);
  });

  it('a tampered amount fails', () => {
    const proof = proofOf('e');
    proof.tx.body.amount = 3000;
    expect(checkProof(proof, fx.file, crypto)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not leaf 4/),
    });
  });

  it('a tampered outcome fails', () => {
    const proof = proofOf('poor');
    proof.outcome = { status: 'applied' };
    expect(checkProof(proof, fx.file, crypto).ok).toBe(false);
  });

  it('a tampered Merkle path fails (hash, index, size)', () => {
    const hash = proofOf('e');
    const first = hash.merklePath.path[0]!;
    hash.merklePath.path[0] = (first[0] === 'a' ? 'b' : 'a') + first.slice(1);
    expect(checkProof(hash, fx.file, crypto).ok).toBe(false);
    const index = proofOf('e');
    index.merklePath.index = 3;
    expect(checkProof(index, fx.file, crypto).ok).toBe(false);
    const size = proofOf('e');
    size.merklePath.size = 6;
    expect(checkProof(size, fx.file, crypto)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/5/),
    });
  });

  it('a tampered header fails (the certificate no longer signs it)', () => {
    const proof = proofOf('e');
    proof.header.stateHash = 'ab'.repeat(32);
    expect(checkProof(proof, fx.file, crypto)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^certificate: .*not this block/),
    });
    const height = proofOf('e');
    height.header.height = 4;
    expect(checkProof(height, fx.file, crypto).ok).toBe(false);
  });

  it('a tampered certificate fails (short, duplicate, forged signature)', () => {
    const short = proofOf('e');
    short.certificate.pop();
    expect(checkProof(short, fx.file, crypto)).toMatchObject({
      ok: false,
      reason: 'certificate: 2 distinct signers, a certificate needs q = 3',
    });
    const dupe = proofOf('e');
    dupe.certificate[1] = dupe.certificate[0]!;
    expect(checkProof(dupe, fx.file, crypto).ok).toBe(false);
    const forged = proofOf('e');
    const vote = forged.certificate[2]!;
    forged.certificate[2] = {
      ...vote,
      sig: vote.sig.slice(0, 60) + (vote.sig[60] === '0' ? '1' : '0') + vote.sig.slice(61),
    };
    expect(checkProof(forged, fx.file, crypto)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/invalid signature/),
    });
  });

  it("fails against another cluster's file, and for junk", () => {
    const other = makeFixture('other-ledger');
    try {
      expect(checkProof(proofOf('e'), other.file, crypto)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/cluster/),
      });
      const renamed = { ...proofOf('e'), clusterId: 'other-ledger' };
      expect(checkProof(renamed, other.file, crypto)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/^certificate:/),
      });
    } finally {
      other.cleanup();
    }
    expect(checkProof({ format: 'nope' }, fx.file, crypto)).toMatchObject({ ok: false });
    expect(checkProof(null, fx.file, crypto)).toMatchObject({ ok: false });
  });
});

/**
 * The modules a browser page loads to check a proof or audit a ledger: every import reachable
 * from them (type-only imports are erased) must be browser-safe — no node: modules, none of
 * the Node-only backends, no Node globals.
 */
describe('browser safety', () => {
  const root = resolve(import.meta.dirname, '../../src');
  const importRe = /^\s*import\s+(?!type\b)([^;]*?)\s+from\s+'([^']+)';/gms;
  const bareImportRe = /^\s*import\s+'([^']+)';/gm;

  function reachable(entry: string): Map<string, string[]> {
    const seen = new Map<string, string[]>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      const text = readFileSync(file, 'utf8');
      const specifiers: string[] = [];
      for (const m of text.matchAll(importRe)) {
        const clause = m[1]!;
        // `import { type A, type B } from` is erased entirely too.
        const named = /^\{([^}]*)\}$/s.exec(clause.trim());
        if (named && named[1]!.split(',').every((s) => s.trim() === '' || /^type\s/.test(s.trim())))
          continue;
        specifiers.push(m[2]!);
      }
      for (const m of text.matchAll(bareImportRe)) specifiers.push(m[1]!);
      seen.set(file, specifiers);
      for (const s of specifiers)
        if (s.startsWith('.')) visit(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
    };
    visit(entry);
    return seen;
  }

  for (const entry of ['ledger/proof.ts', 'ledger/audit.ts', 'ledger/chain.ts']) {
    it(`${entry} imports nothing Node-only`, () => {
      const graph = reachable(join(root, entry));
      const files = [...graph.keys()].map((f) => f.slice(root.length + 1));
      expect(files).toContain('crypto/ed25519.ts');
      for (const [file, specifiers] of graph) {
        const name = file.slice(root.length + 1);
        for (const s of specifiers) {
          expect(s, `${name} imports ${s}`).not.toMatch(/^node:/);
          expect(
            ['@noble/ed25519', '@noble/hashes', 'zod'].some((p) => s.startsWith(p)) ||
              s.startsWith('.'),
            `${name} imports ${s}`,
          ).toBe(true);
        }
        expect(files).not.toContain('crypto/hash-node.ts');
        expect(files).not.toContain('crypto/ed25519-node.ts');
        expect(files).not.toContain('core/envelope.ts');
        expect(files).not.toContain('core/cluster-file.ts');
        const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
        expect(code, `${name} uses a Node global`).not.toMatch(/\b(Buffer|process|require)\b/);
      }
    });
  }
});
