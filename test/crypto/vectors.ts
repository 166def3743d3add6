/**
 * Test vectors for ed25519: the three RFC 8032 §7.1 vectors, and crafted ones that probe the
 * places where verifiers disagree. The crafted ones are built from a fixed seed with noble's
 * Point arithmetic, so they are the same on every run; each states what it is, why our rule
 * judges it so (`expected`), and what noble's default ZIP-215 (cofactored) verify says
 * (`zip215`). Wherever `zip215` and `expected` differ, a cluster mixing the two rules could be
 * split by the signer of that vector.
 */
import { etc, Point, utils } from '@noble/ed25519';
import { nobleBackend, smallOrderEncodings } from '../../src/crypto/ed25519.js';
import { sha512 } from '../../src/crypto/hash.js';

export type RfcVector = {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
};

/** RFC 8032 §7.1, Ed25519 TEST 1, 2 and 3. */
export const rfc8032Vectors: RfcVector[] = [
  {
    name: 'TEST 1 (empty message)',
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155' +
      '5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
      '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two bytes)',
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac' +
      '18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

export type CraftedVector = {
  name: string;
  why: string;
  publicKey: string;
  message: string;
  signature: string;
  /** Our rule's verdict, which both backends must return. */
  expected: boolean;
  /** The verdict of noble's default `verify` (ZIP-215, cofactored). */
  zip215: boolean;
};

const L = Point.CURVE().n;
const P = Point.CURVE().p;

const hex = etc.bytesToHex;
const utf8 = (text: string) => new TextEncoder().encode(text);

function littleEndian32(value: bigint): Uint8Array {
  const bytes = new Uint8Array(32);
  for (let i = 0, v = value; i < 32; i++, v >>= 8n) bytes[i] = Number(v & 0xffn);
  return bytes;
}

function fromLittleEndian(bytes: Uint8Array): bigint {
  return bytes.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

function scalarFromHash(...parts: Uint8Array[]): bigint {
  return etc.mod(fromLittleEndian(sha512(etc.concatBytes(...parts))), L);
}

/** k = SHA-512(R ‖ A ‖ M) mod L over the exact bytes a verifier sees (RFC 8032 §5.1.7). */
const challenge = (R: Uint8Array, A: Uint8Array, message: Uint8Array) =>
  scalarFromHash(R, A, message);

function signature(R: Uint8Array, S: bigint): Uint8Array {
  return etc.concatBytes(R, littleEndian32(S));
}

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] ?? 0) ^ 1;
  return copy;
}

/** The first y ≥ 2 for which x² = (y² - 1)/(d·y² + 1) has no root: bytes that are no point. */
function firstNonPoint(): Uint8Array {
  for (let y = 2n; ; y++) {
    const bytes = littleEndian32(y);
    try {
      Point.fromBytes(bytes);
    } catch {
      return bytes;
    }
  }
}

/** A fixed signer: a = its secret scalar, prefix = the nonce key of RFC 8032 §5.1.5. */
const seed = etc.hexToBytes('42'.repeat(32));
const { scalar: a, prefix, pointBytes: A } = utils.getExtendedPublicKey(seed);
const M = utf8('bftkit crafted vector');
const validSignature = nobleBackend.sign(seed, M);
const R = validSignature.subarray(0, 32);
const S = fromLittleEndian(validSignature.subarray(32));

/** The RFC nonce for a message; crafted signatures reuse it so they are deterministic. */
const nonce = (message: Uint8Array) => scalarFromHash(prefix, message);

const order8 = Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');

/** (R = [s]B, S = s): for a small-order A the cofactored equation [8]([S]B - R - [k]A) = 0 holds. */
function smallOrderKeySignature(): Uint8Array {
  const s = nonce(M);
  return signature(Point.BASE.multiply(s).toBytes(), s);
}

/** S = k·a with the given R bytes: [S]B - [k]A is the identity, whatever R claims to be. */
function identityEquationSignature(Rbytes: Uint8Array): Uint8Array {
  return signature(Rbytes, etc.mod(challenge(Rbytes, A, M) * a, L));
}

