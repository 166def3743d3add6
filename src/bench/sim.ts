/**
 * `npm run bench -- sim`: how fast the simulator runs the built-in protocols — simulated
 * messages per wall-clock second, simulated time per wall-clock second, and completed
 * client operations per wall-clock second and per simulated second of client activity
 * (from the workload's start to the last reply, not the idle tail of the run). Every message is
 * really signed and verified (ed25519 on the node:crypto path), as in every simulation.
 */
import { builtinNames, loadScenario } from '../scenario/load.js';
import { runScenario } from '../scenario/runner.js';

const RUNS = 5;
/** The scenario whose honest run stands for each protocol. */
const SCENARIOS = ['register-honest', 'raft-honest', 'pbft-honest'];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export async function benchSimulator(): Promise<void> {
  const available = new Set(builtinNames());
  const rows: string[][] = [];
  for (const name of SCENARIOS) {
    if (!available.has(name)) {
      process.stdout.write(`(skipped ${name}: no such built-in scenario yet)\n`);
      continue;
    }
    const scenario = loadScenario(name);
    const samples = {
      msgs: [] as number[],
      simPerWall: [] as number[],
      opsWall: [] as number[],
      opsSim: [] as number[],
    };
    for (let run = 1; run <= RUNS; run++) {
      const start = performance.now();
      const { report } = runScenario(scenario, { seed: run, trace: 'notes' });
      const wallS = (performance.now() - start) / 1000;
      samples.msgs.push(report.stats.messagesSent / wallS);
      samples.simPerWall.push(report.stats.simulatedMs / 1000 / wallS);
      samples.opsWall.push(report.stats.operations / wallS);
      const activeS = (report.stats.lastResponseMs - scenario.workload.start) / 1000;
      samples.opsSim.push(activeS > 0 ? report.stats.operations / activeS : 0);
    }
    rows.push([
      name,
      fmt(median(samples.msgs)),
      `${median(samples.simPerWall).toFixed(1)}x`,
      fmt(median(samples.opsWall)),
      fmt(median(samples.opsSim)),
    ]);
  }
  const header = [
    'scenario',
    'sim msgs / wall s',
    'sim time / wall time',
    'ops / wall s',
    'ops / sim s',
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
