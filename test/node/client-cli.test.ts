/**
 * `bftkit client` against real replica processes: put/get/cas through a PBFT cluster (f+1
 * matching replies) and a Raft cluster (redirects to the leader), and every exit code —
 * 0 success, 1 a definite failure, 2 bad input, 3 no answer in time (a cluster that is down).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostStatus } from '../../src/node/status.js';
import {
  type CliRun,
  getStatus,
  killAll,
  makeCluster,
  runBftkit,
  sleep,
  spawnNode,
  type TempCluster,
  waitStatus,
} from './helpers.js';

const bftkit = (...args: string[]): Promise<CliRun> => runBftkit(args);

const meshUp = (s: HostStatus) =>
  s.peers.filter((p) => p.kind === 'replica').every((p) => p.connected);

let pbft: TempCluster;
let raft: TempCluster;
let down: TempCluster;

beforeAll(async () => {
  [pbft, raft, down] = await Promise.all([
    makeCluster(4, 2, 'pbft'),
    makeCluster(3, 1, 'raft'),
    makeCluster(4, 1, 'pbft'),
  ]);
  for (const c of [pbft, raft]) for (const n of c.file.nodes) spawnNode(c, n.id, { real: true });
  for (const c of [pbft, raft])
    for (const n of c.file.nodes) await waitStatus(c.port(n.id), meshUp, 60_000, `${n.id} mesh`);
  // Raft: wait for a leader, so the first request does not race the election.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const statuses = await Promise.all(raft.file.nodes.map((n) => getStatus(raft.port(n.id))));
    if (statuses.some((s) => s?.role === 'leader')) break;
    if (Date.now() > deadline) throw new Error('no raft leader within 30 s');
    await sleep(100);
  }
});

afterAll(async () => {
  await killAll();
  for (const c of [pbft, raft, down]) c?.cleanup();
});

function client(c: TempCluster, keyId: string, ...args: string[]) {
  return bftkit(
    'client',
    '--cluster',
    c.clusterPath,
    '--key',
    join(c.dir, 'keys', `${keyId}.key`),
    ...args,
  );
}

describe('bftkit client on a PBFT cluster', () => {
  it('put, get and cas, with exit 1 for a missing key and a CAS mismatch', async () => {
    const put = await client(pbft, 'c0', 'put', 'color', 'red');
    expect(put).toMatchObject({ code: 0, stdout: 'ok\n' });
    const get = await client(pbft, 'c1', 'get', 'color');
    expect(get).toMatchObject({ code: 0, stdout: 'red\n' });
    const missing = await client(pbft, 'c0', 'get', 'shape');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/shape: absent/);
    const swapped = await client(pbft, 'c0', 'cas', 'color', 'red', 'blue');
    expect(swapped).toMatchObject({ code: 0, stdout: 'ok\n' });
    const mismatch = await client(pbft, 'c1', 'cas', 'color', 'red', 'green');
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/mismatch: color is blue/);
    // Successive invocations with one key keep working (the request counter grows).
    const again = await client(pbft, 'c0', 'get', 'color');
    expect(again).toMatchObject({ code: 0, stdout: 'blue\n' });
  });

  it('cas from "-" (absent) and --json', async () => {
    const created = await client(pbft, 'c1', '--json', 'cas', 'fresh', '-', 'v1');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual({
      op: 'cas',
      key: 'fresh',
      from: null,
      to: 'v1',
      ok: true,
      value: 'v1',
    });
    const again = await client(pbft, 'c0', '--json', 'cas', 'fresh', '-', 'v2');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: false, value: 'v1' });
    const get = await client(pbft, 'c0', '--json', 'get', 'nothing-here');
    expect(get.code).toBe(1);
    expect(JSON.parse(get.stdout)).toEqual({
      op: 'get',
      key: 'nothing-here',
      ok: false,
      value: null,
    });
  });

  it('bad input exits 2: arguments, a key that is not a client, an unreadable key file', async () => {
    const results = await Promise.all([
      client(pbft, 'c0', 'frob', 'x'),
      client(pbft, 'c0', 'put', 'onlykey'),
      client(pbft, 'n0', 'get', 'color'),
      bftkit(
        'client',
        '--cluster',
        pbft.clusterPath,
        '--key',
        join(pbft.dir, 'nope.key'),
        'get',
        'x',
      ),
      client(pbft, 'c0', '--timeout', 'soon', 'get', 'x'),
      bftkit('client', '--cluster', pbft.clusterPath, 'get', 'x'),
    ]);
    for (const r of results) expect(r.code).toBe(2);
    const [unknownOp, arity, replicaKey, unreadable] = results;
    expect(unknownOp!.stderr).toMatch(/unknown operation "frob"/);
    expect(arity!.stderr).toMatch(/put takes 2 argument/);
    expect(replicaKey!.stderr).toMatch(/"n0" is not a client/);
    expect(unreadable!.stderr).toMatch(/cannot read key file/);
    // A key of another cluster is refused as well.
    const foreign = await bftkit(
      'client',
      '--cluster',
      pbft.clusterPath,
      '--key',
      join(raft.dir, 'keys', 'c0.key'),
      'get',
      'x',
    );
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/is for cluster/);
  });

  it('exits 3 when the cluster does not answer in time (it is down)', async () => {
    const started = Date.now();
    const r = await client(down, 'c0', '--timeout', '1500', 'put', 'k', 'v');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /no answer from cluster .* within 1500 ms \(0\/4 replicas reachable\)/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    const json = await client(down, 'c0', '--timeout', '500', '--json', 'get', 'k');
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: 'timeout' });
  });
});

describe('bftkit client on a Raft cluster', () => {
  it('follows redirects to the leader: put, get, cas', async () => {
    // c0 starts at a random replica; a follower redirects or forwards it to the leader.
    expect(await client(raft, 'c0', 'put', 'x', '1')).toMatchObject({ code: 0, stdout: 'ok\n' });
    expect(await client(raft, 'c0', 'get', 'x')).toMatchObject({ code: 0, stdout: '1\n' });
    expect(await client(raft, 'c0', 'cas', 'x', '1', '2')).toMatchObject({ code: 0 });
    const mismatch = await client(raft, 'c0', 'cas', 'x', '1', '3');
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/mismatch: x is 2/);
  });
});
