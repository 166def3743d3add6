/**
 * `npm run bench -- crypto`: what a signature and a hash cost with each backend, so that the
 * budget in DESIGN.md ("Measured budget") can be checked on the machine at hand.
 */
import { performance } from 'node:perf_hooks';
import { fastBackend, signatureBackends } from '../crypto/backends.js';
import type { SignatureBackend } from '../crypto/ed25519.js';
import type { HashBackend } from '../crypto/hash.js';
import { hashBackends } from '../crypto/hash-node.js';

const RUNS = 5;
const RUN_MS = 200;
/** Operations between two clock reads, so reading the clock costs little next to a hash. */
const BATCH = 16;
const MESSAGE_BYTES = 200;

type Row = { operation: string; backend: string; microsPerOp: number };

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** One run: repeat `op` for about RUN_MS and return the mean µs per call. */
function timeOneRun(op: () => unknown, runMs: number): number {
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < runMs) {
    for (let i = 0; i < BATCH; i++) op();
    calls += BATCH;
    elapsed = performance.now() - start;
  }
  return (elapsed * 1000) / calls;
}

/** Median of RUNS runs, after a short warm-up so the JIT has compiled the path. */
function microsPerOp(op: () => unknown): number {
  timeOneRun(op, RUN_MS / 4);
  return median(Array.from({ length: RUNS }, () => timeOneRun(op, RUN_MS)));
}

function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

function signatureRows(backend: SignatureBackend): Row[] {
  const seed = randomBytes(32);
  const message = randomBytes(MESSAGE_BYTES);
  const publicKey = backend.publicKey(seed);
  const signature = backend.sign(seed, message);
  const row = (operation: string, op: () => unknown): Row => ({
    operation,
    backend: backend.name,
    microsPerOp: microsPerOp(op),
  });
  return [
    // A fresh seed every time: this is key generation, not a cache hit.
    row('ed25519 keygen (fresh seed → public key)', () => backend.publicKey(randomBytes(32))),
    row(`ed25519 sign (${MESSAGE_BYTES} B)`, () => backend.sign(seed, message)),
    row(`ed25519 verify (${MESSAGE_BYTES} B)`, () => backend.verify(publicKey, message, signature)),
  ];
}

function hashRows(backend: HashBackend): Row[] {
  const data = randomBytes(MESSAGE_BYTES);
  const key = randomBytes(32);
  return [
    {
      operation: `SHA-256 (${MESSAGE_BYTES} B)`,
      backend: backend.name,
      microsPerOp: microsPerOp(() => backend.sha256(data)),
    },
    {
      operation: `HMAC-SHA256 (${MESSAGE_BYTES} B)`,
      backend: backend.name,
      microsPerOp: microsPerOp(() => backend.hmacSha256(key, data)),
    },
  ];
}

function formatRow(row: Row): string {
  const opsPerSecond = Math.round(1e6 / row.microsPerOp).toLocaleString('en-US');
  return (
    row.operation.padEnd(42) +
    row.backend.padEnd(8) +
    opsPerSecond.padStart(12) +
    row.microsPerOp.toFixed(2).padStart(12)
  );
}

function speedup(rows: Row[], operation: string, fast: string, slow: string): string {
  const cost = (backend: string) =>
    rows.find((r) => r.operation === operation && r.backend === backend)?.microsPerOp ?? Number.NaN;
  return `${operation}: ${fast} is ${(cost(slow) / cost(fast)).toFixed(1)}x faster than ${slow}`;
}

export async function benchCrypto(): Promise<void> {
  const rows: Row[] = [];
  for (const backend of Object.values(signatureBackends)) rows.push(...signatureRows(backend));
  for (const backend of Object.values(hashBackends)) rows.push(...hashRows(backend));
  rows.sort((x, y) => x.operation.localeCompare(y.operation));

  console.log(`crypto: median of ${RUNS} runs of ~${RUN_MS} ms each`);
  console.log(
    'operation'.padEnd(42) + 'backend'.padEnd(8) + 'ops/s'.padStart(12) + 'µs/op'.padStart(12),
  );
  for (const row of rows) console.log(formatRow(row));
  for (const op of ['sign', 'verify']) {
    const operation = `ed25519 ${op} (${MESSAGE_BYTES} B)`;
    console.log(speedup(rows, operation, 'node', 'noble'));
    if (fastBackend.name !== 'node')
      console.log(speedup(rows, operation, fastBackend.name, 'node'));
  }
  console.log(`hot path (fastBackend): ${fastBackend.name}`);
}
