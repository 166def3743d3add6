import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import { createRequire } from 'node:module';
import { etc, Point, verify as zip215Verify } from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastBackend, signatureBackends } from '../../src/crypto/backends.js';
import {
  BoundedCache,
  checkVerificationRule,
  nobleBackend,
  type SignatureBackend,
  smallOrderEncodings,
} from '../../src/crypto/ed25519.js';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { sodiumBackend } from '../../src/crypto/ed25519-sodium.js';
import { type CraftedVector, craftedVectors, rfc8032Vectors } from './vectors.js';

const backends: SignatureBackend[] = Object.values(signatureBackends);
const bytes = etc.hexToBytes;
const crafted = craftedVectors();

function craftedNamed(name: string): CraftedVector {
  const found = crafted.find((v) => v.name === name);
  if (!found) throw new Error(`no crafted vector named ${name}`);
  return found;
}

/** noble's default verify throws on wrong lengths; for the table that simply means "rejects". */
function zip215Accepts(v: CraftedVector): boolean {
  try {
    return zip215Verify(bytes(v.signature), bytes(v.message), bytes(v.publicKey));
  } catch {
    return false;
  }
}

/** OpenSSL alone, without the shared pre-check: what the node backend would do without it. */
function rawOpensslAccepts(v: CraftedVector, message = bytes(v.message)): boolean {
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), bytes(v.publicKey)]);
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  return opensslVerify(null, message, key, bytes(v.signature));
}

/** libsodium alone, without the shared pre-check. */
function rawSodiumAccepts(v: CraftedVector, message = bytes(v.message)): boolean {
  const sodium = createRequire(import.meta.url)('sodium-native') as {
    crypto_sign_verify_detached(s: Uint8Array, m: Uint8Array, k: Uint8Array): boolean;
  };
  return sodium.crypto_sign_verify_detached(bytes(v.signature), message, bytes(v.publicKey));
}

describe('the backends on this machine', () => {
  it('libsodium loads, so the hot path is the sodium backend', () => {
    expect(sodiumBackend).not.toBeNull();
    expect(fastBackend.name).toBe('sodium');
    expect(Object.keys(signatureBackends)).toEqual(['noble', 'node', 'sodium']);
  });
});

describe('RFC 8032 §7.1 test vectors', () => {
  describe.each(backends)('$name backend', (backend) => {
    it.each(rfc8032Vectors)('$name', (v) => {
      const seed = bytes(v.secretKey);
      const message = bytes(v.message);
      expect(etc.bytesToHex(backend.publicKey(seed))).toBe(v.publicKey);
      expect(etc.bytesToHex(backend.sign(seed, message))).toBe(v.signature);
      expect(backend.verify(bytes(v.publicKey), message, bytes(v.signature))).toBe(true);
    });
  });
});

describe('the small-order encodings the R check uses', () => {
  it('are exactly the multiples of one order-8 point, each canonical', () => {
    const list = smallOrderEncodings();
    const order8 = Point.fromHex(list[4] ?? '');
    expect(order8.multiply(4n).is0()).toBe(false);
    const generated = new Set<string>();
    for (let i = 1n; i <= 8n; i++) generated.add(order8.multiplyUnsafe(i).toHex());
    expect(generated).toEqual(new Set(list));
    for (const encoding of list) expect(Point.fromHex(encoding).toHex()).toBe(encoding);
  });
});

describe('crafted vectors', () => {
  it.each(crafted)('$name: $why', (v) => {
    const [publicKey, message, signature] = [
      bytes(v.publicKey),
      bytes(v.message),
      bytes(v.signature),
    ];
    for (const backend of backends)
      expect(backend.verify(publicKey, message, signature), backend.name).toBe(v.expected);
    expect(zip215Accepts(v)).toBe(v.zip215);
  });

  it('covers both verdicts and the cases where ZIP-215 disagrees with the rule', () => {
    expect(crafted.filter((v) => v.expected)).toHaveLength(1);
    expect(crafted.filter((v) => v.zip215 !== v.expected).length).toBeGreaterThan(20);
  });
});

describe('why one rule: the libraries on their own disagree', () => {
  it('torsion in A splits them: ZIP-215 accepts, OpenSSL rejects', () => {
    const v = craftedNamed('A + T8, k ≢ 0 mod 8');
    expect(zip215Accepts(v)).toBe(true);
    expect(rawOpensslAccepts(v)).toBe(false);
  });

  it('torsion in R splits them: ZIP-215 accepts, OpenSSL rejects', () => {
    const v = craftedNamed('R + T8');
    expect(zip215Accepts(v)).toBe(true);
    expect(rawOpensslAccepts(v)).toBe(false);
  });

  it('OpenSSL alone accepts a torsion key when k ≡ 0 (mod 8): only the subgroup check stops it', () => {
    const v = craftedNamed('A + T8, k ≡ 0 mod 8');
    expect(rawOpensslAccepts(v)).toBe(true);
    expect(nodeBackend.verify(bytes(v.publicKey), bytes(v.message), bytes(v.signature))).toBe(
      false,
    );
  });

  it('OpenSSL alone accepts one signature under the identity key for every message', () => {
    const v = craftedNamed('small-order A #0 (01000000…)');
    expect(rawOpensslAccepts(v, new TextEncoder().encode('anything'))).toBe(true);
    expect(rawOpensslAccepts(v, new TextEncoder().encode('anything else'))).toBe(true);
  });

  it('libsodium alone refuses small-order keys and R, but not a torsion key when k ≡ 0 (mod 8)', () => {
    expect(rawSodiumAccepts(craftedNamed('small-order A #0 (01000000…)'))).toBe(false);
    expect(rawSodiumAccepts(craftedNamed('small-order R #4 (c7176a70…)'))).toBe(false);
    expect(rawSodiumAccepts(craftedNamed('R + T8'))).toBe(false);
    const torsionKey = craftedNamed('A + T8, k ≡ 0 mod 8');
    expect(rawSodiumAccepts(torsionKey)).toBe(true);
    expect(
      sodiumBackend?.verify(
        bytes(torsionKey.publicKey),
        bytes(torsionKey.message),
        bytes(torsionKey.signature),
      ),
    ).toBe(false);
  });
});

