/**
 * The scenario runner: builds a simulation from a scenario, applies its fault schedule,
 * drives closed-loop client workloads, and asks the protocol's checkers for a verdict.
 * It is generic — everything protocol-specific comes from the kit.
 */

import type { HistoryEntry, Params, ProtocolKit, RunRecord, Violation } from '../core/kit.js';
import type { NodeId, ProtocolFactory } from '../core/protocol.js';
import { Rng } from '../core/rng.js';
import type { Json } from '../crypto/json.js';
import { type SimStats, Simulation } from '../sim/simulation.js';
import { findAdversary } from './adversaries.js';
import { findKit } from './kits.js';
import type { Fault, Scenario } from './schema.js';

export interface ScenarioReport {
  scenario: string;
  seed: number;
  /** The scenario's expectations held (for a negative control: the violation was found). */
  ok: boolean;
  /**
   * `held`: the checkers found no violation; `asExpected`: that is what the scenario expects
   * (a negative control expects a violation, and `held: false` is its success).
   */
  safety: {
    held: boolean;
    expected: 'hold' | 'violated';
    asExpected: boolean;
    violations: Violation[];
  };
  liveness: {
    ok: boolean;
    completed: number;
    completedAfter: number;
    required: number;
    after: number;
    /** Per correct client, when the scenario asks for minOpsPerClient. */
    perClient: { required: number; fewest: { client: NodeId; completed: number } | null } | null;
    /** The latest the run could go on to meet the requirement (simulated ms). */
    deadline: number;
  };
  stats: SimStats & {
    operations: number;
    /** When the last client reply arrived (simulated ms). */
    lastResponseMs: number;
    simulatedMs: number;
    wallMs: number;
  };
  /** The command that reruns exactly this run. */
  reproduce: string;
}

export interface RunOptions {
  seed?: number;
  /** How the scenario was named on the command line, for the reproduce command. */
  source?: string;
  trace?: 'full' | 'notes';
  /** Replace a node's core after adversaries are applied (tests build broken variants). */
  wrap?: (identity: NodeId, factory: ProtocolFactory) => ProtocolFactory;
  /** Simulation's shareVerdicts (default true; the bench counts each replica's own work). */
  shareVerdicts?: boolean;
}

export function replicaIds(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => `n${i}`);
}

export function clientIds(count: number): NodeId[] {
  return Array.from({ length: count }, (_, i) => `c${i}`);
}

export function buildSimulation(
  scenario: Scenario,
  seed: number,
  trace: 'full' | 'notes' = 'full',
  wrap: RunOptions['wrap'] = (_id, factory) => factory,
  shareVerdicts = true,
) {
  const kit = findKit(scenario.protocol);
  const replicas = replicaIds(scenario.n);
  const clients = clientIds(scenario.clients);
  const byzantine = new Set<string>();
  const factories = new Map<NodeId, ProtocolFactory>();
  for (const id of replicas) factories.set(id, kit.replica(id, scenario.params));
  for (const id of clients) factories.set(id, kit.client(id, scenario.params));
  for (const spec of scenario.adversaries) {
    const honest = factories.get(spec.node);
    if (honest === undefined) throw new Error(`adversary on unknown node "${spec.node}"`);
    const adversary = findAdversary(spec.name, scenario.protocol);
    factories.set(spec.node, adversary.create(honest, adversary.params.parse(spec.params ?? {})));
    byzantine.add(spec.node);
  }
  for (const id of scenario.twins) {
    if (!replicas.includes(id)) throw new Error(`twins: "${id}" is not a replica`);
    byzantine.add(id);
  }
  const sim = new Simulation({
    seed,
    cluster: {
      id: `sim-${scenario.name}`,
      replicas,
      clients,
      f: scenario.f,
      unsafe: scenario.unsafe,
    },
    definition: kit.definition,
    factory: (_instance, identity) => wrap(identity, factories.get(identity)!),
    network: scenario.network,
    ...(scenario.auth === undefined ? {} : { auth: scenario.auth }),
    twins: scenario.twins.map((id) => ({ id: `${id}'`, identity: id })),
    byzantine: [...byzantine, ...scenario.twins.map((id) => `${id}'`)],
    trace,
    shareVerdicts,
    meta: {
      scenario: scenario.name,
      seed,
      protocol: scenario.protocol,
      n: scenario.n,
      f: scenario.f,
    },
  });
  return { sim, kit, replicas, clients, byzantine };
}

