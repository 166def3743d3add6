/**
 * Digests of protocol values: hex(SHA-256(canonical(x))), with the project's canonical
 * encoding (src/crypto/canonical.ts: sorted keys, no whitespace, safe integers only) and the
 * node:crypto SHA-256. Equal values have equal digests, whatever their key order.
 */

import { canonical, canonicalBytes } from '../crypto/canonical.js';
import { sha256 } from '../crypto/hash-node.js';
import { toHex } from '../crypto/hex.js';
import type { Json } from '../crypto/json.js';

/** The canonical text of a value (for comparing values, and what digests are taken over). */
export function canonicalJson(value: Json): string {
  return canonical(value);
}

/** digest(x) = hex(SHA-256(canonical(x))). */
export function digestOf(value: Json): string {
  return toHex(sha256(canonicalBytes(value)));
}
