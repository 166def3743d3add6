/**
 * Hashing through @noble/hashes: the portable reference, safe to load in a browser (no node:
 * imports). On Node the hot path imports `./hash-node.js` instead, which gives the same bytes
 * through OpenSSL; the tests hold the two to byte-identical output.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';

/** The hash functions the project uses, so a caller can pick an implementation by name. */
export type HashBackend = {
  name: string;
  sha256(data: Uint8Array): Uint8Array;
  sha512(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
};

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** Ed25519 needs SHA-512 (RFC 8032 §5.1): for the key expansion and for the challenge k. */
export function sha512(data: Uint8Array): Uint8Array {
  return nobleSha512(data);
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, data);
}

export const nobleHashBackend: HashBackend = { name: 'noble', sha256, sha512, hmacSha256 };
