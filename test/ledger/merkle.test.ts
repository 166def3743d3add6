import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/crypto/hash.js';
import { fromHex, toHex } from '../../src/crypto/hex.js';
import {
  leafHash,
  merklePath,
  merkleRoot,
  nodeHash,
  verifyMerklePath,
} from '../../src/ledger/merkle.js';

const leafArb = fc.uint8Array({ minLength: 0, maxLength: 40 });
const treeArb = fc.array(leafArb, { minLength: 1, maxLength: 40 });

describe('Merkle trees (RFC 6962)', () => {
  it('matches the Certificate Transparency reference roots for 0…8 leaves', () => {
    // The leaf inputs and roots of certificate-transparency's merkle_tree test vectors.
    const leaves = [
      '',
      '00',
      '10',
      '2021',
      '3031',
      '40414243',
      '5051525354555657',
      '606162636465666768696a6b6c6d6e6f',
    ].map(fromHex);
    const roots = [
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    for (const [n, root] of roots.entries())
      expect(toHex(merkleRoot(sha256, leaves.slice(0, n)))).toBe(root);
  });

  it('a leaf and an inner node with the same bytes hash differently (0x00 / 0x01 prefixes)', () => {
    const a = leafHash(sha256, new Uint8Array([1]));
    const b = leafHash(sha256, new Uint8Array([2]));
    const inner = new Uint8Array([...a, ...b]);
    expect(toHex(merkleRoot(sha256, [new Uint8Array([1]), new Uint8Array([2])]))).toBe(
      toHex(nodeHash(sha256, a, b)),
    );
    // Presenting the two child hashes as one leaf does not give the same root.
    expect(toHex(merkleRoot(sha256, [inner]))).not.toBe(toHex(nodeHash(sha256, a, b)));
  });

  it("every leaf's audit path verifies against the root", () => {
    fc.assert(
      fc.property(treeArb, (leaves) => {
        const root = merkleRoot(sha256, leaves);
        leaves.forEach((leaf, i) => {
          const path = merklePath(sha256, leaves, i);
          expect(path.length).toBeLessThanOrEqual(Math.ceil(Math.log2(leaves.length)));
          expect(verifyMerklePath(sha256, root, leaf, i, leaves.length, path)).toBe(true);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('a wrong leaf, a wrong index, a tampered path or a wrong root does not verify', () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), leafArb, fc.nat(), (leaves, pick, other, bit) => {
        const i = pick % leaves.length;
        const leaf = leaves[i]!;
        const root = merkleRoot(sha256, leaves);
        const path = merklePath(sha256, leaves, i);
        const n = leaves.length;
        if (toHex(other) !== toHex(leaf))
          expect(verifyMerklePath(sha256, root, other, i, n, path)).toBe(false);
        // Another index: only if that position holds the same bytes could it verify.
        const j = (i + 1 + (pick % Math.max(1, n - 1))) % n;
        if (j !== i && toHex(leaves[j]!) !== toHex(leaf))
          expect(verifyMerklePath(sha256, root, leaf, j, n, path)).toBe(false);
        if (path.length > 0) {
          const k = bit % path.length;
          const bad = path.map((p) => p.slice());
          bad[k]![bit % 32]! ^= 1 << (bit % 8);
          expect(verifyMerklePath(sha256, root, leaf, i, n, bad)).toBe(false);
          expect(verifyMerklePath(sha256, root, leaf, i, n, path.slice(1))).toBe(false);
        }
        const wrongRoot = root.slice();
        wrongRoot[0]! ^= 1;
        expect(verifyMerklePath(sha256, wrongRoot, leaf, i, n, path)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses out-of-range indices and sizes without throwing', () => {
    const leaves = [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])];
    const root = merkleRoot(sha256, leaves);
    const path = merklePath(sha256, leaves, 0);
    expect(verifyMerklePath(sha256, root, leaves[0]!, 3, 3, path)).toBe(false);
    expect(verifyMerklePath(sha256, root, leaves[0]!, -1, 3, path)).toBe(false);
    expect(verifyMerklePath(sha256, root, leaves[0]!, 0, 0, path)).toBe(false);
    expect(verifyMerklePath(sha256, root, leaves[0]!, 0.5, 3, path)).toBe(false);
    expect(() => merklePath(sha256, leaves, 3)).toThrow(RangeError);
  });
});
