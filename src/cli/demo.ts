/**
 * `bftkit demo` — until the signed-ledger demo exists, the most meaningful thing bftkit can
 * show: every built-in scenario run once, each with its verdict, the negative controls
 * included (they are expected to break safety, and the checkers must catch it).
 */
import { builtinNames, loadScenario } from '../scenario/load.js';
import { runScenario } from '../scenario/runner.js';
import { EXIT } from './errors.js';

export function demo(): number {
  process.stdout.write(
    'bftkit demo: the signed ledger demo is not built yet; running every built-in adversary scenario once instead.\n\n',
  );
  let unexpected = 0;
  for (const name of builtinNames()) {
    const scenario = loadScenario(name);
    const { report } = runScenario(scenario, { trace: 'notes' });
    const safety =
      report.safety.violations.length === 0
        ? 'safety held'
        : `safety violated (${report.safety.violations[0]?.checker})`;
    const verdict = report.ok ? 'as expected' : 'UNEXPECTED';
    process.stdout.write(
      `${name.padEnd(34)} ${safety.padEnd(40)} ${String(report.liveness.completed).padStart(4)} ops  ${verdict}\n`,
    );
    if (!report.ok) {
      unexpected++;
      process.stdout.write(`  reproduce: ${report.reproduce}\n`);
    }
  }
  process.stdout.write(
    `\n${unexpected === 0 ? 'every scenario behaved as expected' : `${unexpected} unexpected outcome(s)`}; try: npx bftkit scenario run register-too-many-byzantine\n`,
  );
  return unexpected === 0 ? EXIT.ok : EXIT.failed;
}
