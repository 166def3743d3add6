/**
 * Lab "signatures": two (public key, message, signature) triples on which two ed25519
 * verifiers disagree (README.md). Each function returns three strings of hex digits.
 * Grade with: npx bftkit lab grade signatures .
 */

export type Triple = { publicKey: string; message: string; signature: string };

/** ZIP-215 (cofactored) accepts it, OpenSSL (cofactorless) rejects it. */
export function cofactoredOnly(): Triple {
  // TODO SIG-4, SIG-7: a signature whose R has a torsion component (or is of small order).
  throw new Error('TODO: cofactoredOnly');
}

/** OpenSSL (lax about keys) accepts it, the strict rule rejects it. */
export function laxOnly(): Triple {
  // TODO SIG-5, SIG-8: which public key makes [S]B − [k]A = R true for every message?
  throw new Error('TODO: laxOnly');
}
