/**
 * The ledger's fast path on Node: ed25519 and SHA-256 through node:crypto (OpenSSL). Same
 * bytes and the same verification rule as `nobleLedgerCrypto`, about 15x faster. Node only:
 * browser-safe modules never import this file.
 */
import { nodeBackend } from '../crypto/ed25519-node.js';
import { sha256 } from '../crypto/hash-node.js';
import type { LedgerCrypto } from './crypto.js';

export const nodeLedgerCrypto: LedgerCrypto = Object.freeze({ backend: nodeBackend, sha256 });
