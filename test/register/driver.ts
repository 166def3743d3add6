/**
 * The register tests' view of a scenario run: the real runner (src/scenario/runner.ts) over a
 * scenario file that a test may edit first, with the verdict's parts at hand.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RunRecord, Violation } from '../../src/core/kit.js';
import type { ProtocolFactory } from '../../src/core/protocol.js';
import { validateScenario } from '../../src/scenario/load.js';
import { runScenario as run } from '../../src/scenario/runner.js';
import type { Scenario, ScenarioInput } from '../../src/scenario/schema.js';
import type { Simulation } from '../../src/sim/simulation.js';

export interface DriverResult {
  scenario: Scenario;
  sim: Simulation;
  run: RunRecord;
  violations: Violation[];
  /** Operations that completed at or after expect.liveness.after. */
  completedAfter: number;
  livenessOk: boolean;
}

const scenarioDir = fileURLToPath(new URL('../../scenarios/', import.meta.url));

export function loadScenario(name: string): ScenarioInput {
  return JSON.parse(readFileSync(`${scenarioDir}${name}.json`, 'utf8')) as ScenarioInput;
}

export interface DriverOptions {
  /** Replace a client's core (tests use it to build deliberately broken readers). */
  wrapClient?: (identity: string, honest: ProtocolFactory) => ProtocolFactory;
}

export function runScenario(
  input: ScenarioInput,
  seed: number,
  options: DriverOptions = {},
): DriverResult {
  const scenario = validateScenario({ ...input, seed }, input.name);
  const wrapClient = options.wrapClient;
  const { report, sim, record } = run(scenario, {
    seed,
    trace: 'notes',
    ...(wrapClient === undefined
      ? {}
      : {
          wrap: (identity: string, factory: ProtocolFactory) =>
            identity.startsWith('c') ? wrapClient(identity, factory) : factory,
        }),
  });
  return {
    scenario,
    sim,
    run: record,
    violations: report.safety.violations,
    completedAfter: report.liveness.completedAfter,
    livenessOk: report.liveness.ok,
  };
}
