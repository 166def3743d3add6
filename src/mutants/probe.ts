/**
 * Runs inside a mutated copy of the repository (src/mutants/run.ts makes it): the given
 * scenarios, in order, each on the given seeds, until one run does not turn out as its
 * scenario expects. Prints one JSON line: the kill (scenario, seed, what went wrong) or none.
 *
 *   tsx <copy>/src/mutants/probe.ts <scenario,scenario,…> <from> <to>
 */
import { loadScenario } from '../scenario/load.js';
import { runScenario, summarize } from '../scenario/runner.js';

const [names = '', from = '1', to = '1'] = process.argv.slice(2);
let runs = 0;
let kill: { scenario: string; seed: number; summary: string } | null = null;
// Every scenario loads before any runs: a missing or invalid one is an error, not a kill.
const scenarios = names
  .split(',')
  .filter((n) => n !== '')
  .map((name) => ({ name, scenario: loadScenario(name) }));
search: for (const { name, scenario } of scenarios) {
  for (let seed = Number(from); seed <= Number(to); seed++) {
    runs++;
    let summary: string | null = null;
    try {
      const { report } = runScenario(scenario, { seed, source: name, trace: 'notes' });
      if (!report.ok) summary = summarize(report);
    } catch (e) {
      summary = `crashed: ${(e as Error).message}`;
    }
    if (summary !== null) {
      kill = { scenario: name, seed, summary };
      break search;
    }
  }
}
process.stdout.write(`${JSON.stringify({ runs, kill })}\n`);
