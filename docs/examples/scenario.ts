// Run a scenario object in the deterministic simulator; read the verdict, the trace, and
// check the history again with a checker of your own choosing.
import { checkRegularity, loadScenario, runScenario, validateScenario } from 'bftkit';

const scenario = validateScenario(
  {
    name: 'my-register',
    description: 'A Byzantine register with one silent replica among four.',
    protocol: 'byz-register',
    n: 4,
    f: 1,
    duration: 3000,
    adversaries: [{ node: 'n3', name: 'silent' }],
    workload: { operations: 10 },
  },
  'example',
);
const { report, sim, record } = runScenario(scenario, { seed: 7, trace: 'full' });
console.log(`${report.scenario} seed ${report.seed}: ${report.ok ? 'OK' : 'UNEXPECTED'}`);
console.log(`${report.liveness.completed} operations, ${sim.trace.length} trace events`);
console.log(`regularity violations: ${checkRegularity(record.history).length}`);

// Same scenario and seed, same trace.
const again = runScenario(scenario, { seed: 7, trace: 'full' });
console.log(`deterministic: ${again.sim.traceJsonl() === sim.traceJsonl()}`);

// The built-in scenarios load by name (`npx bftkit scenario list`).
const builtin = runScenario(loadScenario('pbft-equivocating-primary'));
console.log(`pbft-equivocating-primary: ${builtin.report.ok ? 'OK' : 'UNEXPECTED'}`);
