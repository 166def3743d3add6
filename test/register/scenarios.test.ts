/**
 * The register scenarios (scenarios/register-*.json) in the simulator, seeds 1–10, through
 * the minimal driver in ./driver.ts: the honest and adversarial ones keep regularity (and
 * atomicity for the atomic kit) and complete every operation; the negative control is caught.
 */
import { describe, expect, it } from 'vitest';
import type { Violation } from '../../src/core/kit.js';
import type { Context, ProtocolFactory } from '../../src/core/protocol.js';
import { type DriverResult, loadScenario, runScenario } from './driver.js';

const SEEDS = Array.from({ length: 10 }, (_, i) => i + 1);

function adversaryActions(result: DriverResult, action: string): number {
  return result.run.notes.filter(
    (n) => n.event === 'adversary' && (n.data as { action?: string } | null)?.action === action,
  ).length;
}
function notesOf(result: DriverResult, event: string): number {
  return result.run.notes.filter((n) => n.event === event).length;
}
function readValues(result: DriverResult): (string | null)[] {
  return result.run.history.flatMap((e) =>
    e.result !== null && typeof e.result === 'object' && 'value' in e.result
      ? [e.result.value as string | null]
      : [],
  );
}
function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.checker}: ${v.message}`).join('\n');
}

/** Run seeds 1–10 and expect safety and liveness as the scenario file says it holds. */
function runHolding(name: string, perSeed: (r: DriverResult) => void = () => {}): void {
  const scenario = loadScenario(name);
  for (const seed of SEEDS) {
    const result = runScenario(scenario, seed);
    expect(result.scenario.expect.safety).toBe('hold');
    expect(describeViolations(result.violations), `${name} seed ${seed}`).toBe('');
    expect(result.livenessOk, `${name} seed ${seed}: ${result.completedAfter} ops`).toBe(true);
    expect(result.run.history.every((e) => e.respondedAt !== null)).toBe(true);
    perSeed(result);
  }
}

describe('register scenarios that keep safety (seeds 1–10)', { timeout: 120_000 }, () => {
  it('register-honest: regular despite loss, duplication and reordering', () => {
    runHolding('register-honest', (r) => {
      expect(r.sim.stats.framesLost).toBeGreaterThan(0);
      expect(new Set(readValues(r)).size).toBeGreaterThan(5); // readers see the writes progress
    });
  });

  it('register-stale-replica: old signed answers lose to the highest timestamp', () => {
    runHolding('register-stale-replica', (r) => {
      expect(adversaryActions(r, 'stale-value')).toBeGreaterThan(0);
    });
  });

  it('register-forging-replica: readers reject every forged WRITE', () => {
    runHolding('register-forging-replica', (r) => {
      expect(adversaryActions(r, 'forge')).toBeGreaterThan(0);
      expect(notesOf(r, 'register-rejected')).toBeGreaterThan(0);
      expect(readValues(r).some((v) => v?.startsWith('forged'))).toBe(false);
    });
  });

  it('register-silent-replicas: f = 2 silent of n = 7, every operation completes', () => {
    runHolding('register-silent-replicas', (r) => {
      expect(adversaryActions(r, 'withhold')).toBeGreaterThan(0);
    });
  });

  it('register-equivocating-replica: a replica counts once, whatever it says', () => {
    runHolding('register-equivocating-replica', (r) => {
      expect(adversaryActions(r, 'equivocate')).toBeGreaterThan(0);
      expect(notesOf(r, 'register-equivocation')).toBeGreaterThan(0);
    });
  });

  it('register-replaying-replica: replayed VALUEs for old rids are ignored', () => {
    runHolding('register-replaying-replica', (r) => {
      expect(adversaryActions(r, 'replay-value')).toBeGreaterThan(0);
      expect(adversaryActions(r, 'replay-ack')).toBeGreaterThan(0);
    });
  });

  it('register-atomic-crash: atomic with replicas crashing and one restarting', () => {
    runHolding('register-atomic-crash', (r) => {
      expect(r.sim.isUp('n4')).toBe(false);
      expect(r.sim.isUp('n1')).toBe(true);
    });
  });

  it('the regular crash-model register keeps regularity under the same faults', () => {
    const scenario = { ...loadScenario('register-atomic-crash'), protocol: 'register' };
    for (const seed of SEEDS) {
      const result = runScenario(scenario, seed);
      expect(describeViolations(result.violations)).toBe('');
      expect(result.livenessOk).toBe(true);
    }
  });

  it('is deterministic: one seed, one trace', () => {
    const scenario = loadScenario('register-equivocating-replica');
    expect(runScenario(scenario, 3).sim.traceJsonl()).toBe(
      runScenario(scenario, 3).sim.traceJsonl(),
    );
  });
});

describe('negative control: register-too-many-byzantine', { timeout: 120_000 }, () => {
  const scenario = loadScenario('register-too-many-byzantine');

  it('f + 1 colluders filling the quorum intersection violate regularity on every seed 1–50', () => {
    let violated = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const result = runScenario(scenario, seed);
      expect(result.scenario.expect.safety).toBe('violated');
      expect(result.livenessOk).toBe(true);
      if (result.violations.length > 0) violated++;
      if (seed <= 10) {
        // Stale: the write the read returned is older than one that completed before it.
        const { checker, evidence } = result.violations[0]!;
        expect(checker).toBe('regularity');
        const { returnedWrite, lastPrecedingWrite } = evidence as Record<string, { seq: number }>;
        expect(returnedWrite!.seq).toBeLessThan(lastPrecedingWrite!.seq);
        expect(adversaryActions(result, 'ack-without-store')).toBeGreaterThan(0);
      }
    }
    expect(violated).toBe(50);
  });

  it('the same schedule with only f = 1 colluder keeps regularity (the intersection holds a correct replica)', () => {
    const one = { ...scenario, adversaries: scenario.adversaries?.slice(0, 1) ?? [] };
    for (const seed of SEEDS) {
      const result = runScenario(one, seed);
      expect(describeViolations(result.violations)).toBe('');
      expect(result.livenessOk).toBe(true);
    }
  });

  it('at n = 3f the quorum is all n replicas: f + 1 colluders cannot break safety, one silent replica stops progress', () => {
    const base = { ...scenario, n: 3, faults: [] };
    for (const seed of SEEDS) {
      const colluders = runScenario(base, seed);
      expect(colluders.sim.cluster.quorum).toBe(3);
      expect(describeViolations(colluders.violations)).toBe('');
      expect(colluders.livenessOk).toBe(true);
      const mute = runScenario({ ...base, adversaries: [{ node: 'n0', name: 'silent' }] }, seed);
      expect(mute.violations).toEqual([]);
      expect(mute.completedAfter).toBe(0);
    }
  });

  it('answering ⊥ instead of the oldest value is caught too', () => {
    const bottom = {
      ...scenario,
      adversaries: (scenario.adversaries ?? []).map((a) => ({
        ...a,
        params: { answer: 'bottom' },
      })),
    };
    for (const seed of SEEDS) {
      const result = runScenario(bottom, seed);
      expect(result.violations.length).toBeGreaterThan(0);
      expect(result.violations[0]).toMatchObject({
        checker: 'regularity',
        evidence: { read: { value: null }, returnedWrite: null },
      });
    }
  });
});

describe('the adversaries have teeth: broken readers fall for them', { timeout: 120_000 }, () => {
  /** A reader that skips the writer-signature check (verify always says yes). */
  const gullible =
    (_id: string, honest: ProtocolFactory): ProtocolFactory =>
    (ctx) =>
      honest(Object.create(ctx, { verify: { value: () => true } }) as Context);
  /** A reader that returns after the first answer instead of a Byzantine quorum. */
  const hasty = (id: string, honest: ProtocolFactory): ProtocolFactory =>
    id === 'c0'
      ? honest
      : (ctx) =>
          honest(
            Object.create(ctx, { cluster: { value: { ...ctx.cluster, quorum: 1 } } }) as Context,
          );

  it('without signature checks, forged timestamps make reads return the oldest value', () => {
    const scenario = loadScenario('register-forging-replica');
    const forged = {
      ...scenario,
      adversaries: [{ node: 'n2', name: 'forging', params: { mode: 'timestamp' } }],
    };
    for (const seed of SEEDS) {
      expect(runScenario(forged, seed, { wrapClient: gullible }).violations.length).toBeGreaterThan(
        0,
      );
      expect(runScenario(forged, seed).violations).toEqual([]);
    }
  });

  it('without a Byzantine quorum, a stale replica makes reads return old values', () => {
    const scenario = loadScenario('register-stale-replica');
    let violated = 0;
    for (const seed of SEEDS) {
      if (runScenario(scenario, seed, { wrapClient: hasty }).violations.length > 0) violated++;
    }
    expect(violated).toBeGreaterThanOrEqual(8);
  });
});
