/**
 * Running Twins schedules against PBFT (see README.md for the mapping).
 *
 *   round r ↔ view r−1   the leader of round r is primary(r−1) = n((r−1) mod n); a twinned
 *                        leader has an instance in two blocks and leads in both
 *   partition            applied at the round's start, (r−1)·roundMs; instances are cut, not
 *                        identities — "n1" and "n1'" may sit in different blocks
 *   clients              client c_i sits in block (i mod k) of every round
 *   after round R        the network heals and the run goes on for syncMs
 *
 * A schedule compiles to an ordinary scenario (the same JSON `bftkit scenario run FILE`
 * replays): twins, a partition fault at each round's start, a heal, a closed-loop KV
 * workload. It runs through the scenario runner, so the verdict comes from the PBFT kit's
 * checkers: agreement, total order, validity, and linearizability of the client history.
 * Twinned identities count as Byzantine there — their notes prove nothing.
 */
import type { Json } from '../crypto/json.js';
import { validateScenario } from '../scenario/load.js';
import { runScenario } from '../scenario/runner.js';
import type { Scenario, ScenarioInput } from '../scenario/schema.js';
import { checkSpace, describeSchedule, type Schedule, type SpaceConfig } from './generate.js';

/**
 * The protocols `--protocol` accepts: PBFT, and PBFT made unsafe on purpose. `faults` is the f
 * the cluster is configured with (PBFT: the most n allows, ⌊(n−1)/3⌋), which sets the quorum
 * q = ⌊(n+f)/2⌋+1.
 */
export const VARIANTS = {
  pbft: {
    description: 'PBFT as implemented (NEW-VIEW checked: O recomputed from V)',
    params: {},
    faults: (n: number) => Math.floor((n - 1) / 3),
  },
  'pbft-unsafe-new-view': {
    description:
      'PBFT whose backups accept a NEW-VIEW without checking V or recomputing O (unsafeSkipNewViewCheck)',
    params: { unsafeSkipNewViewCheck: true },
    faults: (n: number) => Math.floor((n - 1) / 3),
  },
  'pbft-crash-quorum': {
    description:
      'PBFT configured for crash faults (f = 0): quorums of a bare majority, ⌊n/2⌋+1 (differs from PBFT from n = 5 on)',
    params: {},
    faults: (_n: number) => 0,
  },
} as const satisfies Record<
  string,
  { description: string; params: Record<string, Json>; faults: (n: number) => number }
>;

export type Variant = keyof typeof VARIANTS;

export function isVariant(name: string): name is Variant {
  return Object.hasOwn(VARIANTS, name);
}

export interface TwinsConfig extends SpaceConfig {
  protocol: Variant;
  /** Seeds the sample and every simulation (the same for both variants). */
  seed: number;
  /** Simulated ms per round: long enough for a view change to complete. */
  roundMs: number;
  /** Fully connected period after the last round (0: none). */
  syncMs: number;
  /** Client nodes; client c_i sits in block i mod k. */
  clients: number;
  /** Operations per client (closed loop), when they start, think time between them. */
  operations: number;
  workloadStart: number;
  interval: number;
  /** PBFT parameters shared by every variant (the variant adds its own on top). */
  params: Record<string, Json>;
}

/**
 * The defaults: PBFT with n = 4, f = 1 (five instances); short timeouts, so that a view change
 * fits in a round even after the links' retransmission back-off; a checkpoint after every
 * batch, so that a stable checkpoint is usually the whole committed prefix and a NEW-VIEW's O
 * is often empty (the one place where pbft-unsafe-new-view behaves differently for honest
 * senders — see README.md); a steady workload that keeps requests in flight across round
 * boundaries.
 */
export const DEFAULT_CONFIG: TwinsConfig = {
  protocol: 'pbft',
  n: 4,
  f: 1,
  rounds: 3,
  partitions: 2,
  seed: 1,
  roundMs: 1_500,
  syncMs: 1_500,
  clients: 2,
  operations: 12,
  workloadStart: 20,
  interval: 25,
  params: {
    batchSize: 2,
    batchTimeoutMs: 2,
    checkpointInterval: 1,
    watermarkWindow: 4,
    viewChangeTimeoutMs: 150,
    requestTimeoutMs: 100,
  },
};

