/**
 * Every replica of a loaded 4-node PBFT cluster (f = 1) of real processes is killed with
 * SIGKILL at once, and all restart from the same data directories. Each restores its stable
 * checkpoint's snapshot and the batches it committed after it from disk (src/pbft/durable.ts);
 * new puts are answered, no acknowledged write is lost (the final reads are part of the
 * history) and the whole history is linearizable.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkLinearizability } from '../../src/check/linearizability.js';
import type { HostStatus } from '../../src/node/status.js';
import { findKit } from '../../src/scenario/kits.js';
import { killAll } from './helpers.js';
import { type KvRunResult, runKvCluster } from './kv-cluster.js';

let run: KvRunResult | null = null;

afterAll(async () => {
  await killAll();
  run?.cluster.cleanup();
});

const noteData = (s: HostStatus | null | undefined, event: string) =>
  (s?.notes[event]?.data ?? null) as { seq?: number } | null;

describe('pbft processes', () => {
  it('survive kill -9 of every replica at once under load: state restored from disk, linearizable', {
    timeout: 400_000,
  }, async () => {
    const leaderOf = (statuses: readonly HostStatus[]) =>
      [...statuses].sort((a, b) => (b.view ?? -1) - (a.view ?? -1))[0]?.leader ?? null;
    run = await runKvCluster({
      kit: findKit('pbft'),
      protocol: 'pbft',
      n: 4,
      clients: 3,
      // A checkpoint every 4 batches, and the kill once every replica has a stable one (and
      // goes on committing after it): the restart needs both the snapshot and the batches.
      params: { viewChangeTimeoutMs: 1_000, requestTimeoutMs: 1_000, checkpointInterval: 4 },
      killWhen: (statuses) =>
        statuses.length === 4 && statuses.every((s) => (noteData(s, 'checkpoint')?.seq ?? 0) > 0),
      leaderOf,
      loadMs: 5_000,
      afterRestartMs: 3_000,
      killAtMs: 2_500,
      downMs: 1_000,
      victims: 'all',
      // What was in flight at the kill is answered after the restart, which on a loaded
      // 2-core machine (four processes starting at once) may take a while.
      opTimeoutMs: 150_000,
      seed: 1,
      keys: ['k0', 'k1', 'k2', 'k3'],
      log: (line) => process.stderr.write(`${line}\n`),
    });
    expect(run.killed).toHaveLength(4);
    expect(run.stuck).toEqual([]);
    expect(run.completedAfterRestart).toBeGreaterThan(0);
    const puts = run.history.filter(
      (h) => (h.op as { op: string }).op === 'put' && h.respondedAt !== null,
    );
    expect(puts.length).toBeGreaterThan(0);
    expect(checkLinearizability(run.history)).toEqual([]);
    for (const id of run.killed) {
      const status = run.statuses.get(id);
      expect(status, id).toMatchObject({ starts: 2, recovered: true });
      // Each one restored from its own disk the stable checkpoint it had before the kill.
      const stable = noteData(run.beforeKill.get(id), 'checkpoint')?.seq ?? 0;
      const restored = noteData(status, 'restore')?.seq ?? -1;
      expect(restored, `${id} restored`).toBeGreaterThanOrEqual(stable);
    }
    // There was a stable checkpoint to restore (the state was not rebuilt from nothing).
    const stables = run.killed.map(
      (id) => noteData(run?.beforeKill.get(id), 'checkpoint')?.seq ?? 0,
    );
    expect(Math.max(...stables)).toBeGreaterThan(0);
  });
});
