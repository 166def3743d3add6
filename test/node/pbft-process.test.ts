/**
 * A 4-node PBFT cluster (f = 1) of real processes serves three clients; the primary is
 * killed with SIGKILL during the load and restarted. No acknowledged write is lost (final
 * reads are part of the history) and the history is linearizable.
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

describe('pbft processes', () => {
  it('survive kill -9 of the primary under load: nothing acknowledged is lost, linearizable', async () => {
    // The primary of the highest view any replica reports.
    const leaderOf = (statuses: readonly HostStatus[]) =>
      [...statuses].sort((a, b) => (b.view ?? -1) - (a.view ?? -1))[0]?.leader ?? null;
    run = await runKvCluster({
      kit: findKit('pbft'),
      protocol: 'pbft',
      n: 4,
      clients: 3,
      params: { viewChangeTimeoutMs: 1_000, requestTimeoutMs: 1_000 },
      leaderOf,
      loadMs: 5_000,
      afterRestartMs: 2_000,
      killAtMs: 1_500,
      downMs: 1_500,
      seed: 1,
      keys: ['k0', 'k1', 'k2', 'k3'],
      log: (line) => process.stderr.write(`${line}\n`),
    });
    expect(run.stuck).toEqual([]);
    expect(run.killed).toHaveLength(1);
    expect(run.completedAfterRestart).toBeGreaterThan(0);
    expect(checkLinearizability(run.history)).toEqual([]);
    expect(run.statuses.get(run.killed[0]!)).toMatchObject({ starts: 2, recovered: true });
    // The others moved to a later view with another primary.
    const views = [...run.statuses.values()].map((s) => s?.view ?? 0);
    expect(Math.max(...views)).toBeGreaterThan(0);
  });
});