export function runScenario(scenario: Scenario, options: RunOptions = {}) {
  const seed = options.seed ?? scenario.seed;
  const wallStart = performance.now();
  const { sim, kit, replicas, clients, byzantine } = buildSimulation(
    scenario,
    seed,
    options.trace,
    options.wrap,
    options.shareVerdicts,
  );
  const history = driveWorkload(sim, kit, scenario, clients, seed);
  for (const fault of scenario.faults)
    sim.at(fault.at, () => applyFault(sim, kit, fault, replicas));
  sim.start();
  sim.runUntil(scenario.duration);
  // A slower network gets a longer run, so that a miss means a stall, not a slow network.
  const deadline = livenessDeadline(scenario);
  while (sim.now < deadline && !judgeLiveness(scenario, history, byzantine, deadline).ok)
    sim.runUntil(Math.min(deadline, sim.now + LIVENESS_STEP_MS));

  const record: RunRecord = {
    replicas,
    clients,
    byzantine,
    history,
    notes: sim.notes,
    endTime: sim.now,
  };
  const violations = kit.check(record, scenario.params);
  const expected = scenario.expect.safety;
  const held = violations.length === 0;
  const asExpected = held === (expected === 'hold');
  const liveness = judgeLiveness(scenario, history, byzantine, deadline);
  const source = options.source ?? scenario.name;
  const report: ScenarioReport = {
    scenario: scenario.name,
    seed,
    ok: asExpected && liveness.ok,
    safety: { held, expected, asExpected, violations },
    liveness,
    stats: {
      ...sim.stats,
      operations: history.filter((h) => h.respondedAt !== null).length,
      lastResponseMs: Math.max(0, ...history.map((h) => h.respondedAt ?? 0)),
      simulatedMs: sim.now,
      wallMs: Math.round(performance.now() - wallStart),
    },
    reproduce: `npx bftkit scenario run ${source} --seed ${seed}`,
  };
  return { report, sim, record };
}

/** Closed-loop clients: each sends its next operation `interval` ms after the last reply. */
function driveWorkload(
  sim: Simulation,
  kit: ProtocolKit,
  scenario: Scenario,
  clients: readonly NodeId[],
  seed: number,
): HistoryEntry[] {
  const { operations, start, interval, params } = scenario.workload;
  return closedLoop(sim, kit, clients, {
    rng: new Rng(seed, 0x5ce9a),
    params,
    start,
    interval,
    more: (client, index) => index < operations && sim.isUp(client),
  });
}

export interface ClosedLoopOptions {
  /** The stream `kit.nextOperation` draws from. */
  rng: Rng;
  params: Params;
  /** When every client sends its first operation (simulated ms). */
  start: number;
  /** Think time: the gap between a reply and the client's next operation (ms). */
  interval: number;
  /** Whether `client` sends its operation number `index` now. */
  more: (client: NodeId, index: number) => boolean;
}

/**
 * Drive `clients` in a closed loop — one operation outstanding each, the next one `interval`
 * ms after the reply — and return the history (filled in as replies arrive during the run).
 */
export function closedLoop(
  sim: Simulation,
  kit: ProtocolKit,
  clients: readonly NodeId[],
  { rng, params, start, interval, more }: ClosedLoopOptions,
): HistoryEntry[] {
  const history: HistoryEntry[] = [];
  const outstanding = new Map<NodeId, HistoryEntry>();
  const issue = (client: NodeId, index: number) => {
    if (!more(client, index)) return;
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
    outstanding.set(client, entry);
    sim.request(client, op);
  };
  sim.onOutput((instance, event, time) => {
    const entry = outstanding.get(instance);
    const reply = event as { type?: string; result?: Json };
    if (entry === undefined || reply.type !== 'reply') return;
    outstanding.delete(instance);
    entry.result = reply.result ?? null;
    entry.respondedAt = time;
    sim.at(time + interval, () => issue(instance, entry.index + 1));
  });
  for (const client of clients) sim.at(start, () => issue(client, 0));
  return history;
}

