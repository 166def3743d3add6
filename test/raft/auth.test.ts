/**
 * Raft in both auth modes (src/core/definition.ts): 'channel', its default, where envelopes
 * go unsigned and the simulator's authenticated network vouches for the sender, and
 * 'signed', kept for coursework comparisons. Both must keep every invariant and stay live;
 * the two differ only in the signatures made and checked.
 */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/runner.js';

const SCENARIOS = ['raft-leader-crash', 'raft-lossy-network'];
const MODES = ['channel', 'signed'] as const;

describe('Raft in both auth modes', () => {
  for (const name of SCENARIOS) {
    for (const auth of MODES) {
      it(`${name} with auth '${auth}' is safe and live`, () => {
        const scenario = { ...loadScenario(name), auth };
        for (const seed of [1, 2]) {
          const { report, sim } = runScenario(scenario, { seed, trace: 'notes' });
          const violations = report.safety.violations.map((v) => v.message).join('\n');
          expect(violations, `${name} seed ${seed}`).toBe('');
          expect(report.ok, `${name} seed ${seed}`).toBe(true);
          const verified = sim.cluster.replicas.reduce(
            (sum, id) => sum + sim.keyRingStats(id).verifications,
            0,
          );
          if (auth === 'channel') expect(verified).toBe(0);
          else expect(verified).toBeGreaterThan(0);
        }
      });
    }
  }

  it("the default is 'channel': the same trace as an explicit 'channel'", () => {
    const base = loadScenario('raft-honest');
    const trace = (auth?: 'channel') =>
      JSON.stringify(
        runScenario(auth === undefined ? base : { ...base, auth }, { seed: 3 }).sim.trace,
      );
    expect(trace()).toBe(trace('channel'));
  });
});
