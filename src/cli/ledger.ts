/**
 * `bftkit ledger …`: the signed ledger's offline tools (src/ledger/README.md). They need a
 * node's data directory and/or the cluster file — public keys only, never a secret key.
 *
 *   ledger verify --data DIR --cluster FILE     0 the ledger holds; 1 the first bad height and
 *                                               why; 2 bad input (no ledger, bad cluster file)
 *   ledger prove --data DIR --tx ID --out FILE  0 proof written; 1 no such transaction;
 *                                               2 bad input
 *   ledger check-proof FILE --cluster FILE      0 valid; 1 invalid, with the reason; 2 bad input
 *                                               (unreadable, not JSON, bad cluster file)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT, InputError } from '../core/errors.js';

export interface VerifyOptions {
  data: string;
  cluster: string;
  json?: boolean;
}

export async function ledgerVerify(o: VerifyOptions): Promise<number> {
  const { loadClusterFile } = await import('../core/cluster-file.js');
  const file = loadClusterFile(o.cluster);
  const { auditDataDir } = await import('../ledger/store.js');
  const result = auditDataDir(o.data, file, o.cluster);
  if (o.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (result.ok)
    process.stdout.write(
      `ledger ok: ${result.blocks} blocks, ${result.transactions} transactions (${result.applied} applied, ${result.rejected} rejected), tip ${result.tipHash}\n`,
    );
  else
    process.stdout.write(
      `ledger INVALID at height ${result.height}: ${result.problem}: ${result.reason}\n`,
    );
  return result.ok ? EXIT.ok : EXIT.failed;
}

export interface ProveOptions {
  data: string;
  tx: string;
  out: string;
  /** Optional: check the proof against this cluster file before writing it. */
  cluster?: string;
}

export async function ledgerProve(o: ProveOptions): Promise<number> {
  if (!/^[0-9a-f]{64}$/.test(o.tx))
    throw new InputError(`--tx: expected a transaction id (64 lowercase hex), got "${o.tx}"`);
  const { loadClusterFile } = await import('../core/cluster-file.js');
  const file = o.cluster === undefined ? undefined : loadClusterFile(o.cluster);
  const { LedgerStore } = await import('../ledger/store.js');
  const { proveTx, checkProof } = await import('../ledger/proof.js');
  const { nodeLedgerCrypto } = await import('../ledger/node-crypto.js');
  const ledger = LedgerStore.openReadOnly(o.data);
  let rows: ReturnType<typeof ledger.read>;
  try {
    rows = ledger.read();
  } finally {
    ledger.close();
  }
  const clusterId = ledger.clusterId || file?.clusterId;
  if (clusterId === undefined || clusterId === '')
    throw new InputError(`${o.data}: the ledger records no cluster id; pass --cluster`);
  const proof = proveTx(
    rows.map((r) => r.block),
    o.tx,
    clusterId,
    nodeLedgerCrypto,
  );
  if (proof === null) {
    process.stdout.write(`transaction ${o.tx} is not in the ledger at ${o.data}\n`);
    return EXIT.failed;
  }
  if (file !== undefined) {
    const check = checkProof(proof, file, nodeLedgerCrypto);
    if (!check.ok) {
      process.stdout.write(`the ledger's proof does not check: ${check.reason}\n`);
      return EXIT.failed;
    }
  }
  try {
    writeFileSync(o.out, `${JSON.stringify(proof, null, 2)}\n`);
  } catch (e) {
    throw new InputError(`cannot write ${o.out}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  process.stdout.write(
    `wrote ${o.out}: transaction ${o.tx.slice(0, 16)}… in block ${proof.header.height} (${proof.outcome.status})\n`,
  );
  return EXIT.ok;
}

export interface CheckProofOptions {
  cluster: string;
  json?: boolean;
}

export async function ledgerCheckProof(path: string, o: CheckProofOptions): Promise<number> {
  const { loadClusterFile } = await import('../core/cluster-file.js');
  const file = loadClusterFile(o.cluster);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(`cannot read proof ${path}: ${(e as Error).message}`);
  }
  const { checkProof } = await import('../ledger/proof.js');
  const { nodeLedgerCrypto } = await import('../ledger/node-crypto.js');
  const result = checkProof(raw, file, nodeLedgerCrypto);
  if (o.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (result.ok)
    process.stdout.write(
      `proof ok: transaction ${result.txId} ${result.outcome.status === 'applied' ? 'applied' : `rejected (${result.outcome.reason})`} in block ${result.height} (${result.blockHash})\n`,
    );
  else process.stdout.write(`proof INVALID: ${result.reason}\n`);
  return result.ok ? EXIT.ok : EXIT.failed;
}

/** Registers `ledger verify | prove | check-proof` (kept here so main.ts stays small). */
export function ledgerCommandSpec(program: Command, setExit: (code: number) => void): void {
  const ledger = program
    .command('ledger')
    .description('the signed ledger: offline audit and transaction proofs (public keys only)');
  ledger
    .command('verify')
    .description(
      "audit a node's ledger: chain links, Merkle roots, certificates, signatures, balances " +
        'replayed from genesis; exit 0 ok, 1 the first bad height and why, 2 bad input',
    )
    .requiredOption('--data <dir>', "the node's data directory (holds state.db)")
    .requiredOption('--cluster <file>', 'cluster.json')
    .option('--json', 'print the verdict as one JSON object')
    .action(async (o) => {
      setExit(await ledgerVerify({ data: o.data, cluster: o.cluster, json: o.json === true }));
    });
  ledger
    .command('prove')
    .description(
      'write a self-contained proof that a transaction was committed (and its outcome); ' +
        'exit 0 written, 1 no such transaction, 2 bad input',
    )
    .requiredOption('--data <dir>', "the node's data directory (holds state.db)")
    .requiredOption('--tx <id>', 'transaction id (64 hex)')
    .requiredOption('--out <file>', 'where to write the proof JSON')
    .option('--cluster <file>', 'check the proof against this cluster file before writing it')
    .action(async (o) => {
      setExit(await ledgerProve({ data: o.data, tx: o.tx, out: o.out, cluster: o.cluster }));
    });
  ledger
    .command('check-proof')
    .description('check a transaction proof offline; exit 0 valid, 1 invalid (why), 2 bad input')
    .argument('<file>', 'proof JSON')
    .requiredOption('--cluster <file>', 'cluster.json')
    .option('--json', 'print the verdict as one JSON object')
    .action(async (path: string, o) => {
      setExit(await ledgerCheckProof(path, { cluster: o.cluster, json: o.json === true }));
    });
}
