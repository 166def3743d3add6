/** `bftkit node` and `bftkit cluster up` as commands: bad input exits 2; up/stop works. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownKits } from '../../src/scenario/kits.js';
import {
  BFTKIT,
  getStatus,
  killAll,
  makeCluster,
  root,
  type TempCluster,
  waitFor,
} from './helpers.js';

function bftkit(...args: string[]) {
  const r = spawnSync(process.execPath, [BFTKIT, ...args], {
    encoding: 'utf8',
    cwd: root,
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let cluster: TempCluster;
let raft: TempCluster;
beforeAll(async () => {
  cluster = await makeCluster(4, 1, 'pbft');
  raft = await makeCluster(3, 1, 'raft');
});
afterAll(async () => {
  await killAll();
  cluster?.cleanup();
  raft?.cleanup();
});

describe('bftkit node: bad input exits 2 with one line saying what is wrong', () => {
  it('an id that is not a node, a missing cluster file, bad --params', () => {
    const data = join(cluster.dir, 'd');
    const notNode = bftkit('node', '--cluster', cluster.clusterPath, '--id', 'c0', '--data', data);
    expect(notNode.code).toBe(2);
    expect(notNode.stderr).toMatch(/"c0" is not a node/);
    const missing = bftkit(
      'node',
      '--cluster',
      join(cluster.dir, 'nope.json'),
      '--id',
      'n0',
      '--data',
      data,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read cluster file/);
    const params = bftkit(
      'node',
      '--cluster',
      raft.clusterPath,
      '--id',
      'n0',
      '--data',
      data,
      '--params',
      '[1]',
    );
    expect(params.code).toBe(2);
    expect(params.stderr).toMatch(/--params: expected a JSON object/);
  });

  it('a key file that others can read is refused, not chmod-ed', () => {
    const key = join(cluster.dir, 'n0-copy.key');
    copyFileSync(join(cluster.dir, 'keys', 'n0.key'), key);
    chmodSync(key, 0o644);
    const r = bftkit(
      'node',
      '--cluster',
      raft.clusterPath,
      '--id',
      'n0',
      '--data',
      join(raft.dir, 'd0'),
      '--key',
      key,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/readable by others/);
    // A key of another cluster is refused too.
    chmodSync(key, 0o600);
    const other = bftkit(
      'node',
      '--cluster',
      raft.clusterPath,
      '--id',
      'n0',
      '--data',
      join(raft.dir, 'd0'),
      '--key',
      key,
    );
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/is for cluster/);
  });

  it('cluster up refuses a bad --adversary spec', () => {
    const r = bftkit(
      'cluster',
      'up',
      '--cluster',
      raft.clusterPath,
      '--data',
      join(raft.dir, 'up'),
      '--adversary',
      'n9=x',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"n9" is not a node/);
  });
});

const hasRaft = knownKits().some((k) => k.name === 'raft');

describe.skipIf(!hasRaft)('bftkit cluster up', () => {
  it('starts every node, reports a child that dies, and stops them all on SIGTERM', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [BFTKIT, 'cluster', 'up', '--cluster', raft.clusterPath, '--data', join(raft.dir, 'up')],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(() => out.includes('cluster up;'), 60_000, `cluster up (output: ${out})`);
      for (const id of ['n0', 'n1', 'n2'])
        expect(out).toMatch(new RegExp(`${id} up: ws://127.0.0.1:\\d+/bftkit`));
      const n1 = await getStatus(raft.port('n1'));
      expect(n1).not.toBeNull();
      process.kill(n1!.pid, 'SIGKILL');
      await waitFor(() => /n1 exited \(signal SIGKILL\)/.test(out), 10_000, 'exit report');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toMatch(/stopped/);
      for (const id of ['n0', 'n2']) expect(await getStatus(raft.port(id))).toBeNull();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
