/**
 * The browser entry of the ledger dashboard's bundle, served as `/proof-check.js` by
 * `startDashboard` (src/web/ledger-dashboard.ts), which bundles it with esbuild (platform
 * browser, format esm). It exposes the ledger's own, browser-safe checking code — @noble
 * ed25519 and SHA-256, no node: import — so that the page checks a proof itself:
 *
 *   checkProof(proof, clusterFile)   src/ledger/proof.ts, noble crypto (the default)
 *   txId(tx)                         src/ledger/tx.ts: hex SHA-256 of the canonical envelope
 *   blockHash(clusterId, header)     src/ledger/block.ts: the hash the certificate signs
 *
 * Zod goes jitless first: by default it probes `new Function` while the schemas are being
 * built, which the page's CSP (no 'unsafe-eval') reports as a violation even though zod
 * catches the throw. `config` must run before any schema exists, and a module body runs only
 * after everything it imports statically, so the ledger modules are imported dynamically
 * after it (esbuild inlines them into the one bundle).
 */
import { config } from 'zod';

config({ jitless: true });

const [proofModule, txModule, blockModule] = await Promise.all([
  import('../ledger/proof.js'),
  import('../ledger/tx.js'),
  import('../ledger/block.js'),
]);

export const checkProof = proofModule.checkProof;
export const txId = txModule.txId;
export const blockHash = blockModule.blockHash;