function applyFault(
  sim: Simulation,
  kit: ProtocolKit,
  fault: Fault,
  replicas: readonly NodeId[],
): void {
  const resolve = (name: string): string | null =>
    name === 'leader' || name === 'primary' ? (kit.leader?.(sim.notes) ?? null) : name;
  switch (fault.action) {
    case 'crash': {
      const target = resolve(fault.node);
      if (target !== null) sim.crash(target);
      return;
    }
    case 'crash-all':
      for (const id of replicas) sim.crash(id);
      return;
    case 'restart':
      for (const id of fault.node === 'all' ? replicas : [fault.node]) sim.restart(id);
      return;
    case 'partition':
      sim.partition(fault.blocks.map((block) => block.map((n) => resolve(n) ?? n)));
      return;
    case 'heal':
      sim.heal();
      return;
    case 'network':
      sim.setNetwork(fault.network as Parameters<Simulation['setNetwork']>[0]);
      return;
  }
}

/** How often an extended run stops to see whether the liveness requirement is met. */
const LIVENESS_STEP_MS = 100;
/** The reference network the scenarios' budgets are set for: latency up to 20 ms, no loss. */
const REFERENCE_LATENCY_MS = 20;

/**
 * How long a run may last to meet its liveness requirement: `duration` on the reference
 * network, scaled by the slowest network the scenario sets (its own, and every 'network'
 * fault). A lost frame waits for its link's retransmission, and a lost or late message can
 * set off a timeout and a view change or an election: each 1% of loss adds 20% of duration,
 * each 1% of duplication 5%, and latency above 20 ms stretches it in proportion. Measured:
 * at 10% loss every built-in scenario met its budget within twice its duration (the factor
 * below gives three times).
 */
export function livenessDeadline(scenario: Scenario): number {
  if (scenario.expect.liveness === undefined) return scenario.duration;
  const networks = [
    scenario.network,
    ...scenario.faults.flatMap((f) => (f.action === 'network' ? [f.network] : [])),
  ];
  const slowdown = Math.max(
    ...networks.map(
      (n) =>
        (1 + 20 * (n.loss ?? 0) + 5 * (n.duplicate ?? 0)) *
        Math.max(1, (n.latency?.max ?? 0) / REFERENCE_LATENCY_MS),
    ),
  );
  return Math.round(scenario.duration * slowdown);
}

function judgeLiveness(
  scenario: Scenario,
  history: readonly HistoryEntry[],
  byzantine: ReadonlySet<NodeId>,
  deadline: number,
) {
  const completed = history.filter((h) => h.respondedAt !== null);
  const requirement = scenario.expect.liveness;
  const after = requirement?.after ?? 0;
  const completedAfter = completed.filter((h) => (h.respondedAt ?? 0) >= after).length;
  const required = requirement?.minOps ?? 0;
  let perClient: ScenarioReport['liveness']['perClient'] = null;
  if (requirement?.minOpsPerClient !== undefined) {
    let fewest: { client: NodeId; completed: number } | null = null;
    for (const client of clientIds(scenario.clients)) {
      if (byzantine.has(client)) continue;
      const mine = completed.filter((h) => h.client === client).length;
      if (fewest === null || mine < fewest.completed) fewest = { client, completed: mine };
    }
    perClient = { required: requirement.minOpsPerClient, fewest };
  }
  const perClientOk = perClient?.fewest == null || perClient.fewest.completed >= perClient.required;
  return {
    ok: completedAfter >= required && perClientOk,
    completed: completed.length,
    completedAfter,
    required,
    after,
    perClient,
    deadline,
  };
}

/** One line: what went unexpectedly in a run ('as expected' when nothing did). */
export function summarize(report: ScenarioReport): string {
  const parts: string[] = [];
  if (!report.safety.asExpected) {
    const first = report.safety.violations[0];
    parts.push(
      report.safety.held
        ? 'expected a safety violation, none found'
        : `safety violated: [${first?.checker}] ${first?.message}`,
    );
  }
  const l = report.liveness;
  if (!l.ok) {
    const fewest = l.perClient?.fewest;
    parts.push(
      `liveness: ${l.completedAfter}/${l.required} operations${fewest == null ? '' : `, ${fewest.client} ${fewest.completed}/${l.perClient?.required}`} by t=${report.stats.simulatedMs}`,
    );
  }
  return parts.join('; ') || 'as expected';
}
