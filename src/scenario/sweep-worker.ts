/** A sweep worker: runs the (scenario, seed) tasks it is sent and posts back each verdict. */
import { parentPort } from 'node:worker_threads';
import { loadScenario, scenarioRef } from './load.js';
import { runScenario, summarize } from './runner.js';
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
      source: ref, // with its --set overrides, so the reproduce command runs the same scenario
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
