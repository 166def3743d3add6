/**
 * The fuzzer's corpus: real frames of every protocol, captured from short simulator runs of
 * built-in scenarios (honest runs, view changes, equivocation, crashes), with the keys the
 * simulator derived for each node — so the fuzzer can replay them to a real NodeRuntime and
 * re-sign junk as a Byzantine sender would.
 */
import type { ProtocolDefinition } from '../core/definition.js';
import type { NodeId, ProtocolFactory } from '../core/protocol.js';
import { Rng } from '../core/rng.js';
import { loadScenario } from '../scenario/load.js';
import { buildSimulation, closedLoop } from '../scenario/runner.js';
import { simulatedSeed } from '../sim/simulation.js';

export interface CapturedFrame {
  from: NodeId;
  to: NodeId;
  text: string;
}

export interface Corpus {
  /** The scenario the frames come from (with its --set overrides). */
  name: string;
  clusterId: string;
  replicas: readonly NodeId[];
  clients: readonly NodeId[];
  f: number;
  definition: ProtocolDefinition;
  /** The honest core of every node (adversaries in the scenario only shaped the traffic). */
  factory(id: NodeId): ProtocolFactory;
  seed(id: NodeId): Uint8Array;
  frames: readonly CapturedFrame[];
}

/** Scenarios whose traffic covers every message kind of every protocol and its clients. */
export const CORPUS_SCENARIOS: readonly { name: string; sets?: string[]; durationMs: number }[] = [
  { name: 'pbft-honest', durationMs: 1_500 },
  { name: 'pbft-equivocating-primary', durationMs: 2_500 },
  { name: 'pbft-silent-primary', durationMs: 3_000 },
  { name: 'pbft-lagging-replica', durationMs: 3_000 },
  { name: 'raft-honest', durationMs: 2_000 },
  { name: 'raft-figure8', durationMs: 4_000 },
  { name: 'register-honest', durationMs: 1_500 },
  { name: 'register-atomic-crash', durationMs: 1_500 },
  { name: 'register-atomic-crash', sets: ['protocol=register'], durationMs: 1_500 },
];

export function captureCorpus(
  name: string,
  sets: readonly string[],
  durationMs: number,
  seed: number,
): Corpus {
  // Signed: the fuzzer's oracle tells a forgery from a genuine message by its signature.
  const scenario = { ...loadScenario(name, sets), auth: 'signed' as const };
  const { sim, kit, replicas, clients } = buildSimulation(scenario, seed, 'notes');
  const frames: CapturedFrame[] = [];
  sim.tap = (from, to, text) => frames.push({ from, to, text });
  closedLoop(sim, kit, clients, {
    rng: new Rng(seed, 0x5ce9a),
    params: scenario.workload.params,
    start: scenario.workload.start,
    interval: scenario.workload.interval,
    more: (_client, index) => index < scenario.workload.operations,
  });
  sim.start();
  sim.runUntil(durationMs);
  const clusterId = sim.cluster.id;
  return {
    name: sets.length === 0 ? name : `${name} (${sets.join(', ')})`,
    clusterId,
    replicas,
    clients,
    f: scenario.f,
    definition: kit.definition,
    factory: (id) =>
      replicas.includes(id) ? kit.replica(id, scenario.params) : kit.client(id, scenario.params),
    seed: (id) => simulatedSeed(clusterId, id),
    frames,
  };
}
