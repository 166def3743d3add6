/**
 * `npm run bench -- peers`: bftkit's Raft (n = 3) against etcd (3 members, fsync) on this
 * machine, interleaved — bftkit, etcd, bftkit, etcd … — so that the machine's noise hits
 * both alike, at 1 and at 64 outstanding puts. Prints the medians and the ratios of each
 * round's pair. BFTKIT_PEERS_ROUNDS (default 3) and BFTKIT_PEERS_SECONDS (default 10) set
 * the size. Without etcd it says how to install it and measures nothing.
 */
import { loadavg } from 'node:os';
import { runClusterBench } from './cluster.js';
import { etcdBinary, runEtcdBench } from './etcd.js';

const SHAPES = [1, 64] as const;

interface Pair {
  bftkit: { opsPerSec: number; p50Ms: number; serverCpuUsPerOp: number };
  etcd: { opsPerSec: number; p50Ms: number; serverCpuUsPerOp: number };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const fixed = (x: number, digits = 2) => x.toFixed(digits);

export async function benchPeers(): Promise<void> {
  if (etcdBinary() === null) {
    process.stdout.write(
      'etcd is not installed, so there is nothing to compare with: apt-get install -y etcd-server (Debian ships etcd 3.4), then npm run bench -- peers\n',
    );
    return;
  }
  const rounds = Number(process.env.BFTKIT_PEERS_ROUNDS ?? 3);
  const durationS = Number(process.env.BFTKIT_PEERS_SECONDS ?? 10);
  const warmupS = 2;
  const pairs = new Map<number, Pair[]>(SHAPES.map((c) => [c, []]));
  const loadBefore = loadavg();
  for (let round = 1; round <= rounds; round++) {
    for (const concurrency of SHAPES) {
      const b = await runClusterBench({
        protocol: 'raft',
        nodes: 3,
        concurrency,
        durationS,
        warmupS,
      });
      const e = await runEtcdBench({ concurrency, durationS, warmupS });
      process.stdout.write(
        `round ${round}, ${concurrency} outstanding: bftkit ${b.opsPerSec} ops/s ${b.serverCpuUsPerOp} µs/op; etcd ${e.opsPerSec} ops/s ${e.serverCpuUsPerOp} µs/op${e.errors > 0 ? ` (${e.errors} errors)` : ''}\n`,
      );
      pairs.get(concurrency)?.push({ bftkit: b, etcd: e });
    }
  }
  process.stdout.write(
    `\nmedians of ${rounds} interleaved rounds of ${durationS} s (load ${loadBefore.map((l) => fixed(l)).join(' ')} before, ${loadavg()
      .map((l) => fixed(l))
      .join(' ')} after)\n`,
  );
  process.stdout.write(
    '| outstanding | bftkit ops/s | etcd ops/s | throughput ratio | bftkit p50 ms | etcd p50 ms | bftkit server µs/op | etcd server µs/op | CPU ratio |\n|---|---|---|---|---|---|---|---|---|\n',
  );
  for (const [concurrency, ps] of pairs) {
    const m = (f: (p: Pair) => number) => median(ps.map(f));
    process.stdout.write(
      `| ${concurrency} | ${m((p) => p.bftkit.opsPerSec)} | ${m((p) => p.etcd.opsPerSec)} | ${fixed(m((p) => p.bftkit.opsPerSec / p.etcd.opsPerSec))} | ${fixed(m((p) => p.bftkit.p50Ms))} | ${fixed(m((p) => p.etcd.p50Ms))} | ${m((p) => p.bftkit.serverCpuUsPerOp)} | ${m((p) => p.etcd.serverCpuUsPerOp)} | ${fixed(m((p) => p.bftkit.serverCpuUsPerOp / p.etcd.serverCpuUsPerOp))} |\n`,
    );
  }
}
