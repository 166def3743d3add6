/**
 * A minimal stand-in for the scenario runner (src/scenario/runner.ts, being written
 * elsewhere), enough to run the register scenarios in the simulator: build the cluster from a
 * kit, swap adversaries in, apply the fault schedule, drive closed-loop clients and record
 * the history. It is to be replaced by the real runner.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { registerAdversaries } from '../../src/adversary/register.js';
import type { Json } from '../../src/core/json.js';
import type { ProtocolFactory } from '../../src/core/protocol.js';
import { registerKits } from '../../src/register/kit.js';
import type { HistoryEntry, RunRecord, Violation } from '../../src/scenario/kit.js';
import {
  type Fault,
  type Scenario,
  type ScenarioInput,
  scenarioSchema,
} from '../../src/scenario/schema.js';
import { Rng } from '../../src/sim/rng.js';
import { Simulation } from '../../src/sim/simulation.js';

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
  const scenario = scenarioSchema.parse({ ...input, seed });
  const kit = registerKits.find((k) => k.name === scenario.protocol);
  if (kit === undefined) throw new Error(`no register kit ${scenario.protocol}`);
  const replicas = Array.from({ length: scenario.n }, (_, i) => `n${i}`);
  const clients = Array.from({ length: scenario.clients }, (_, i) => `c${i}`);
  const adversaries = new Map(scenario.adversaries.map((a) => [a.node, a]));

  const sim = new Simulation({
    seed,
    cluster: { id: scenario.name, replicas, clients, f: scenario.f, unsafe: scenario.unsafe },
    definition: kit.definition,
    factory: (instance, identity) => {
      const honest = clients.includes(identity)
        ? (options.wrapClient ?? ((_id, f) => f))(identity, kit.client(identity, scenario.params))
        : kit.replica(identity, scenario.params);
      const spec = adversaries.get(instance);
      if (spec === undefined) return honest;
      const adversary = registerAdversaries.find(
        (d) => d.name === spec.name && d.protocols.includes(kit.name),
      );
      if (adversary === undefined) throw new Error(`no adversary ${spec.name} for ${kit.name}`);
      return adversary.create(honest, adversary.params.parse(spec.params ?? {}));
    },
    network: scenario.network,
    byzantine: adversaries.keys(),
    trace: 'notes',
  });

  const { operations, start, interval, params } = scenario.workload;
  const rng = new Rng(seed, 10_000);
  const history: HistoryEntry[] = [];
  const pending = new Map<string, HistoryEntry>();
  const issue = (client: string, index: number): void => {
    if (index >= operations) return;
    const op = kit.nextOperation(rng, client, index, params);
    const entry: HistoryEntry = {
      client,
      index,
      op,
      invokedAt: sim.now,
      result: null,
      respondedAt: null,
    };
    history.push(entry);
    pending.set(client, entry);
    sim.request(client, op);
  };
  sim.onOutput((instance, event, time) => {
    const entry = pending.get(instance);
    if (entry === undefined) return;
    pending.delete(instance);
    entry.result = (event as { result: Json }).result;
    entry.respondedAt = time;
    sim.at(time + interval, () => issue(instance, entry.index + 1));
  });

  sim.start();
  for (const fault of scenario.faults) sim.at(fault.at, () => apply(sim, fault, replicas, clients));
  for (const client of clients) sim.at(start, () => issue(client, 0));
  sim.runUntil(scenario.duration);

  const run: RunRecord = {
    replicas,
    clients,
    byzantine: new Set(adversaries.keys()),
    history,
    notes: sim.notes,
    endTime: sim.now,
  };
  const liveness = scenario.expect.liveness;
  const completedAfter = history.filter(
    (e) => e.respondedAt !== null && e.respondedAt >= (liveness?.after ?? 0),
  ).length;
  return {
    scenario,
    sim,
    run,
    violations: kit.check(run, scenario.params),
    completedAfter,
    livenessOk: liveness === undefined || completedAfter >= liveness.minOps,
  };
}

function apply(sim: Simulation, fault: Fault, replicas: string[], clients: string[]): void {
  const node = (name: string): string => {
    if (name === 'leader' || name === 'primary') throw new Error('registers have no leader');
    return name;
  };
  switch (fault.action) {
    case 'crash':
      sim.crash(node(fault.node));
      return;
    case 'restart':
      if (fault.node === 'all') for (const id of [...replicas, ...clients]) sim.restart(id);
      else sim.restart(fault.node);
      return;
    case 'crash-all':
      for (const id of replicas) sim.crash(id);
      return;
    case 'partition':
      sim.partition(fault.blocks.map((block) => block.map(node)));
      return;
    case 'heal':
      sim.heal();
      return;
    case 'network':
      sim.setNetwork(fault.network);
      return;
  }
}
