/** A sweep worker: runs the (scenario, seed) tasks it is sent and posts back each verdict. */
import { parentPort } from 'node:worker_threads';
import { loadScenario, scenarioRef } from './load.js';
import { runScenario } from './runner.js';
import type { Scenario } from './schema.js';
import type { SweepResult, SweepTask } from './sweep.js';

const scenarios = new Map<string, Scenario>();

parentPort!.on('message', (task: SweepTask) => {
  const ref = scenarioRef(task.source, task.sets);
  let scenario = scenarios.get(ref);
  if (scenario === undefined) {
    scenario = loadScenario(task.source, task.sets);
    scenarios.set(ref, scenario);
  }
  let result: SweepResult;
  try {
    const { report } = runScenario(scenario, {
      seed: task.seed,
      source: task.source,
      trace: 'notes',
    });
    result = {
      source: task.source,
      sets: task.sets,
      scenario: report.scenario,
      seed: task.seed,
      ok: report.ok,
      summary: summarize(report),
      reproduce: report.reproduce,
      wallMs: report.stats.wallMs,
    };
  } catch (e) {
    result = {
      source: task.source,
      sets: task.sets,
      scenario: scenario.name,
      seed: task.seed,
      ok: false,
      summary: `crashed: ${(e as Error).stack ?? e}`,
      reproduce: `npx bftkit scenario run ${ref} --seed ${task.seed}`,
      wallMs: 0,
    };
  }
  parentPort!.postMessage(result);
});

function summarize(report: ReturnType<typeof runScenario>['report']): string {
  const parts: string[] = [];
  if (!report.safety.ok) {
    const first = report.safety.violations[0];
    parts.push(
      report.safety.expected === 'hold'
        ? `safety violated: [${first?.checker}] ${first?.message}`
        : 'expected a safety violation, none found',
    );
  }
  const l = report.liveness;
  if (!l.ok) {
    const fewest = l.perClient?.fewest;
    parts.push(
      `liveness: ${l.completedAfter}/${l.required} operations${fewest == null ? '' : `, ${fewest.client} ${fewest.completed}/${l.perClient?.required}`} by t=${report.stats.simulatedMs}`,
    );
  }
  return parts.join('; ') || 'as expected';
}
