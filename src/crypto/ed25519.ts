/**
 * Ed25519 signatures (RFC 8032) under ONE verification rule, shared by every backend.
 *
 * RFC 8032 leaves verifiers room to differ (cofactored or not, strict or lax decoding), and
 * real libraries do differ: @noble's default follows ZIP-215, OpenSSL checks the cofactorless
 * equation. In a replicated system that is an attack surface: a Byzantine signer crafts a
 * signature that half the replicas accept and half reject, and the cluster splits. So every
 * backend first applies `checkVerificationRule` (below) and then the cofactorless equation
 * with an encoding comparison; `README.md` in this folder gives the reasons case by case.
 *
 * This file is the portable reference (@noble/ed25519) and must load in a browser: no node:
 * imports here. The node:crypto backend lives in `./ed25519-node.js`.
 */
import { etc, getPublicKey, hashes, Point, sign } from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

// noble's synchronous API needs a SHA-512 it can call; it ships without one to stay small.
hashes.sha512 = sha512;

export type SignatureBackend = {
  name: string;
  publicKey(secretSeed: Uint8Array): Uint8Array;
  sign(secretSeed: Uint8Array, message: Uint8Array): Uint8Array;
  /** Never throws: malformed input of any kind is simply not a valid signature. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
};

export type RuleVerdict = { ok: true } | { ok: false; reason: string };

/** L is the prime order of the base point B, p the field prime 2^255 - 19 (RFC 8032 §5.1). */
const { n: L, p: P } = Point.CURVE();

const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const POINT_BYTES = 32;

/** RFC 8032 encodes integers little-endian (§5.1.2). */
function littleEndianToBigInt(bytes: Uint8Array): bigint {
  return bytes.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

function bigIntToLittleEndian(value: bigint): Uint8Array {
  return etc.hexToBytes(value.toString(16).padStart(64, '0')).reverse();
}

// The range checks run on every verification, so they compare bytes instead of building
// bigints; these are the bounds they compare against, encoded once.
const L_BYTES = bigIntToLittleEndian(L);
const P_BYTES = bigIntToLittleEndian(P);
const Y_IS_ONE = bigIntToLittleEndian(1n);
const Y_IS_MINUS_ONE = bigIntToLittleEndian(P - 1n);

/** a < b for two little-endian integers of 32 bytes: the most significant byte decides first. */
function isLessThan(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const [x, y] = [a[i] ?? 0, b[i] ?? 0];
    if (x !== y) return x < y;
  }
  return false;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * The canonical encodings of the eight points of order dividing 8 (the torsion subgroup).
 * A signature whose R is one of them says nothing about the signer's secret; the only one the
 * cofactorless equation could still accept is the identity (S = k·a, which only the key's
 * owner can compute), so this list is a cheap byte-level guard, never the last line.
 * The tests rebuild this set from Point arithmetic to show it is complete and correct.
 */
const SMALL_ORDER_ENCODINGS = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity (0, 1)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2: (0, -1)
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4: y = 0
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4: y = 0, -x
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8, -x
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8, -x
];
const SMALL_ORDER_POINTS = SMALL_ORDER_ENCODINGS.map((encoding) => etc.hexToBytes(encoding));

/** Exported for the tests, which check it against Point arithmetic. */
export function smallOrderEncodings(): string[] {
  return [...SMALL_ORDER_ENCODINGS];
}

function isSmallOrderEncoding(bytes: Uint8Array): boolean {
  return SMALL_ORDER_POINTS.some((point) => equalBytes(point, bytes));
}

/**
 * A point encoding is 255 bits of y and one sign bit for x (§5.1.2). It is canonical when
 * y < p, and when the sign bit is clear for the two points with x = 0 (y = 1 and y = p - 1):
 * "-0 = 0", so a set sign bit there would be a second encoding of the same point. Accepting a
 * second encoding would let one signature exist in two byte forms, and would make SHA-512 in
 * the challenge k see different bytes for the same key.
 */
function isCanonicalPointEncoding(bytes: Uint8Array): boolean {
  const y = bytes.slice();
  y[31] = (y[31] ?? 0) & 0x7f;
  const xIsNegative = y[31] !== bytes[31];
  if (!isLessThan(y, P_BYTES)) return false;
  return !(xIsNegative && (equalBytes(y, Y_IS_ONE) || equalBytes(y, Y_IS_MINUS_ONE)));
}

/**
 * A Map that forgets its oldest entry when full. Both backends cache per-key work, and keys
 * can arrive from the network, so no cache may grow without bound.
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly capacity: number) {}

  getOrCreate(key: K, create: () => V): V {
    const known = this.#entries.get(key);
    if (known !== undefined) return known;
    const value = create();
    if (this.#entries.size >= this.capacity) this.#forgetOldest();
    this.#entries.set(key, value);
    return value;
  }

  #forgetOldest(): void {
    const oldest = this.#entries.keys().next();
    if (!oldest.done) this.#entries.delete(oldest.value);
  }
}

type KeyVerdict = { ok: true; point: Point } | { ok: false; reason: string };

/**
 * The public key A: canonical, on the curve, and in the prime-order subgroup. A small-order A
 * (8·A = identity) makes a signature that verifies for every message; an A with a torsion
 * component makes cofactored and cofactorless verifiers disagree. Honest keys are a·B, which
 * always passes. The subgroup check costs a full scalar multiplication, hence the cache.
 */
function judgePublicKey(publicKey: Uint8Array): KeyVerdict {
  if (!isCanonicalPointEncoding(publicKey)) {
    return { ok: false, reason: 'public key is not a canonical point encoding' };
  }
  let point: Point;
  try {
    point = Point.fromBytes(publicKey);
  } catch {
    return { ok: false, reason: 'public key is not a point on the curve' };
  }
  if (point.isSmallOrder()) return { ok: false, reason: 'public key has small order' };
  if (!point.isTorsionFree()) {
    return { ok: false, reason: 'public key is not in the prime-order subgroup' };
  }
  return { ok: true, point };
}

const keyVerdicts = new BoundedCache<string, KeyVerdict>(4096);

function judgePublicKeyCached(publicKey: Uint8Array): KeyVerdict {
  return keyVerdicts.getOrCreate(etc.bytesToHex(publicKey), () => judgePublicKey(publicKey));
}

type Checked = { ok: true; A: Point } | { ok: false; reason: string };

function applyRule(publicKey: unknown, signature: unknown): Checked {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    return { ok: false, reason: 'public key must be 32 bytes' };
  }
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
    return { ok: false, reason: 'signature must be 64 bytes' };
  }
  const R = signature.subarray(0, POINT_BYTES);
  // S ≥ L would give a second signature S + L for the same (R, message): malleability.
  if (!isLessThan(signature.subarray(POINT_BYTES), L_BYTES)) {
    return { ok: false, reason: 'S is not reduced modulo L' };
  }
  if (!isCanonicalPointEncoding(R)) return { ok: false, reason: 'R is not a canonical encoding' };
  if (isSmallOrderEncoding(R)) return { ok: false, reason: 'R has small order' };
  const key = judgePublicKeyCached(publicKey);
  return key.ok ? { ok: true, A: key.point } : key;
}

