/**
 * Whole-cluster crashes (scenarios/pbft-crash-restart-all*.json, pbft-volatile-state.json):
 * every replica crashes at once and restarts with only what it persisted. Each run must keep
 * safety (agreement, total order, validity, linearizability of the whole history) and serve
 * new requests after the last restart, and show what the description says: each replica
 * restores the state of its stable checkpoint from disk and executes again the batches it
 * committed after it. The negative control, whose replicas keep their state in memory only,
 * must be caught by the linearizability checker. The sweeps over seeds 1–200 are run by hand:
 * `npx bftkit scenario sweep pbft-crash-restart-all --seeds 1..200`.
 */
import { describe, expect, it } from 'vitest';
import type { NoteRecord, RunRecord } from '../../src/core/kit.js';
import type { Json } from '../../src/crypto/json.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/runner.js';

function run(name: string, seed: number) {
  return runScenario(loadScenario(name, []), { seed, trace: 'notes' });
}

type Run = ReturnType<typeof run>;

function expectHolds(r: Run, where: string): void {
  const violations = r.report.safety.violations.map((v) => `${v.checker}: ${v.message}`);
  expect(violations, where).toEqual([]);
  const { ok, completedAfter, after } = r.report.liveness;
  expect(ok, `${where}: ${completedAfter} ops after ${after} ms`).toBe(true);
}

const data = (n: NoteRecord) => n.data as { [k: string]: Json };

/** The 'restore' notes of the restart at `at` (one per replica). */
function restoresAt(record: RunRecord, at: number): NoteRecord[] {
  return record.notes.filter((n) => n.event === 'restore' && n.time === at);
}

/** Highest seq a replica executed before `time`. */
function executedBefore(record: RunRecord, node: string, time: number): number {
  return Math.max(
    0,
    ...record.notes
      .filter((n) => n.node === node && n.event === 'execute' && n.time < time)
      .map((n) => data(n).seq as number),
  );
}

describe('PBFT: every replica crashes at once', { timeout: 300_000 }, () => {
  it('pbft-crash-restart-all (n = 4): the state comes back from disk, in order, once', () => {
    for (const seed of [1, 2]) {
      const r = run('pbft-crash-restart-all', seed);
      expectHolds(r, `seed ${seed}`);
      const { record } = r;
      for (const at of [2300, 5300]) {
        const restores = restoresAt(record, at);
        expect(restores.map((n) => n.node).sort()).toEqual(record.replicas);
        for (const n of restores) {
          // the stable checkpoint's state, then the batches committed after it
          expect(data(n).seq as number).toBeGreaterThan(0);
          const crashedAt = at - 300;
          const before = executedBefore(record, n.node, crashedAt);
          const again = record.notes.filter(
            (x) => x.node === n.node && x.event === 'execute' && x.time === at,
          );
          // in its start step it executes again at least what it had executed before the
          // crash: every batch it executed was committed, hence on its disk
          const upTo = Math.max(data(n).seq as number, ...again.map((x) => data(x).seq as number));
          expect(upTo, `${n.node} at ${at}`).toBeGreaterThanOrEqual(before);
        }
      }
    }
  });

  it('pbft-crash-restart-all-n7 (n = 7, lossy): holds, frames were lost', () => {
    const r = run('pbft-crash-restart-all-n7', 1);
    expectHolds(r, 'n7 seed 1');
    expect(r.sim.cluster.quorum).toBe(5);
    expect(r.sim.stats.framesLost).toBeGreaterThan(0);
    expect(restoresAt(r.record, 5300)).toHaveLength(7);
  });

  it('pbft-crash-restart-all-view-change: the crash comes in the middle of a view change', () => {
    for (const seed of [1, 2]) {
      const r = run('pbft-crash-restart-all-view-change', seed);
      expectHolds(r, `seed ${seed}`);
      const { notes } = r.record;
      // before the crash at 3 s: n2 and n3 complained (VIEW-CHANGE for view 1), no one entered it
      const complained = notes
        .filter((n) => n.event === 'view-change' && n.time < 3000 && data(n).newView === 1)
        .map((n) => n.node);
      expect(new Set(complained)).toEqual(new Set(['n2', 'n3']));
      const entered = notes.filter((n) => n.event === 'view' && (data(n).view as number) > 0);
      expect(entered.filter((n) => n.time < 3000)).toEqual([]);
      // after the restart the view change completes
      expect(entered.some((n) => n.time >= 3300 && n.time < 5500)).toBe(true);
    }
  });

  it('negative control pbft-volatile-state: the lost state is caught by linearizability', () => {
    for (const seed of [1, 2, 3]) {
      const r = run('pbft-volatile-state', seed);
      expect(r.report.safety.expected).toBe('violated');
      expect(r.report.ok, `seed ${seed}`).toBe(true);
      expect(r.report.safety.violations.map((v) => v.checker)).toContain('linearizability');
    }
  });
});
