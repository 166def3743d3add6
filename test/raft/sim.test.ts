/**
 * Raft in the deterministic simulator: 3- and 5-node clusters under closed-loop KV clients,
 * honest and with faults. Every run must keep Raft's invariants and produce a linearizable
 * history (raftKit.check), and must make progress after its faults end.
 */
import { describe, expect, it } from 'vitest';
import type { Params, RunRecord } from '../../src/core/kit.js';
import { Rng } from '../../src/core/rng.js';
import { raftKit } from '../../src/raft/kit.js';
import { raftDefinition } from '../../src/raft/messages.js';
import { closedLoop } from '../../src/scenario/runner.js';
import { type NetworkModel, Simulation } from '../../src/sim/simulation.js';

interface RunOptions {
  seed: number;
  n: number;
  clients?: number;
  network?: Partial<NetworkModel>;
  faults?: (sim: Simulation, replicas: string[]) => void;
  /** Clients stop issuing new operations at this time. */
  stopAt?: number;
  until?: number;
  params?: Params;
}

function runRaft(options: RunOptions) {
  const { seed, n } = options;
  const params: Params = options.params ?? { electionTimeoutMs: [150, 300], heartbeatMs: 50 };
  const replicas = Array.from({ length: n }, (_, i) => `n${i}`);
  const clients = Array.from({ length: options.clients ?? 2 }, (_, i) => `c${i}`);
  const stopAt = options.stopAt ?? 8_000;
  const until = options.until ?? 10_000;
  const sim = new Simulation({
    seed,
    cluster: { id: 'raft-sim', replicas, clients, f: Math.floor((n - 1) / 2) },
    definition: raftDefinition,
    factory: (_instance, identity) =>
      replicas.includes(identity)
        ? raftKit.replica(identity, params)
        : raftKit.client(identity, params),
    network: { latency: { min: 1, max: 10 }, ...options.network },
    trace: 'notes',
  });
  const history = closedLoop(sim, raftKit, clients, {
    rng: new Rng(seed, 1_000),
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
  return { sim, run, history, completed, violations: raftKit.check(run, params) };
}

/** Who leads at `time`, as the kit judges it from the notes. */
function leaderAt(sim: Simulation): string {
  const leader = raftKit.leader?.(sim.notes) ?? null;
  if (leader === null) throw new Error(`no leader at ${sim.now}`);
  return leader;
}

describe.each([3, 5])('Raft in the simulator, n = %i', (n) => {
  it('honest run: one leader, many operations, linearizable', () => {
    const { violations, completed, sim } = runRaft({ seed: 11 + n, n });
    expect(violations).toEqual([]);
    expect(completed(0)).toBeGreaterThan(200);
    const leaders = sim.notes.filter((x) => x.event === 'became-leader');
    expect(leaders.length).toBeGreaterThanOrEqual(1);
  });

  it('leader crash: a new leader takes over; the old one restarts and catches up', () => {
    const { violations, completed, sim } = runRaft({
      seed: 21 + n,
      n,
      faults: (sim) => {
        sim.at(2_000, () => {
          const leader = leaderAt(sim);
          sim.crash(leader);
          sim.at(4_000, () => sim.restart(leader));
        });
      },
    });
    expect(violations).toEqual([]);
    expect(completed(0, 2_000)).toBeGreaterThan(20);
    expect(completed(2_500, 4_000)).toBeGreaterThan(20);
    expect(completed(4_500)).toBeGreaterThan(20);
    const terms = sim.notes
      .filter((x) => x.event === 'became-leader')
      .map((x) => (x.data as { term: number }).term);
    expect(new Set(terms).size).toBeGreaterThanOrEqual(2);
  });

  it('minority-partitioned leader: the majority elects another; the old one steps down (CheckQuorum)', () => {
    let isolated = '';
    const { violations, completed, sim } = runRaft({
      seed: 31 + n,
      n,
      faults: (sim) => {
        sim.at(2_000, () => {
          isolated = leaderAt(sim);
          sim.partition([[isolated]]);
        });
        sim.at(5_000, () => sim.heal());
      },
    });
    expect(violations).toEqual([]);
    expect(completed(2_800, 5_000)).toBeGreaterThan(20);
    expect(completed(5_500)).toBeGreaterThan(20);
    // CheckQuorum: the isolated leader stepped down while still cut off, not only after the
    // heal let it hear the higher term.
    const roles = sim.notes.filter(
      (x) => x.node === isolated && x.event === 'role' && x.time >= 2_000 && x.time < 5_000,
    );
    expect(roles.some((x) => (x.data as { role: string }).role === 'follower')).toBe(true);
  });

  it('crash-restart all: committed state survives (persisted log, replayed state machine)', () => {
    const { violations, completed, sim } = runRaft({
      seed: 41 + n,
      n,
      faults: (sim, replicas) => {
        sim.at(3_000, () => {
          for (const r of replicas) sim.crash(r);
        });
        sim.at(3_200, () => {
          for (const r of replicas) sim.restart(r);
        });
      },
    });
    expect(violations).toEqual([]);
    expect(completed(0, 3_000)).toBeGreaterThan(20);
    expect(completed(4_000)).toBeGreaterThan(20);
    const recovered = sim.notes.filter((x) => x.event === 'recovered');
    expect(recovered).toHaveLength(n);
    for (const r of recovered) {
      expect((r.data as { commitLength: number }).commitLength).toBeGreaterThan(0);
    }
  });

  it('30% loss and 10% duplication: perfect links hide it, Raft stays safe and live', () => {
    const { violations, completed, sim } = runRaft({
      seed: 51 + n,
      n,
      network: { loss: 0.3, duplicate: 0.1 },
    });
    expect(sim.stats.framesLost).toBeGreaterThan(0);
    expect(violations).toEqual([]);
    // Every lost frame costs a retransmission round (≥ 40 ms): fewer operations, but steady.
    expect(completed(0, 4_000)).toBeGreaterThan(20);
    expect(completed(4_000)).toBeGreaterThan(20);
  });
});

describe('Raft in the simulator: determinism', () => {
  it('one seed, one trace', () => {
    const faults = (sim: Simulation) => sim.at(1_500, () => sim.crash(leaderAt(sim)));
    const a = runRaft({ seed: 7, n: 3, faults, until: 3_000, stopAt: 3_000 });
    const b = runRaft({ seed: 7, n: 3, faults, until: 3_000, stopAt: 3_000 });
    expect(a.sim.traceJsonl()).toBe(b.sim.traceJsonl());
  });
});

describe('Raft in the simulator: random faults', () => {
  it.each([1, 2, 3, 4])(
    'seed %i: crashes, restarts, partitions, loss, small batches — safe, and every operation completes',
    (seed) => {
      const { violations, history } = runRaft({
        seed,
        n: 5,
        clients: 3,
        network: { latency: { min: 1, max: 30 }, loss: 0.1, duplicate: 0.1 },
        params: { electionTimeoutMs: [150, 300], heartbeatMs: 50, maxSuffix: 2, keys: 3 },
        stopAt: 8_000,
        until: 12_000,
        faults: (sim, replicas) => {
          const rng = new Rng(seed, 77);
          for (let t = 500; t < 7_000; t += 400) {
            sim.at(t, () => {
              const r = rng.next();
              if (r < 0.3) {
                const victim = rng.pick(replicas);
                sim.crash(victim);
                sim.at(sim.now + rng.int(50, 800), () => sim.restart(victim));
              } else if (r < 0.5) {
                const cut = replicas.filter(() => rng.chance(0.4));
                if (cut.length > 0 && cut.length < replicas.length) sim.partition([cut]);
                sim.at(sim.now + rng.int(100, 900), () => sim.heal());
              } else if (r < 0.55) {
                for (const v of replicas) sim.crash(v);
                sim.at(sim.now + 100, () => {
                  for (const v of replicas) sim.restart(v);
                });
              }
            });
          }
          sim.at(7_500, () => {
            sim.heal();
            for (const v of replicas) sim.restart(v);
          });
        },
      });
      expect(violations).toEqual([]);
      expect(history.length).toBeGreaterThan(30);
      expect(history.filter((h) => h.respondedAt === null)).toEqual([]);
    },
  );
});