/** A' = A + T8 signed honestly with a: cofactored-valid, cofactorless-valid iff k ≡ 0 (mod 8). */
function torsionKeyCase(kIsMultipleOf8: boolean) {
  const twistedKey = Point.fromBytes(A).add(order8).toBytes();
  for (let counter = 0; ; counter++) {
    const message = utf8(`bftkit torsion key ${counter}`);
    const r = nonce(message);
    const Rbytes = Point.BASE.multiply(r).toBytes();
    const k = challenge(Rbytes, twistedKey, message);
    if ((k % 8n === 0n) === kIsMultipleOf8) {
      return { twistedKey, message, sig: signature(Rbytes, etc.mod(r + k * a, L)) };
    }
  }
}

/** R' = R + T8, S recomputed for the new challenge: cofactored-valid, cofactorless-invalid. */
function torsionNonceSignature(): Uint8Array {
  const r = nonce(M);
  const twistedR = Point.BASE.multiply(r).add(order8).toBytes();
  return signature(twistedR, etc.mod(r + challenge(twistedR, A, M) * a, L));
}

type VectorSpec = Omit<CraftedVector, 'publicKey' | 'message' | 'signature'> & {
  publicKey?: Uint8Array;
  message?: Uint8Array;
  signature?: Uint8Array;
};

/** Fills in the fixed signer's key, message and valid signature for whatever is not crafted. */
function vector(spec: VectorSpec): CraftedVector {
  return {
    ...spec,
    publicKey: hex(spec.publicKey ?? A),
    message: hex(spec.message ?? M),
    signature: hex(spec.signature ?? validSignature),
  };
}

function smallOrderKeyVectors(): CraftedVector[] {
  return smallOrderEncodings().map((encoding, i) =>
    vector({
      name: `small-order A #${i} (${encoding.slice(0, 8)}…)`,
      why: '8·A = identity: (R = [s]B, S = s) verifies cofactored for every message',
      publicKey: etc.hexToBytes(encoding),
      signature: smallOrderKeySignature(),
      expected: false,
      zip215: true,
    }),
  );
}

function smallOrderNonceVectors(): CraftedVector[] {
  return smallOrderEncodings().map((encoding, i) =>
    vector({
      name: `small-order R #${i} (${encoding.slice(0, 8)}…)`,
      why: 'R of order ≤ 8 with S = k·a: cofactored-valid with no real nonce; rejected by the R check',
      signature: identityEquationSignature(etc.hexToBytes(encoding)),
      expected: false,
      zip215: true,
    }),
  );
}

/** The identity (0, 1) written with y = p + 1: y ≥ p, a second encoding of a real point. */
const identityAsPPlus1 = littleEndian32(P + 1n);
/** The order-4 point with y = 0, written as y = p. */
const order4AsP = littleEndian32(P);
/** The identity with its sign bit set: x = 0 has no sign, so "-0" is non-canonical. */
const identityNegativeZero = etc.hexToBytes(`01${'00'.repeat(30)}80`);
/** (0, -1) of order 2 with its sign bit set. */
const order2NegativeZero = etc.hexToBytes(`ec${'ff'.repeat(31)}`);

function wrongLengthVectors(): CraftedVector[] {
  const cases: [string, Partial<VectorSpec>][] = [
    ['31-byte key', { publicKey: A.subarray(0, 31) }],
    ['33-byte key', { publicKey: etc.concatBytes(A, Uint8Array.of(0)) }],
    ['empty key', { publicKey: new Uint8Array() }],
    ['63-byte sig', { signature: validSignature.subarray(0, 63) }],
    ['65-byte sig', { signature: etc.concatBytes(validSignature, Uint8Array.of(0)) }],
    ['empty sig', { signature: new Uint8Array() }],
  ];
  return cases.map(([name, parts]) =>
    vector({
      name,
      why: 'wrong length: rejected before anything else',
      ...parts,
      expected: false,
      zip215: false,
    }),
  );
}

