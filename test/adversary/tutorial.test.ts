/** The tutorial in docs/writing-an-adversary.md, step by step, as a student would run it. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, validateScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/runner.js';

const root = join(import.meta.dirname, '../..');

describe('writing an adversary: the sleeper', () => {
  it('one sleeper in a cluster built for f = 1: it lies, and safety holds anyway', () => {
    const scenario = loadScenario('register-sleeper-replica');
    for (const seed of [1, 2, 3]) {
      const { report, record } = runScenario(scenario, { seed });
      const lies = record.notes.filter(
        (n) =>
          n.event === 'adversary' && (n.data as { action?: string }).action === 'answer-bottom',
      );
      expect(lies.length).toBeGreaterThan(0);
      expect(report.safety.violations).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });

  it('two sleepers with the quorum-steering schedule: the regularity checker catches a ⊥ read', () => {
    const scenario = loadScenario(join(root, 'docs/examples/two-sleepers.json'));
    for (const seed of [1, 2, 3]) {
      const { report } = runScenario(scenario, { seed });
      expect(report.ok).toBe(true);
      const first = report.safety.violations[0]!;
      // A read of ⊥ (no write returned) although a write completed before it.
      expect(first).toMatchObject({
        checker: 'regularity',
        evidence: { read: { value: null }, returnedWrite: null },
      });
      expect((first.evidence as { lastPrecedingWrite: unknown }).lastPrecedingWrite).not.toBeNull();
    }
  });

  it('its parameters are validated like any scenario field', () => {
    const scenario = loadScenario('register-sleeper-replica');
    expect(() =>
      validateScenario(
        {
          ...scenario,
          adversaries: [{ node: 'n2', name: 'sleeper', params: { awakeAfter: -1 } }],
        },
        'test',
      ),
    ).toThrow(/\$\.adversaries\[0\]\.params\.awakeAfter/);
    expect(() =>
      validateScenario({ ...scenario, adversaries: [{ node: 'n2', name: 'sleepy' }] }, 'test'),
    ).toThrow(/unknown adversary "sleepy".*known adversaries: .*sleeper/);
  });
});
