/**
 * PBFT in the deterministic simulator with real ed25519 signatures: honest runs, a silent
 * primary replaced by view change, a backup that crashes and catches up by state transfer,
 * and a lossy network. Every run must pass pbftKit.check (agreement, total order, validity,
 * linearizability of the client history).
 */
import { describe, expect, it } from 'vitest';
import type { Params, RunRecord } from '../../src/core/kit.js';
import { Rng } from '../../src/core/rng.js';
import { pbftKit } from '../../src/pbft/kit.js';
import { closedLoop } from '../../src/scenario/runner.js';
import { type NetworkModel, Simulation } from '../../src/sim/simulation.js';

interface RunOptions {
  seed: number;
  n?: number;
  clients?: number;
  network?: Partial<NetworkModel>;
  faults?: (sim: Simulation, replicas: string[]) => void;
  stopAt?: number;
  until?: number;
  params?: Params;
}

const PARAMS: Params = {
  batchSize: 4,
  batchTimeoutMs: 2,
  checkpointInterval: 8,
  watermarkWindow: 32,
  viewChangeTimeoutMs: 300,
  requestTimeoutMs: 200,
};

function runPbft(options: RunOptions) {
  const n = options.n ?? 4;
  const f = Math.floor((n - 1) / 3);
  const params = { ...PARAMS, ...options.params };
  const replicas = Array.from({ length: n }, (_, i) => `r${i}`);
  const clients = Array.from({ length: options.clients ?? 2 }, (_, i) => `c${i}`);
  const stopAt = options.stopAt ?? 4_000;
  const until = options.until ?? 6_000;
  const sim = new Simulation({
    seed: options.seed,
    cluster: { id: 'pbft-sim', replicas, clients, f },
    definition: pbftKit.definition,
    factory: (_instance, identity) =>
      replicas.includes(identity)
        ? pbftKit.replica(identity, params)
        : pbftKit.client(identity, params),
    network: { latency: { min: 1, max: 10 }, ...options.network },
    trace: 'notes',
  });
  const history = closedLoop(sim, pbftKit, clients, {
    rng: new Rng(options.seed, 1_000),
    params,
    start: 5,
    interval: 1,
    more: () => sim.now < stopAt,
  });
  sim.start();
  options.faults?.(sim, replicas);
  sim.runUntil(until);
  const run: RunRecord = {
    replicas,
    clients,
    byzantine: new Set(),
    history,
    notes: sim.notes,
    endTime: until,
  };
  const completed = (from: number, to = Number.POSITIVE_INFINITY) =>
    history.filter((h) => h.respondedAt !== null && h.respondedAt >= from && h.respondedAt < to)
      .length;
  const executedBy = (node: string) =>
    sim.notes
      .filter((x) => x.node === node && x.event === 'execute')
      .map((x) => (x.data as { seq: number }).seq);
  return { sim, run, history, completed, executedBy, violations: pbftKit.check(run, params) };
}

