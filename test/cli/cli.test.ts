import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Point } from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { parseClusterFile } from '../../src/core/cluster-file.js';
import { readKeyFile } from '../../src/core/keyfile.js';
import { BFTKIT } from '../../src/core/launcher.js';
import { smallOrderEncodings } from '../../src/crypto/ed25519.js';

const root = join(import.meta.dirname, '../..');

function bftkit(...args: string[]) {
  const result = spawnSync(process.execPath, [BFTKIT, ...args], {
    encoding: 'utf8',
    cwd: root,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bftkit CLI', () => {
  it('--help lists the commands and exits 0', () => {
    const r = bftkit('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/keygen/);
    expect(r.stdout).toMatch(/scenario/);
    expect(bftkit('keygen', '--help').stdout).toMatch(/--nodes <n>/);
  });

  it('an unknown command or flag prints usage to stderr and exits 2', () => {
    const cmd = bftkit('frobnicate');
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toMatch(/unknown command/);
    expect(cmd.stderr).toMatch(/Usage: bftkit/);
    const flag = bftkit('keygen', '--nodes', '4', '--out', '/tmp/x', '--colour');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/unknown option '--colour'/);
    expect(bftkit('keygen', '--nodes', 'four', '--out', '/tmp/x').code).toBe(2);
  });

  it('keygen writes a valid cluster file and 0600 key files that match it', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bftkit-keygen-')), 'cluster');
    const r = bftkit('keygen', '--nodes', '4', '--clients', '2', '--out', out);
    expect(r.code).toBe(0);
    const file = parseClusterFile(JSON.parse(readFileSync(join(out, 'cluster.json'), 'utf8')));
    expect([file.protocol, file.n, file.f, file.nodes.length, file.clients.length]).toEqual([
      'pbft',
      4,
      1,
      4,
      2,
    ]);
    expect(file.nodes.map((n) => `${n.host}:${n.port}`)).toEqual([
      '127.0.0.1:7000',
      '127.0.0.1:7001',
      '127.0.0.1:7002',
      '127.0.0.1:7003',
    ]);
    for (const member of [...file.nodes, ...file.clients]) {
      const path = join(out, `${member.id}.key`);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const key = readKeyFile(path);
      expect(Buffer.from(key.publicKey).toString('hex')).toBe(member.publicKey);
    }
    // Never overwrites an existing cluster.
    const again = bftkit('keygen', '--nodes', '4', '--out', out);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('keygen refuses a configuration that breaks the fault bound', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bftkit-keygen-')), 'c');
    const r = bftkit('keygen', '--nodes', '3', '--f', '1', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/f: .*n ≥ 3f\+1/);
  });

  it('the committed demo keys load and match their cluster file', () => {
    const file = parseClusterFile(
      JSON.parse(readFileSync(join(root, 'keys/cluster.json'), 'utf8')),
    );
    expect(file.clusterId).toBe('bftkit-demo');
    expect([file.n, file.f, file.clients.length]).toEqual([4, 1, 2]);
  });
});

describe('cluster file validation names the field', () => {
  const valid = JSON.parse(readFileSync(join(root, 'keys/cluster.json'), 'utf8'));
  const broken = (mutate: (c: typeof valid) => void) => {
    const copy = structuredClone(valid);
    mutate(copy);
    return copy;
  };
  it.each([
    [
      'a bad public key',
      (c: typeof valid) => (c.nodes[2].publicKey = 'xyz'),
      /nodes\[2\]\.publicKey/,
    ],
    ['a missing port', (c: typeof valid) => delete c.nodes[1].port, /nodes\[1\]\.port/],
    ['n that disagrees with nodes', (c: typeof valid) => (c.n = 5), /^.*: n: is 5/],
    ['too many faults', (c: typeof valid) => (c.f = 2), /: f: byzantine model needs/],
    [
      'a duplicate id',
      (c: typeof valid) => (c.nodes[3].id = 'n0'),
      /nodes\[3\]\.id: "n0" is also used/,
    ],
    [
      'a duplicate key',
      (c: typeof valid) => (c.clients[1].publicKey = c.nodes[0].publicKey),
      /clients\[1\]\.publicKey/,
    ],
    ['an unknown protocol', (c: typeof valid) => (c.protocol = 'paxos'), /\$\.protocol/],
    ['an unknown field', (c: typeof valid) => (c.colour = 'red'), /colour/],
  ])('%s', (_name, mutate, pattern) => {
    expect(() => parseClusterFile(broken(mutate), 'cluster.json')).toThrow(pattern);
  });

  it('a command given a broken cluster file prints one line naming the field and exits 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bftkit-cluster-'));
    const path = join(dir, 'cluster.json');
    writeFileSync(path, JSON.stringify(broken((c) => (c.nodes[2].publicKey = 'xyz'))));
    const r = bftkit('cluster', 'check', path);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/nodes\[2\]\.publicKey: expected 64 lowercase hex/);
    writeFileSync(path, JSON.stringify(valid));
    expect(bftkit('cluster', 'check', path).code).toBe(0);
  });
});

