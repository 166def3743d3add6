/**
 * The ledger's hashing and signature primitives, with the implementations passed in.
 *
 * Everything the ledger hashes or signs goes through `ledgerDigest`, which computes exactly
 * what `envelopeDigest` in src/core/envelope.ts computes,
 *
 *   SHA-256(tag ‖ 0x00 ‖ canonical(body)),  tag = "bftkit/1/<cluster>/ledger/<kind>",
 *
 * but with the SHA-256 taken from a `LedgerCrypto` instead of node:crypto, so that the same
 * code verifies a ledger on Node (fast path: `nodeLedgerCrypto` in ./node-crypto.js) and in a
 * browser (`nobleLedgerCrypto`, the default). The tests hold the two digests byte-identical.
 *
 * Browser-safe: no node: imports here or in anything this module imports.
 */

import { canonical } from '../crypto/canonical.js';
import { nobleBackend, type SignatureBackend } from '../crypto/ed25519.js';
import { sha256 as nobleSha256 } from '../crypto/hash.js';
import type { Json } from '../crypto/json.js';

/** The protocol part of every ledger domain tag. */
export const LEDGER_PROTOCOL = 'ledger';

/** A signature backend and a SHA-256: the only cryptography the ledger uses. */
export interface LedgerCrypto {
  readonly backend: SignatureBackend;
  readonly sha256: (data: Uint8Array) => Uint8Array;
}

/** @noble/ed25519 and @noble/hashes: portable, the default, what a browser uses. */
export const nobleLedgerCrypto: LedgerCrypto = Object.freeze({
  backend: nobleBackend,
  sha256: nobleSha256,
});

const utf8 = new TextEncoder();

/** "bftkit/1/<cluster>/ledger/<kind>", as `domainTag` in src/core/envelope.ts. */
export function ledgerTag(clusterId: string, kind: string): string {
  return `bftkit/1/${clusterId}/${LEDGER_PROTOCOL}/${kind}`;
}

/** SHA-256(tag ‖ 0x00 ‖ canonical(body)): what is hashed and what is signed. */
export function ledgerDigest(
  crypto: LedgerCrypto,
  clusterId: string,
  kind: string,
  body: Json,
): Uint8Array {
  const tag = utf8.encode(ledgerTag(clusterId, kind));
  const encoded = utf8.encode(canonical(body));
  const input = new Uint8Array(tag.length + 1 + encoded.length);
  input.set(tag, 0);
  input.set(encoded, tag.length + 1);
  return crypto.sha256(input);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