export function twinsConfig(overrides: Partial<TwinsConfig> = {}): TwinsConfig {
  const config = { ...DEFAULT_CONFIG, ...overrides };
  config.params = { ...DEFAULT_CONFIG.params, ...overrides.params };
  checkSpace(config);
  if (config.clients < 1) throw new RangeError('twins: at least one client');
  return config;
}

/** The scenario name of one schedule (also a good file name). */
export function scheduleName(config: TwinsConfig, schedule: Schedule): string {
  return `twins-${config.protocol}-${schedule.index}`.slice(0, 64);
}

/**
 * The schedule as a scenario file — what `bftkit scenario run FILE` replays. Every round is a
 * partition fault naming every instance (a twin as "n1'"), with client c_i added to block
 * i mod k; the last round is followed by a heal. Validated like a file on disk, so a schedule
 * that compiles is one the scenario runner accepts.
 */
export function compileSchedule(config: TwinsConfig, schedule: Schedule): Scenario {
  const clients = Array.from({ length: config.clients }, (_, i) => `c${i}`);
  const faults: ScenarioInput['faults'] = schedule.rounds.map((blocks, r) => {
    const withClients = blocks.map((block) => [...block]);
    clients.forEach((client, i) => {
      withClients[i % withClients.length]!.push(client);
    });
    return { at: r * config.roundMs, action: 'partition', blocks: withClients };
  });
  const end = config.rounds * config.roundMs;
  faults.push({ at: end, action: 'heal' });
  const variant = VARIANTS[config.protocol];
  const input: ScenarioInput = {
    name: scheduleName(config, schedule),
    description:
      `Twins schedule ${schedule.index} (${config.protocol}, R=${config.rounds}, k=${config.partitions}, seed ${config.seed}): ${describeSchedule(schedule)}; clients c_i in block i mod k; round r runs view r-1.`.slice(
        0,
        2000,
      ),
    protocol: 'pbft',
    n: config.n,
    f: variant.faults(config.n),
    clients: config.clients,
    seed: config.seed,
    duration: end + config.syncMs,
    params: { ...config.params, ...variant.params },
    faults,
    twins: schedule.twins,
    workload: {
      operations: config.operations,
      start: config.workloadStart,
      interval: config.interval,
    },
    expect: { safety: 'hold' },
  };
  return validateScenario(input, input.name);
}

export interface ScheduleResult {
  index: string;
  schedule: string;
  violations: { checker: string; message: string }[];
  /** Client operations completed. */
  completed: number;
  /** Highest view any replica instance entered. */
  maxView: number;
  wallMs: number;
  /** Set when the run itself threw (a harness or protocol bug, reported as a violation). */
  crashed?: string;
}

/** Run one schedule and judge it with the PBFT checkers. */
export function runSchedule(config: TwinsConfig, schedule: Schedule): ScheduleResult {
  const start = performance.now();
  try {
    const scenario = compileSchedule(config, schedule);
    const { report, record } = runScenario(scenario, { trace: 'notes' });
    let maxView = 0;
    for (const note of record.notes) {
      if (note.event !== 'view') continue;
      const view = (note.data as { view?: unknown } | null)?.view;
      if (typeof view === 'number' && view > maxView) maxView = view;
    }
    return {
      index: schedule.index,
      schedule: describeSchedule(schedule),
      violations: report.safety.violations.map((v) => ({
        checker: v.checker,
        message: v.message,
      })),
      completed: report.stats.operations,
      maxView,
      wallMs: Math.round(performance.now() - start),
    };
  } catch (e) {
    return {
      index: schedule.index,
      schedule: describeSchedule(schedule),
      violations: [{ checker: 'twins.crash', message: (e as Error).message }],
      completed: 0,
      maxView: 0,
      wallMs: Math.round(performance.now() - start),
      crashed: (e as Error).stack ?? String(e),
    };
  }
}
