/**
 * A 3-node Raft cluster of real processes serves three clients; the leader is killed with
 * SIGKILL during the load and restarted. No acknowledged write is lost (final reads are part
 * of the history) and the history is linearizable. Once with Raft's default auth, 'channel'
 * (unsigned envelopes over the MAC channel), once with 'signed'.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkLinearizability } from '../../src/check/linearizability.js';
import type { HostStatus } from '../../src/node/status.js';
import { findKit } from '../../src/scenario/kits.js';
import { killAll } from './helpers.js';
import { type KvRunResult, runKvCluster } from './kv-cluster.js';

const runs: KvRunResult[] = [];

afterAll(async () => {
  await killAll();
  for (const run of runs) run.cluster.cleanup();
});

describe.each([
  ['channel', undefined],
  ['signed', 'signed'],
] as const)('raft processes, auth %s', (auth, configured) => {
  it('survive kill -9 of the leader under load: nothing acknowledged is lost, linearizable', async () => {
    // The leader of the highest term any replica reports.
    const leaderOf = (statuses: readonly HostStatus[]) =>
      statuses.filter((s) => s.role === 'leader').sort((a, b) => (b.term ?? 0) - (a.term ?? 0))[0]
        ?.id ?? null;
    const run = await runKvCluster({
      kit: findKit('raft'),
      protocol: 'raft',
      n: 3,
      clients: 3,
      params: { electionTimeoutMs: [300, 600], heartbeatMs: 60, clientRetryMs: 500 },
      leaderOf,
      loadMs: 5_000,
      afterRestartMs: 2_000,
      killAtMs: 1_500,
      downMs: 1_500,
      seed: 1,
      keys: ['k0', 'k1', 'k2', 'k3'],
      log: (line) => process.stderr.write(`${line}\n`),
      ...(configured === undefined ? {} : { auth: configured }),
    });
    runs.push(run);
    for (const status of run.statuses.values()) expect(status?.auth).toBe(auth);
    expect(run.stuck).toEqual([]);
    expect(run.killed).toHaveLength(1);
    expect(run.completedAfterRestart).toBeGreaterThan(0);
    expect(checkLinearizability(run.history)).toEqual([]);
    const restarted = run.statuses.get(run.killed[0]!);
    expect(restarted).toMatchObject({ starts: 2, recovered: true });
    // A new leader was elected in a later term.
    const terms = [...run.statuses.values()].map((s) => s?.term ?? 0);
    expect(Math.max(...terms)).toBeGreaterThan(1);
  });
});