export function craftedVectors(): CraftedVector[] {
  const splitKey = torsionKeyCase(false);
  const hiddenKey = torsionKeyCase(true);
  return [
    vector({
      name: 'valid',
      why: 'an honest signature from the fixed seed',
      expected: true,
      zip215: true,
    }),
    vector({
      name: 'wrong message',
      why: 'a valid signature, one letter of the message changed',
      message: utf8('bftkit crafted vectoR'),
      expected: false,
      zip215: false,
    }),
    vector({
      name: 'other key',
      why: 'a valid signature by another seed, checked against A',
      signature: nobleBackend.sign(etc.hexToBytes('43'.repeat(32)), M),
      expected: false,
      zip215: false,
    }),
    vector({
      name: 'flipped bit in R',
      why: 'lowest bit of R flipped: the equation fails',
      signature: flipBit(validSignature, 0),
      expected: false,
      zip215: false,
    }),
    vector({
      name: 'flipped bit in S',
      why: 'lowest bit of S flipped: the equation fails',
      signature: flipBit(validSignature, 32),
      expected: false,
      zip215: false,
    }),
    vector({
      name: 'S + L',
      why: 'the valid S plus L: equal mod L, a second form of the same signature (malleability)',
      signature: signature(R, S + L),
      expected: false,
      zip215: false,
    }),
    vector({
      name: 'S = L',
      why: 'S must be < L: L itself is out of range',
      signature: signature(R, L),
      expected: false,
      zip215: false,
    }),
    vector({
      name: 'S = L + 1',
      why: 'S ≥ L: rejected before any curve arithmetic',
      signature: signature(R, L + 1n),
      expected: false,
      zip215: false,
    }),
    vector({
      name: 'S top bits set',
      why: 'the three high bits of S set: S ≥ 2^253 > L',
      signature: etc.concatBytes(validSignature.subarray(0, 63), Uint8Array.of(0xe0)),
      expected: false,
      zip215: false,
    }),
    vector({
      name: 'A: y = p + 1',
      why: 'the identity as a key, encoded with y ≥ p: non-canonical (and small order)',
      publicKey: identityAsPPlus1,
      signature: smallOrderKeySignature(),
      expected: false,
      zip215: true,
    }),
    vector({
      name: 'A: y = p',
      why: 'the order-4 point y = 0 as a key, encoded as y = p: non-canonical',
      publicKey: order4AsP,
      signature: smallOrderKeySignature(),
      expected: false,
      zip215: true,
    }),
    vector({
      name: 'A: -0 identity',
      why: 'the identity with its sign bit set: x = 0 has only one encoding',
      publicKey: identityNegativeZero,
      signature: smallOrderKeySignature(),
      expected: false,
      zip215: true,
    }),
    vector({
      name: 'A: -0 order 2',
      why: '(0, -1) with its sign bit set: non-canonical',
      publicKey: order2NegativeZero,
      signature: smallOrderKeySignature(),
      expected: false,
      zip215: true,
    }),
    vector({
      name: 'A: not a point',
      why: 'a y for which no x exists: not on the curve',
      publicKey: firstNonPoint(),
      expected: false,
      zip215: false,
    }),
    ...smallOrderKeyVectors(),
    vector({
      name: 'A + T8, k ≢ 0 mod 8',
      why: 'torsion in A, honestly signed: cofactored accepts, cofactorless rejects — a split',
      publicKey: splitKey.twistedKey,
      message: splitKey.message,
      signature: splitKey.sig,
      expected: false,
      zip215: true,
    }),
    vector({
      name: 'A + T8, k ≡ 0 mod 8',
      why: 'torsion in A where even the cofactorless equation holds: only the subgroup check stops it',
      publicKey: hiddenKey.twistedKey,
      message: hiddenKey.message,
      signature: hiddenKey.sig,
      expected: false,
      zip215: true,
    }),
    vector({
      name: 'R: y = p + 1',
      why: 'the identity as R encoded with y ≥ p, S = k·a: non-canonical R',
      signature: identityEquationSignature(identityAsPPlus1),
      expected: false,
      zip215: true,
    }),
    vector({
      name: 'R: -0 identity',
      why: 'the identity as R with its sign bit set, S = k·a: non-canonical R',
      signature: identityEquationSignature(identityNegativeZero),
      expected: false,
      zip215: true,
    }),
    ...smallOrderNonceVectors(),
    vector({
      name: 'R + T8',
      why: 'torsion in R, S recomputed for the new k: cofactored accepts, encode(...) ≠ R bytes',
      signature: torsionNonceSignature(),
      expected: false,
      zip215: true,
    }),
    ...wrongLengthVectors(),
  ];
}
