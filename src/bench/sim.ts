/**
 * `npm run bench -- sim`: how fast the simulator runs the built-in protocols — simulated
 * messages per wall-clock second, simulated time per wall-clock second, and completed
 * client operations per wall-clock second and per simulated second of client activity
 * (from the workload's start to the last reply, not the idle tail of the run). Every message
 * is really signed and verified (ed25519 on the node:crypto path), as in every simulation;
 * the last columns show each replica's ed25519 verifications against the signatures it
 * checked, so a signature verified twice would show.
 */
import { loadScenario } from '../scenario/load.js';
import { replicaIds, runScenario } from '../scenario/runner.js';

const RUNS = 5;

/** Each protocol's honest scenario, and a closed-loop load of 32 clients for throughput. */
const CASES: { label: string; scenario: string; sets: string[] }[] = [
  { label: 'register (as in the scenario)', scenario: 'register-honest', sets: [] },
  { label: 'raft (as in the scenario)', scenario: 'raft-honest', sets: [] },
  {
    label: 'raft n=3, 32 clients, no think time',
    scenario: 'raft-honest',
    sets: ['n=3', 'f=1', 'clients=32', 'workload.interval=0', 'workload.operations=60'],
  },
  { label: 'pbft (as in the scenario)', scenario: 'pbft-honest', sets: [] },
  {
    label: 'pbft n=4, 32 clients, batches of 32',
    scenario: 'pbft-honest',
    sets: [
      'clients=32',
      'workload.interval=0',
      'workload.operations=60',
      'params.batchSize=32',
      'network.loss=0',
      'network.duplicate=0',
    ],
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export async function benchSimulator(): Promise<void> {
  const rows: string[][] = [];
  for (const c of CASES) {
    const scenario = loadScenario(c.scenario, c.sets);
    const samples = {
      msgs: [] as number[],
      simPerWall: [] as number[],
      opsWall: [] as number[],
      opsSim: [] as number[],
    };
    let verified = 0;
    let checked = 0;
    for (let run = 1; run <= RUNS; run++) {
      const start = performance.now();
      const { report, sim } = runScenario(scenario, {
        seed: run,
        trace: 'notes',
        shareVerdicts: false,
      });
      const wallS = (performance.now() - start) / 1000;
      samples.msgs.push(report.stats.messagesSent / wallS);
      samples.simPerWall.push(report.stats.simulatedMs / 1000 / wallS);
      samples.opsWall.push(report.stats.operations / wallS);
      const activeS = (report.stats.lastResponseMs - scenario.workload.start) / 1000;
      samples.opsSim.push(activeS > 0 ? report.stats.operations / activeS : 0);
      for (const id of replicaIds(scenario.n)) {
        const stats = sim.keyRingStats(id);
        verified += stats.verifications;
        checked += stats.verifications + stats.cacheHits;
      }
    }
    rows.push([
      c.label,
      fmt(median(samples.msgs)),
      `${median(samples.simPerWall).toFixed(1)}x`,
      fmt(median(samples.opsWall)),
      fmt(median(samples.opsSim)),
      `${fmt(verified / RUNS / scenario.n)} / ${fmt(checked / RUNS / scenario.n)}`,
    ]);
  }
  const header = [
    'case',
    'sim msgs / wall s',
    'sim time / wall',
    'ops / wall s',
    'ops / sim s',
    'per replica: verified / checked',
  ];
  process.stdout.write(`medians of ${RUNS} runs (seeds 1–${RUNS})\n`);
  printTable([header, ...rows]);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows)
    process.stdout.write(`${row.map((c, i) => c.padStart(widths[i]!)).join('  ')}\n`);
}
