/**
 * Reference solution of lab "signatures", with node: modules only (no curve arithmetic):
 *  - cofactoredOnly: R is a point of order 8 and S = k·a for the signer's secret scalar a.
 *    Then [S]B − [k]A is the identity, not R, so the cofactorless equation fails; but [8]R is
 *    the identity too, so the cofactored one, [8][S]B = [8]R + [8][k]A, holds.
 *  - laxOnly: the identity as public key and (R = identity, S = 0): [0]B − [k]·O = O = R for
 *    every message. OpenSSL, which accepts small-order keys, accepts it; the strict rule
 *    refuses the key.
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';

export type Triple = { publicKey: string; message: string; signature: string };

/** The prime order of the base point (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const littleEndian = (bytes: Uint8Array): bigint =>
  bytes.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);

function toLittleEndian32(value: bigint): Buffer {
  const out = Buffer.alloc(32);
  for (let i = 0, v = value; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

const sha512 = (...parts: Uint8Array[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** A point of order 8 (one of the eight small-order encodings). */
const ORDER_8 = Buffer.from(
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'hex',
);
const IDENTITY = Buffer.from(`01${'00'.repeat(31)}`, 'hex');

export function cofactoredOnly(): Triple {
  const seed = Buffer.alloc(32, 7);
  // RFC 8032 §5.1.5: a = the clamped first half of SHA-512(seed); A = [a]B (from OpenSSL).
  const h = sha512(seed);
  h[0] = (h[0] ?? 0) & 248;
  h[31] = ((h[31] ?? 0) & 127) | 64;
  const a = littleEndian(h.subarray(0, 32));
  const privateKey = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const A = spki.subarray(spki.length - 32);
  const message = Buffer.from('vote for view 7');
  const k = littleEndian(sha512(ORDER_8, A, message)) % L;
  const S = (k * a) % L;
  return {
    publicKey: A.toString('hex'),
    message: message.toString('hex'),
    signature: Buffer.concat([ORDER_8, toLittleEndian32(S)]).toString('hex'),
  };
}

export function laxOnly(): Triple {
  return {
    publicKey: IDENTITY.toString('hex'),
    message: Buffer.from('any message at all').toString('hex'),
    signature: Buffer.concat([IDENTITY, Buffer.alloc(32)]).toString('hex'),
  };
}
