import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

/** Lowercase hex of bytes: how bftkit writes keys, digests and signatures in JSON. */
export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

const HEX = /^(?:[0-9a-f]{2})*$/;

/** Parse lowercase hex; throws on anything else (callers validate untrusted input first). */
export function fromHex(hex: string): Uint8Array {
  if (!HEX.test(hex)) throw new Error('not lowercase hex of whole bytes');
  return hexToBytes(hex);
}
