/**
 * The ledger's fast path on Node: ed25519 through `fastBackend` (libsodium, or OpenSSL) and
 * SHA-256 through node:crypto. Same bytes and the same verification rule as
 * `nobleLedgerCrypto`, 15–25x faster. Node only:
 * browser-safe modules never import this file.
 */
import { fastBackend } from '../crypto/backends.js';
import { sha256 } from '../crypto/hash-node.js';
import type { LedgerCrypto } from './crypto.js';

export const nodeLedgerCrypto: LedgerCrypto = Object.freeze({ backend: fastBackend, sha256 });
