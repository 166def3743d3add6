/**
 * The signature backends on Node, and the one the hot path uses.
 *
 * All three accept exactly the same signatures (the shared rule in ./ed25519.js, then the
 * cofactorless equation) and produce the same bytes, so which one a node runs is a matter of
 * speed only: nodes on different backends interoperate, and a simulation's trace does not
 * depend on it.
 */
import { nobleBackend, type SignatureBackend } from './ed25519.js';
import { nodeBackend } from './ed25519-node.js';
import { sodiumBackend } from './ed25519-sodium.js';

/** libsodium where its addon loads (about 1.7x OpenSSL's verification speed), else OpenSSL. */
export const fastBackend: SignatureBackend = sodiumBackend ?? nodeBackend;

/** Every backend available here, by name (benchmarks and cross-checks). */
export const signatureBackends: Readonly<Record<string, SignatureBackend>> = Object.freeze({
  noble: nobleBackend,
  node: nodeBackend,
  ...(sodiumBackend === null ? {} : { sodium: sodiumBackend }),
});
