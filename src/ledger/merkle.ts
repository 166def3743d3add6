/**
 * Merkle trees as in RFC 6962 §2.1 (Certificate Transparency; restated in RFC 9162 §2.1):
 *
 *   MTH({})     = SHA-256()
 *   MTH({d0})   = SHA-256(0x00 ‖ d0)                                  leaf hash
 *   MTH(D[n])   = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))           node hash
 *                 with k the largest power of two smaller than n
 *
 * The 0x00 / 0x01 prefixes keep leaves and inner nodes apart: no leaf can be presented as an
 * inner node (a 64-byte "leaf" that is the concatenation of two child hashes) or vice versa.
 * An inclusion proof (audit path) for leaf m is RFC 6962's PATH(m, D[n]), checked with the
 * algorithm of RFC 9162 §2.1.3.2, which also pins the leaf's index and the tree size.
 *
 * Browser-safe; the hash function is a parameter.
 */
import { concatBytes } from './crypto.js';

export type Hash = (data: Uint8Array) => Uint8Array;

const LEAF = new Uint8Array([0x00]);
const NODE = new Uint8Array([0x01]);

export function leafHash(hash: Hash, data: Uint8Array): Uint8Array {
  return hash(concatBytes(LEAF, data));
}

export function nodeHash(hash: Hash, left: Uint8Array, right: Uint8Array): Uint8Array {
  return hash(concatBytes(NODE, left, right));
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function rootOfLeafHashes(hash: Hash, hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 1) return hashes[0]!;
  const k = split(hashes.length);
  return nodeHash(
    hash,
    rootOfLeafHashes(hash, hashes.slice(0, k)),
    rootOfLeafHashes(hash, hashes.slice(k)),
  );
}

/** MTH(leaves). */
export function merkleRoot(hash: Hash, leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return hash(new Uint8Array(0));
  return rootOfLeafHashes(
    hash,
    leaves.map((leaf) => leafHash(hash, leaf)),
  );
}

function pathOfLeafHashes(hash: Hash, m: number, hashes: readonly Uint8Array[]): Uint8Array[] {
  if (hashes.length <= 1) return [];
  const k = split(hashes.length);
  return m < k
    ? [...pathOfLeafHashes(hash, m, hashes.slice(0, k)), rootOfLeafHashes(hash, hashes.slice(k))]
    : [
        ...pathOfLeafHashes(hash, m - k, hashes.slice(k)),
        rootOfLeafHashes(hash, hashes.slice(0, k)),
      ];
}

/** PATH(index, leaves): the sibling hashes from the leaf up to the root. */
export function merklePath(hash: Hash, leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length)
    throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`);
  return pathOfLeafHashes(
    hash,
    index,
    leaves.map((leaf) => leafHash(hash, leaf)),
  );
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Does `path` prove that `leaf` is leaf number `index` of a tree of `size` leaves with root
 * `root`? RFC 9162 §2.1.3.2, step by step. Never throws.
 */
export function verifyMerklePath(
  hash: Hash,
  root: Uint8Array,
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size)) return false;
  if (index < 0 || index >= size || size > 2 ** 30 || path.length > 31) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash(hash, leaf);
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(hash, p, r);
      if (fn % 2 === 0) {
        // A right-most node with no right sibling at this level: climb until it is a right child.
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(hash, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}
