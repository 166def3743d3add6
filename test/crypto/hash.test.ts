import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleHashBackend } from '../../src/crypto/hash.js';
import { hashBackends, hmacSha256, sha256, sha512 } from '../../src/crypto/hash-node.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const ascii = (text: string) => new TextEncoder().encode(text);

describe.each(Object.values(hashBackends))('$name hashes: known vectors', (backend) => {
  it('SHA-256("abc") (FIPS 180-2 appendix B.1)', () => {
    expect(hex(backend.sha256(ascii('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('SHA-512("abc") (FIPS 180-2 appendix C.1)', () => {
    expect(hex(backend.sha512(ascii('abc')))).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a' +
        '2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
  });

  it('HMAC-SHA-256, RFC 4231 test case 2 (key "Jefe")', () => {
    expect(hex(backend.hmacSha256(ascii('Jefe'), ascii('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('returns plain Uint8Array, not Buffer', () => {
    expect(Object.getPrototypeOf(backend.sha256(ascii('abc')))).toBe(Uint8Array.prototype);
  });
});

describe('noble and node hashes are byte-identical', () => {
  const data = fc.uint8Array({ minLength: 0, maxLength: 1000 });
  const key = fc.uint8Array({ minLength: 0, maxLength: 200 });

  it('sha256 and sha512', () => {
    fc.assert(
      fc.property(data, (d) => {
        expect(nobleHashBackend.sha256(d)).toEqual(sha256(d));
        expect(nobleHashBackend.sha512(d)).toEqual(sha512(d));
      }),
    );
  });

  it('hmacSha256, including keys longer than the 64-byte block', () => {
    fc.assert(
      fc.property(key, data, (k, d) => {
        expect(nobleHashBackend.hmacSha256(k, d)).toEqual(hmacSha256(k, d));
      }),
    );
  });
});

it('the default exports are the node ones', () => {
  expect(hashBackends.node.sha256).toBe(sha256);
  expect(hashBackends.node.hmacSha256).toBe(hmacSha256);
});