/**
 * The checks every backend applies before its signature equation: lengths, S < L, R canonical
 * and not of small order, A canonical and in the prime-order subgroup (cached per key).
 */
export function checkVerificationRule(publicKey: unknown, signature: unknown): RuleVerdict {
  const verdict = applyRule(publicKey, signature);
  return verdict.ok ? { ok: true } : verdict;
}

/**
 * Would the verification rule ever accept a signature under this public key? A cluster file,
 * keygen and a node refuse a key that fails here (small order, non-canonical, off the curve,
 * with a torsion component): every signature under it would be refused anyway.
 */
export function checkPublicKey(publicKey: Uint8Array): RuleVerdict {
  if (publicKey.length !== PUBLIC_KEY_BYTES)
    return { ok: false, reason: 'public key must be 32 bytes' };
  const verdict = judgePublicKeyCached(publicKey);
  return verdict.ok ? { ok: true } : verdict;
}

/** The challenge k = SHA-512(R ‖ A ‖ M) mod L (RFC 8032 §5.1.7 step 2). */
function challenge(R: Uint8Array, A: Uint8Array, message: Uint8Array): bigint {
  return littleEndianToBigInt(sha512(etc.concatBytes(R, A, message))) % L;
}

/**
 * The cofactorless equation, compared as bytes: encode([S]B - [k]A) == R. With A already in
 * the prime-order subgroup the left side is too, so an R carrying a torsion component (or a
 * second encoding) can never match. This is what OpenSSL computes, so both backends agree.
 */
function nobleVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!(message instanceof Uint8Array)) return false;
    const checked = applyRule(publicKey, signature);
    if (!checked.ok) return false;
    const R = signature.subarray(0, POINT_BYTES);
    const S = littleEndianToBigInt(signature.subarray(POINT_BYTES));
    const k = challenge(R, publicKey, message);
    const expectedR = Point.BASE.multiplyUnsafe(S).subtract(checked.A.multiplyUnsafe(k));
    return equalBytes(expectedR.toBytes(), R);
  } catch {
    return false;
  }
}

export const nobleBackend: SignatureBackend = {
  name: 'noble',
  publicKey: (secretSeed) => getPublicKey(secretSeed),
  sign: (secretSeed, message) => sign(message, secretSeed),
  verify: nobleVerify,
};
