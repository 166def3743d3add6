/**
 * Ed25519 over node:crypto (OpenSSL), roughly 15x faster than the @noble reference: the
 * Node backend where libsodium cannot be loaded, and a second native implementation to
 * cross-check the others against. Signing is RFC 8032 deterministic, so every backend
 * produces the same bytes.
 *
 * Verification first applies the shared `checkVerificationRule`, then lets OpenSSL check the
 * equation. OpenSSL is cofactorless and compares encode([S]B - [k]A) with the R bytes, which
 * is exactly the equation the noble backend computes, so all accept the same signatures.
 */
import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { BoundedCache, checkVerificationRule, type SignatureBackend } from './ed25519.js';

/** DER header of a PKCS#8 Ed25519 private key (RFC 8410 §7); the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER header of an SPKI Ed25519 public key (RFC 8410 §4); the 32-byte key follows. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const SEED_BYTES = 32;

// Building a KeyObject parses DER and costs more than a signature; a node signs with one key
// and verifies with the few keys of its cluster, so remember them.
const privateKeys = new BoundedCache<string, KeyObject>(1024);
const publicKeys = new BoundedCache<string, KeyObject>(4096);

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function privateKeyFor(secretSeed: Uint8Array): KeyObject {
  if (!(secretSeed instanceof Uint8Array) || secretSeed.length !== SEED_BYTES) {
    throw new TypeError('an ed25519 secret seed is 32 bytes');
  }
  return privateKeys.getOrCreate(hex(secretSeed), () => {
    const der = Buffer.concat([PKCS8_ED25519_PREFIX, secretSeed]);
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    der.fill(0); // the seed is secret: do not leave a copy for the garbage collector
    return key;
  });
}

/** Only called once the rule has accepted the key, so the bytes are a valid 32-byte point. */
function publicKeyFor(publicKey: Uint8Array): KeyObject {
  return publicKeys.getOrCreate(hex(publicKey), () =>
    createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    }),
  );
}

function nodePublicKey(secretSeed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyFor(secretSeed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
}

function nodeSign(secretSeed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(cryptoSign(null, message, privateKeyFor(secretSeed)));
}

function nodeVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!(message instanceof Uint8Array)) return false;
    if (!checkVerificationRule(publicKey, signature).ok) return false;
    return cryptoVerify(null, message, publicKeyFor(publicKey), signature);
  } catch {
    return false;
  }
}

export const nodeBackend: SignatureBackend = {
  name: 'node',
  publicKey: nodePublicKey,
  sign: nodeSign,
  verify: nodeVerify,
};
