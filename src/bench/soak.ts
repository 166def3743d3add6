/**
 * `npm run bench raft-soak`: a Raft cluster of real processes under a steady closed-loop load
 * for a long window, with the replicas' data directories measured every few seconds — once
 * with log compaction (a snapshot every `snapshotInterval` committed entries, thesis §5.1) and
 * once with compaction practically off (an interval no run reaches). The database file is
 * shown apart from its write-ahead log, which SQLite checkpoints and reuses whatever Raft
 * does: with compaction the database stops growing once the first snapshots are taken
 * (SQLite reuses the pages the deleted entries freed); without it it grows with every
 * committed entry.
 *
 * Environment: BFTKIT_SOAK_S (window seconds, default 120), BFTKIT_SOAK_SAMPLE_S (default 10),
 * BFTKIT_SOAK_INTERVAL (snapshotInterval, default 1000). Measures; never asserts.
 */
import { type ClusterBenchResult, runClusterBench } from './cluster.js';

const NEVER = 1_000_000;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`${name} must be a positive number`);
  return value;
}

function table(label: string, r: ClusterBenchResult): string {
  const ids = Object.keys(r.dataSamples[0]?.bytesByNode ?? {});
  const kib = (b: number | undefined) => ((b ?? 0) / 1024).toFixed(0).padStart(8);
  const lines = [
    `${label}: ${r.ops} ops in ${r.durationS} s (${r.opsPerSec} ops/s), load ${r.loadAverage.join(' ')}`,
    `    t/s ${ids.map((id) => `${id} db KiB (+wal)`.padStart(20)).join(' ')}`,
  ];
  for (const s of r.dataSamples) {
    const cells = ids.map((id) => {
      const db = s.dbBytesByNode[id] ?? 0;
      return `${kib(db)} (${kib((s.bytesByNode[id] ?? 0) - db).trim()})`.padStart(20);
    });
    lines.push(`${s.atS.toFixed(0).padStart(7)} ${cells.join(' ')}`);
  }
  return lines.join('\n');
}

export async function benchRaftSoak(): Promise<void> {
  const durationS = envNumber('BFTKIT_SOAK_S', 120);
  const dataSampleS = envNumber('BFTKIT_SOAK_SAMPLE_S', 10);
  const interval = envNumber('BFTKIT_SOAK_INTERVAL', 1000);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  for (const [label, snapshotInterval] of [
    [`compaction every ${interval} entries`, interval],
    ['no compaction', NEVER],
  ] as const) {
    const r = await runClusterBench({
      protocol: 'raft',
      nodes: 3,
      concurrency: 4,
      durationS,
      warmupS: 1,
      params: { snapshotInterval },
      dataSampleS,
      log,
    });
    process.stdout.write(`${table(label, r)}\n`);
  }
}