describe('bad paths are one line on stderr and exit 2', () => {
  it('bench flood-attacker with an unknown attack, or started by hand without the bench', () => {
    const unknown = bftkit('bench', 'flood-attacker', 'nope', '--keys', 'keys', '--client', 'c0');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/attack: expected bad-signatures or unauthenticated/);
    const byHand = bftkit(
      'bench',
      'flood-attacker',
      'unauthenticated',
      '--keys',
      'keys',
      '--client',
      'c0',
    );
    expect(byHand.code).toBe(2);
    expect(byHand.stderr).toMatch(/without an IPC channel/);
  });

  it('demo --data <a regular file>', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bftkit-paths-'));
    writeFileSync(join(dir, 'file'), 'x');
    const r = bftkit('demo', '--data', join(dir, 'file'), '--no-web', '--duration', '1');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not a directory/);
  });

  it('node --data <a directory whose database it cannot open>', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bftkit-paths-'));
    const key = join(dir, 'n0.key');
    writeFileSync(key, readFileSync(join(root, 'keys/n0.key')), { mode: 0o600 });
    const data = join(dir, 'data');
    mkdirSync(join(data, 'state.db'), { recursive: true, mode: 0o700 });
    chmodSync(data, 0o700);
    const r = bftkit(
      'node',
      '--cluster',
      'keys/cluster.json',
      '--id',
      'n0',
      '--key',
      key,
      '--data',
      data,
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot open .*state\.db: EISDIR/);
  });
});

describe('public keys that no signature could verify under (the verification rule)', () => {
  const valid = JSON.parse(readFileSync(join(root, 'keys/cluster.json'), 'utf8'));
  const honest = Point.fromBytes(Buffer.from(valid.nodes[1].publicKey, 'hex'));
  const order8 = smallOrderEncodings().map((hex) => Point.fromBytes(Buffer.from(hex, 'hex')));
  const withTorsion = honest.add(order8.find((p) => !p.multiply(4n).is0()) as typeof honest);
  it.each([
    ...smallOrderEncodings().map((hex) => [`small order ${hex.slice(0, 8)}…`, hex, /small order/]),
    ['non-canonical (y = p)', `ed${'ff'.repeat(30)}7f`, /not a canonical point encoding/],
    ['not on the curve (y = 2)', `02${'00'.repeat(31)}`, /not a point on the curve/],
    [
      'with a torsion component',
      Buffer.from(withTorsion.toBytes()).toString('hex'),
      /not in the prime-order subgroup/,
    ],
  ] as [string, string, RegExp][])('%s is refused, naming the field', (_name, hex, pattern) => {
    const copy = structuredClone(valid);
    copy.nodes[1].publicKey = hex;
    expect(() => parseClusterFile(copy, 'cluster.json')).toThrow(/nodes\[1\]\.publicKey: /);
    expect(() => parseClusterFile(copy, 'cluster.json')).toThrow(pattern);
  });
});

describe('scenario files from the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bftkit-scenario-'));
  const base = JSON.parse(readFileSync(join(root, 'scenarios/register-honest.json'), 'utf8'));
  const write = (name: string, mutate: (s: typeof base) => void) => {
    const copy = structuredClone(base);
    mutate(copy);
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(copy));
    return path;
  };

  it('a broken scenario file gets one line naming the JSON path, and exit 2', () => {
    const path = write('bad-fault', (s) => {
      s.faults = [{ at: 'soon', action: 'crash', node: 'n1' }];
    });
    const r = bftkit('scenario', 'run', path);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\$\.faults\[0\]\.at/);
  });

  it('an unknown adversary name lists the known ones', () => {
    const path = write('bad-adversary', (s) => {
      s.adversaries = [{ node: 'n1', name: 'gremlin' }];
    });
    const r = bftkit('scenario', 'run', path);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /\$\.adversaries\[0\]\.name: unknown adversary "gremlin".*known adversaries: .*stale/,
    );
  });

  it('a scenario whose expectations hold exits 0 and --json prints the verdict', () => {
    const r = bftkit('scenario', 'run', 'register-honest', '--seed', '2', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      scenario: 'register-honest',
      seed: 2,
      ok: true,
      safety: { held: true, expected: 'hold', asExpected: true, violations: [] },
    });
  });

  it('a negative control says safety did not hold, and that this was expected', () => {
    const r = bftkit('scenario', 'run', 'register-too-many-byzantine', '--seed', '1', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      ok: true,
      safety: { held: false, expected: 'violated', asExpected: true },
    });
    expect(report.safety.violations.length).toBeGreaterThan(0);
  });

  it('an expectation that does not hold exits 1 and prints the reproduce command', () => {
    const path = write('impossible', (s) => {
      s.expect = { safety: 'violated' };
    });
    const r = bftkit('scenario', 'run', path, '--seed', '3');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`reproduce: npx bftkit scenario run ${path} --seed 3`);
  });
});