describe('malformed input', () => {
  const valid = craftedNamed('valid');
  const garbage: unknown[] = [undefined, null, 'not bytes', 42, [1, 2, 3], {}, new Uint16Array(32)];

  it.each(backends)('$name verify returns false and never throws', (backend) => {
    const verify = backend.verify as (a: unknown, b: unknown, c: unknown) => boolean;
    for (const junk of garbage) {
      expect(verify(junk, bytes(valid.message), bytes(valid.signature))).toBe(false);
      expect(verify(bytes(valid.publicKey), junk, bytes(valid.signature))).toBe(false);
      expect(verify(bytes(valid.publicKey), bytes(valid.message), junk)).toBe(false);
    }
  });

  it('the shared rule names the reason for a rejection', () => {
    const judge = (name: string) => {
      const v = craftedNamed(name);
      return checkVerificationRule(bytes(v.publicKey), bytes(v.signature));
    };
    expect(judge('valid')).toEqual({ ok: true });
    expect(judge('S = L')).toEqual({ ok: false, reason: 'S is not reduced modulo L' });
    expect(judge('R: y = p + 1')).toEqual({ ok: false, reason: 'R is not a canonical encoding' });
    expect(judge('small-order R #4 (c7176a70…)')).toEqual({
      ok: false,
      reason: 'R has small order',
    });
    expect(judge('A: y = p')).toMatchObject({
      reason: 'public key is not a canonical point encoding',
    });
    expect(judge('A: not a point')).toMatchObject({
      reason: 'public key is not a point on the curve',
    });
    expect(judge('small-order A #0 (01000000…)')).toMatchObject({
      reason: 'public key has small order',
    });
    expect(judge('A + T8, k ≡ 0 mod 8')).toMatchObject({
      reason: 'public key is not in the prime-order subgroup',
    });
    expect(judge('empty sig')).toMatchObject({ reason: 'signature must be 64 bytes' });
  });

  it('the range checks stop exactly at L and p', () => {
    const littleEndian = (n: bigint) => bytes(n.toString(16).padStart(64, '0')).reverse();
    const { n: L, p } = Point.CURVE();
    const publicKey = bytes(valid.publicKey);
    const R = bytes(valid.signature).subarray(0, 32);
    const S = bytes(valid.signature).subarray(32);
    const judge = (r: Uint8Array, s: Uint8Array) =>
      checkVerificationRule(publicKey, etc.concatBytes(r, s));
    expect(judge(R, littleEndian(L - 1n))).toEqual({ ok: true });
    expect(judge(R, littleEndian(L))).toMatchObject({ ok: false });
    expect(judge(littleEndian(p - 2n), S)).toEqual({ ok: true });
    expect(judge(littleEndian(p), S)).toMatchObject({ ok: false });
  });
});

describe('every backend agrees on random keys and messages', () => {
  const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const message = fc.uint8Array({ minLength: 0, maxLength: 300 });

  it('same public key and signature, each verifies, a flipped bit fails everywhere', () => {
    fc.assert(
      fc.property(seed, message, fc.nat(), (secret, msg, flipSeed) => {
        const publicKey = nobleBackend.publicKey(secret);
        const signature = nobleBackend.sign(secret, msg);
        for (const backend of backends) {
          expect(backend.publicKey(secret)).toEqual(publicKey);
          expect(backend.sign(secret, msg)).toEqual(signature);
        }

        const flippedSignature = signature.slice();
        const sigBit = flipSeed % (64 * 8);
        flippedSignature[sigBit >> 3] = (flippedSignature[sigBit >> 3] ?? 0) ^ (1 << (sigBit & 7));
        const flippedMessage = msg.slice();
        if (msg.length > 0) {
          const msgBit = flipSeed % (msg.length * 8);
          flippedMessage[msgBit >> 3] = (flippedMessage[msgBit >> 3] ?? 0) ^ (1 << (msgBit & 7));
        }
        for (const backend of backends) {
          expect(backend.verify(publicKey, msg, signature)).toBe(true);
          expect(backend.verify(publicKey, msg, flippedSignature)).toBe(false);
          if (msg.length > 0)
            expect(backend.verify(publicKey, flippedMessage, signature)).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('BoundedCache', () => {
  it('forgets its oldest entry when full, so attacker-chosen keys cannot grow it', () => {
    const cache = new BoundedCache<string, number>(2);
    let created = 0;
    const get = (key: string) => cache.getOrCreate(key, () => ++created);
    expect([get('a'), get('b'), get('a')]).toEqual([1, 2, 1]);
    expect(get('c')).toBe(3); // evicts 'a'
    expect(get('b')).toBe(2);
    expect(get('a')).toBe(4);
  });
});

it('signatureBackends lists each backend under its own name', () => {
  for (const [name, backend] of Object.entries(signatureBackends)) expect(backend.name).toBe(name);
});
