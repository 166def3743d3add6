/**
 * Lab tests that run a scenario in the simulator with the student's code plugged in through
 * the runner's `wrap` option: the same runtime, adversaries and checkers as `scenario run`.
 */
import { InputError } from '../core/errors.js';
import type { NodeId, ProtocolFactory } from '../core/protocol.js';
import { findKit } from '../scenario/kits.js';
import { loadScenario, validateScenario } from '../scenario/load.js';
import { runScenario } from '../scenario/runner.js';
import type { Scenario } from '../scenario/schema.js';
import type { LabTest, RunOutcome, Solution } from './lab.js';

/** A built-in scenario by name, or a scenario object (validated, defaults filled in). */
export function scenarioOf(source: string | Record<string, unknown>): Scenario {
  return typeof source === 'string'
    ? loadScenario(source)
    : validateScenario(source, `lab scenario ${String(source.name)}`);
}

export type Wrap = (identity: NodeId, factory: ProtocolFactory) => ProtocolFactory;

/** The nodes a scenario hands to its adversaries. */
export function byzantineNodes(scenario: Scenario): ReadonlySet<NodeId> {
  return new Set(scenario.adversaries.map((a) => a.node));
}

function message(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * A build test's verdict: the checkers find no violation and enough operations complete.
 * A student's exception ends the run and fails the test with its message.
 */
export function runProtocol(scenario: Scenario, wrap: Wrap, seed: number, trace: boolean) {
  try {
    const { report, sim } = runScenario(scenario, {
      seed,
      wrap,
      trace: trace ? 'full' : 'notes',
    });
    const violation = report.safety.violations[0];
    const { completedAfter, required } = report.liveness;
    const outcome: RunOutcome =
      violation !== undefined
        ? { ok: false, detail: `safety: ${violation.checker}: ${violation.message}`, sim }
        : !report.liveness.ok
          ? {
              ok: false,
              detail: `liveness: ${completedAfter} of ${required} operations completed`,
              sim,
            }
          : { ok: true, detail: `${completedAfter} operations, no violation`, sim };
    return outcome;
  } catch (e) {
    return { ok: false, detail: `your code threw ${message(e)}` } satisfies RunOutcome;
  }
}

/** How a build lab plugs the student's module into a scenario's cores. */
export type StudentWrap = (scenario: Scenario, solution: Solution) => Wrap;

/**
 * A build lab's scenario tests, the student's code wired in by `wrapOf`: each passes when
 * every seed runs with no violation and enough operations completed.
 */
export function buildTests(wrapOf: StudentWrap) {
  return (
    name: string,
    source: string | Record<string, unknown>,
    points: number,
    description: string,
  ): LabTest => {
    let scenario: Scenario | undefined;
    return {
      name,
      description,
      points,
      required: true,
      mode: 'all',
      traced: true,
      run: (solution, seed, trace) => {
        scenario ??= scenarioOf(source);
        return runProtocol(scenario, wrapOf(scenario, solution), seed, trace);
      },
    };
  };
}

/**
 * An attack test's verdict: `breaks` wants the checkers to find a violation; `contained` wants
 * none (liveness is not judged: a safe protocol may stall under an attack, never err).
 */
export function runAttack(
  scenario: Scenario,
  wrap: Wrap,
  seed: number,
  trace: boolean,
  want: 'breaks' | 'contained',
): RunOutcome {
  try {
    const { report, sim } = runScenario(scenario, { seed, wrap, trace: trace ? 'full' : 'notes' });
    const violation = report.safety.violations[0];
    if (want === 'breaks')
      return violation === undefined
        ? { ok: false, detail: 'the checkers found no violation', sim }
        : { ok: true, detail: `broke it: ${violation.checker}: ${violation.message}`, sim };
    return violation === undefined
      ? { ok: true, detail: 'contained: no violation', sim }
      : {
          ok: false,
          detail: `the safe protocol broke?! ${violation.checker}: ${violation.message}`,
          sim,
        };
  } catch (e) {
    return { ok: false, detail: `your code threw ${message(e)}` };
  }
}

/** An attack lab's module: `adversary(honest)` → the Byzantine replica (attack.ts). */
export function validateAdversary(module: Solution): Solution {
  if (typeof module.adversary !== 'function')
    throw new InputError(
      'attack.ts: expected an exported function "adversary" (honest replica → Byzantine replica)',
    );
  return module;
}

/** The attacker's replicas run the student's adversary over their honest replica. */
function attackerCores(scenario: Scenario, solution: Solution): Wrap {
  const byzantine = byzantineNodes(scenario);
  const kit = findKit(scenario.protocol);
  const adversary = solution.adversary as (honest: ProtocolFactory) => ProtocolFactory;
  return (id, factory) =>
    byzantine.has(id) ? adversary(kit.replica(id, scenario.params)) : factory;
}

/**
 * An attack lab's test of `adversary`: `breaks` on the unsafe variant (one seed suffices),
 * `contained` on the safe protocol (every seed, and points only once `breaks` passed).
 */
export function attackTest(
  name: string,
  source: string | Record<string, unknown>,
  want: 'breaks' | 'contained',
  points: number,
  description: string,
): LabTest {
  let scenario: Scenario | undefined;
  return {
    name,
    description,
    points,
    required: true,
    mode: want === 'breaks' ? 'any' : 'all',
    ...(want === 'contained' ? { needs: ['breaks'] } : {}),
    traced: true,
    run: (solution, seed, trace) => {
      scenario ??= scenarioOf(source);
      return runAttack(scenario, attackerCores(scenario, solution), seed, trace, want);
    },
  };
}
