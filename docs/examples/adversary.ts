// An adversary of your own: a Byzantine register replica that answers only every other
// message, reporting each one it withholds. Run it in a scenario through runScenario's `wrap`.
import { type AdversaryDefinition, act, runScenario, validateScenario, wrapHonest } from 'bftkit';
import { z } from 'zod';

const flaky: AdversaryDefinition<{ every: number }> = {
  name: 'flaky',
  description: 'sends only every `every`-th message the honest core sends',
  protocols: ['byz-register'],
  params: z.strictObject({ every: z.number().int().min(1).default(2) }),
  create: (honest, { every }) =>
    wrapHonest(honest, (ctx) => {
      let count = 0;
      return {
        rewrite(to, message) {
          if (++count % every === 0) return [{ to, message }];
          act(ctx, 'withhold', { kind: message.kind });
          return [];
        },
      };
    }),
};

const scenario = validateScenario(
  {
    name: 'flaky-replica',
    description: 'One flaky replica among four: the register stays regular and live.',
    protocol: 'byz-register',
    n: 4,
    f: 1,
    duration: 3000,
    workload: { operations: 10 },
  },
  'example',
);
const params = flaky.params.parse({ every: 3 });
const { report, sim } = runScenario(scenario, {
  wrap: (node, factory) => (node === 'n2' ? flaky.create(factory, params) : factory),
});
const withheld = sim.notes.filter((n) => n.event === 'adversary').length;
console.log(
  `${report.scenario}: ${report.ok ? 'OK' : 'UNEXPECTED'}, n2 withheld ${withheld} messages`,
);
console.log(
  `safety ${report.safety.held ? 'held' : 'violated'}, ${report.liveness.completed} operations`,
);