describe('PBFT in the simulator', () => {
  it('4 honest replicas and 2 clients commit a workload, with checkpoints', () => {
    const { violations, completed, sim, executedBy } = runPbft({ seed: 1 });
    expect(violations).toEqual([]);
    expect(completed(0)).toBeGreaterThan(100);
    // every replica executed the same prefix, in order
    const lengths = ['r0', 'r1', 'r2', 'r3'].map((r) => executedBy(r).length);
    expect(Math.min(...lengths)).toBeGreaterThan(20);
    expect(sim.notes.some((x) => x.event === 'checkpoint')).toBe(true);
    expect(sim.notes.filter((x) => x.event === 'evidence')).toEqual([]);
    expect(sim.notes.filter((x) => x.event === 'view-change')).toEqual([]);
    expect(pbftKit.leader?.(sim.notes)).toBe('r0');
  });

  it('n = 7, f = 2: honest run', () => {
    const { violations, completed } = runPbft({
      seed: 2,
      n: 7,
      clients: 3,
      stopAt: 2_000,
      until: 3_000,
    });
    expect(violations).toEqual([]);
    expect(completed(0)).toBeGreaterThan(50);
  });

  it('a silent primary is replaced by view change, and the workload goes on', () => {
    const { violations, completed, sim } = runPbft({
      seed: 3,
      faults: (sim) => sim.at(1_000, () => sim.crash('r0')),
    });
    expect(violations).toEqual([]);
    expect(completed(0, 1_000)).toBeGreaterThan(20);
    expect(completed(2_000)).toBeGreaterThan(20);
    const views = sim.notes
      .filter((x) => x.event === 'view')
      .map((x) => (x.data as { view: number }).view);
    expect(Math.max(...views)).toBeGreaterThanOrEqual(1);
    expect(pbftKit.leader?.(sim.notes)).not.toBe('r0');
  });

  it('a primary silent from the start is replaced too', () => {
    const { violations, completed, sim } = runPbft({
      seed: 4,
      faults: (sim) => sim.crash('r0'),
    });
    expect(violations).toEqual([]);
    expect(completed(0)).toBeGreaterThan(20);
    expect(pbftKit.leader?.(sim.notes)).toBe('r1');
  });

  it('two successive silent primaries (n = 7, f = 2)', () => {
    const { violations, completed, sim } = runPbft({
      seed: 5,
      n: 7,
      faults: (sim) => {
        sim.crash('r0');
        sim.crash('r1');
      },
    });
    expect(violations).toEqual([]);
    expect(completed(0)).toBeGreaterThan(20);
    expect(pbftKit.leader?.(sim.notes)).toBe('r2');
  });

  it('a backup that crashes and restarts catches up by state transfer', () => {
    const { violations, completed, sim, executedBy } = runPbft({
      seed: 6,
      faults: (sim) => {
        sim.at(800, () => sim.crash('r2'));
        sim.at(2_500, () => sim.restart('r2'));
        // later, another backup is silenced: progress needs r2 back in the quorum
        sim.at(3_500, () => sim.crash('r3'));
      },
      stopAt: 5_500,
      until: 7_000,
    });
    expect(violations).toEqual([]);
    expect(sim.notes.some((x) => x.node === 'r2' && x.event === 'state')).toBe(true);
    expect(completed(4_000)).toBeGreaterThan(10);
    expect(executedBy('r2').length).toBeGreaterThan(0);
  });

  it('a lossy, duplicating network changes nothing but speed', () => {
    const { violations, completed } = runPbft({
      seed: 7,
      network: { loss: 0.05, duplicate: 0.05 },
    });
    expect(violations).toEqual([]);
    expect(completed(0)).toBeGreaterThan(50);
  });

  it.each([101, 102, 103, 104, 105])(
    'random crashes, restarts and a partition: safe, and every operation completes (seed %i)',
    (seed) => {
      const plan = new Rng(seed, 77);
      const n = plan.chance(0.3) ? 7 : 4;
      const f = (n - 1) / 3;
      const { violations, history } = runPbft({
        seed,
        n,
        clients: 3,
        params: { checkpointInterval: plan.pick([2, 4, 8]), batchSize: plan.int(1, 5) },
        network: { latency: { min: 1, max: 20 }, loss: 0.03, duplicate: 0.02 },
        faults: (sim, replicas) => {
          const victims = new Set<string>(plan.chance(0.5) ? ['r0'] : []);
          while (victims.size < f) victims.add(plan.pick(replicas));
          for (const v of victims) {
            let t = plan.int(100, 2_500);
            for (let k = 0; k < 2; k++) {
              const up = t + plan.int(100, 1_200);
              sim.at(t, () => sim.crash(v));
              sim.at(up, () => sim.restart(v));
              t = up + plan.int(100, 1_200);
            }
          }
          const isolated = plan.pick(replicas);
          const at = plan.int(500, 3_500);
          sim.at(at, () => sim.partition([[isolated]]));
          sim.at(at + 800, () => sim.heal());
        },
        stopAt: 5_000,
        until: 10_000,
      });
      expect(violations).toEqual([]);
      expect(history.length).toBeGreaterThan(30);
      expect(history.filter((h) => h.respondedAt === null)).toEqual([]);
    },
  );

  it('same seed, same run', () => {
    const a = runPbft({ seed: 8, stopAt: 1_000, until: 1_500 });
    const b = runPbft({ seed: 8, stopAt: 1_000, until: 1_500 });
    expect(JSON.stringify(a.sim.notes)).toBe(JSON.stringify(b.sim.notes));
  });
});
