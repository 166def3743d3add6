/** `bftkit scenario …`: list the built-in scenarios, run one and report its verdict. */
import { writeFileSync } from 'node:fs';
import { EXIT } from '../core/errors.js';
import { builtinNames, loadScenario, scenarioRef } from '../scenario/load.js';
import { runScenario, type ScenarioReport } from '../scenario/runner.js';
import { parseSeeds, sweep } from '../scenario/sweep.js';
import { renderTraceHtml } from '../web/trace-viewer.js';

export function listScenarios(json: boolean): number {
  const scenarios = builtinNames().map((name) => {
    const s = loadScenario(name);
    return {
      name,
      protocol: s.protocol,
      n: s.n,
      f: s.f,
      unsafe: s.unsafe,
      description: s.description,
    };
  });
  if (json) {
    process.stdout.write(`${JSON.stringify(scenarios, null, 2)}\n`);
    return EXIT.ok;
  }
  const width = Math.max(...scenarios.map((s) => s.name.length), 4);
  for (const s of scenarios) {
    const tag = s.unsafe ? ' [negative control]' : '';
    process.stdout.write(`${s.name.padEnd(width)}  ${s.protocol} n=${s.n} f=${s.f}${tag}\n`);
    process.stdout.write(`${' '.repeat(width)}  ${s.description}\n`);
  }
  return EXIT.ok;
}

export function runScenarioCommand(
  nameOrPath: string,
  options: { seed?: number; json?: boolean; trace?: string; html?: string; set?: string[] },
): number {
  const sets = options.set ?? [];
  const scenario = loadScenario(nameOrPath, sets);
  const full = options.trace !== undefined || options.html !== undefined;
  const { report, sim } = runScenario(scenario, {
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    source: scenarioRef(nameOrPath, sets),
    trace: full ? 'full' : 'notes',
  });
  const jsonl = full ? sim.traceJsonl() : '';
  if (options.trace !== undefined) writeFileSync(options.trace, jsonl);
  if (options.html !== undefined) {
    const title = `${report.scenario} seed ${report.seed} — trace viewer`;
    writeFileSync(options.html, renderTraceHtml(jsonl, { title }));
  }
  if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(formatReport(report));
  if (!report.ok) process.stderr.write(`reproduce: ${report.reproduce}\n`);
  return report.ok ? EXIT.ok : EXIT.failed;
}

export function formatReport(report: ScenarioReport): string {
  const lines: string[] = [];
  const verdict = report.ok ? 'OK' : 'UNEXPECTED';
  lines.push(`${report.scenario} seed ${report.seed}: ${verdict}`);
  const s = report.safety;
  lines.push(
    `  safety: ${s.held ? 'held' : `${s.violations.length} violation(s)`} (expected to ${s.expected === 'hold' ? 'hold' : 'be violated'})`,
  );
  for (const v of s.violations.slice(0, 5)) {
    lines.push(`    [${v.checker}] ${v.message}`);
    if (v.evidence !== undefined) lines.push(`      evidence: ${JSON.stringify(v.evidence)}`);
  }
  const l = report.liveness;
  lines.push(
    `  liveness: ${l.ok ? 'ok' : 'NOT MET'} — ${l.completed} operations completed, ${l.completedAfter} after t=${l.after} ms (required ${l.required})`,
  );
  if (l.perClient?.fewest != null)
    lines.push(
      `    per client: fewest ${l.perClient.fewest.completed} (${l.perClient.fewest.client}), required ${l.perClient.required}`,
    );
  const st = report.stats;
  lines.push(
    `  stats: ${st.messagesSent} messages, ${st.framesLost} frames lost, ${st.simulatedMs} simulated ms in ${st.wallMs} ms`,
  );
  return `${lines.join('\n')}\n`;
}

export async function sweepCommand(
  target: string,
  options: { seeds: string; jobs?: number; json?: boolean; set?: string[] },
): Promise<number> {
  const seeds = parseSeeds(options.seeds);
  const tty = process.stderr.isTTY === true && options.json !== true;
  const summary = await sweep(target, seeds, {
    ...(options.jobs === undefined ? {} : { jobs: options.jobs }),
    sets: options.set ?? [],
    progress: (done, total, last) => {
      if (tty) {
        const width = 30;
        const filled = Math.round((done / total) * width);
        process.stderr.write(
          `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${last.scenario} seed ${last.seed}`.padEnd(
            100,
          ),
        );
      } else if (options.json !== true) {
        process.stderr.write(
          `${done}/${total} ${last.scenario} seed ${last.seed}: ${last.ok ? 'ok' : 'UNEXPECTED'}\n`,
        );
      }
    },
  });
  if (tty) process.stderr.write('\n');
  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const width = Math.max(8, ...summary.table.map((r) => r.scenario.length));
    process.stdout.write(`${'scenario'.padEnd(width)}  seeds        runs  unexpected\n`);
    for (const row of summary.table) {
      const range = `${seeds.from}..${seeds.to}`;
      process.stdout.write(
        `${row.scenario.padEnd(width)}  ${range.padEnd(11)}  ${String(row.runs).padStart(4)}  ${String(row.unexpected).padStart(10)}\n`,
      );
    }
    process.stdout.write(
      `${summary.runs} runs in ${(summary.wallMs / 1000).toFixed(1)} s, ${summary.unexpected.length} unexpected\n`,
    );
    for (const r of summary.unexpected)
      process.stdout.write(`  ${r.summary}\n    reproduce: ${r.reproduce}\n`);
  }
  return summary.unexpected.length === 0 ? EXIT.ok : EXIT.failed;
}
