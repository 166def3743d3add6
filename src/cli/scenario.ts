/** `bftkit scenario …`: list the built-in scenarios, run one and report its verdict. */
import { writeFileSync } from 'node:fs';
import { builtinNames, loadScenario } from '../scenario/load.js';
import { runScenario, type ScenarioReport } from '../scenario/runner.js';
import { EXIT } from './errors.js';

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
  options: { seed?: number; json?: boolean; trace?: string },
): number {
  const scenario = loadScenario(nameOrPath);
  const { report, sim } = runScenario(scenario, {
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    source: nameOrPath,
    trace: options.trace === undefined ? 'notes' : 'full',
  });
  if (options.trace !== undefined) writeFileSync(options.trace, sim.traceJsonl());
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
    `  safety: ${s.violations.length === 0 ? 'held' : `${s.violations.length} violation(s)`} (expected to ${s.expected === 'hold' ? 'hold' : 'be violated'})`,
  );
  for (const v of s.violations.slice(0, 5)) {
    lines.push(`    [${v.checker}] ${v.message}`);
    if (v.evidence !== undefined) lines.push(`      evidence: ${JSON.stringify(v.evidence)}`);
  }
  const l = report.liveness;
  lines.push(
    `  liveness: ${l.ok ? 'ok' : 'NOT MET'} — ${l.completed} operations completed, ${l.completedAfter} after t=${l.after} ms (required ${l.required})`,
  );
  const st = report.stats;
  lines.push(
    `  stats: ${st.messagesSent} messages, ${st.framesLost} frames lost, ${st.simulatedMs} simulated ms in ${st.wallMs} ms`,
  );
  return `${lines.join('\n')}\n`;
}
