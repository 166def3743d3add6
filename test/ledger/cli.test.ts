import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { BFTKIT } from '../../src/core/launcher.js';
import { txId } from '../../src/ledger/tx.js';
import { crypto, makeFixture, rewriteBlock, standardChain, storeBlocks } from './helpers.js';

const fx = makeFixture();
afterAll(() => fx.cleanup());
const std = standardChain(fx);
const data = storeBlocks(fx, std.blocks, 'good');
const bad = storeBlocks(fx, std.blocks, 'bad');
rewriteBlock(bad, 4, (block) => {
  block.certificate.pop();
});

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err += String(s);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('bftkit ledger', () => {
  it('verify: 0 when the ledger holds', async () => {
    expect(await main(['ledger', 'verify', '--data', data, '--cluster', fx.clusterPath])).toBe(0);
    expect(out).toMatch(/^ledger ok: 5 blocks, 14 transactions \(6 applied, 8 rejected\)/);
    expect(
      await main(['ledger', 'verify', '--data', data, '--cluster', fx.clusterPath, '--json']),
    ).toBe(0);
    expect(JSON.parse(out.split('\n').at(-2)!)).toMatchObject({ ok: true, blocks: 5 });
  });

  it('verify: 1 with the first bad height and the reason', async () => {
    expect(await main(['ledger', 'verify', '--data', bad, '--cluster', fx.clusterPath])).toBe(1);
    expect(out).toBe(
      'ledger INVALID at height 4: certificate: 2 distinct signers, a certificate needs q = 3\n',
    );
  });

  it('verify: 2 on bad input', async () => {
    expect(
      await main([
        'ledger',
        'verify',
        '--data',
        join(fx.dir, 'nowhere'),
        '--cluster',
        fx.clusterPath,
      ]),
    ).toBe(2);
    expect(err).toMatch(/no node database/);
    const broken = join(fx.dir, 'broken.json');
    writeFileSync(broken, '{"format": "bftkit-cluster/1"');
    expect(await main(['ledger', 'verify', '--data', data, '--cluster', broken])).toBe(2);
    const other = makeFixture('someone-else');
    try {
      expect(await main(['ledger', 'verify', '--data', data, '--cluster', other.clusterPath])).toBe(
        2,
      );
      expect(err).toMatch(/belongs to cluster "ledger-test"/);
    } finally {
      other.cleanup();
    }
    expect(await main(['ledger', 'verify', '--data', data])).toBe(2);
  });

  it('prove and check-proof: 0 for a genuine proof, 1 for a tampered one, 2 for junk', async () => {
    const id = txId(std.tx.e!, crypto);
    const proofPath = join(fx.dir, 'proof.json');
    expect(
      await main([
        'ledger',
        'prove',
        '--data',
        data,
        '--tx',
        id,
        '--out',
        proofPath,
        '--cluster',
        fx.clusterPath,
      ]),
    ).toBe(0);
    expect(out).toMatch(/in block 3 \(applied\)/);
    expect(await main(['ledger', 'check-proof', proofPath, '--cluster', fx.clusterPath])).toBe(0);
    expect(out).toMatch(new RegExp(`proof ok: transaction ${id} applied in block 3`));

    const proof = JSON.parse(readFileSync(proofPath, 'utf8'));
    proof.tx.body.amount += 1;
    const tampered = join(fx.dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(proof));
    expect(await main(['ledger', 'check-proof', tampered, '--cluster', fx.clusterPath])).toBe(1);
    expect(out).toMatch(/proof INVALID: the transaction and its outcome are not leaf 4/);

    const junk = join(fx.dir, 'junk.json');
    writeFileSync(junk, 'not json');
    expect(await main(['ledger', 'check-proof', junk, '--cluster', fx.clusterPath])).toBe(2);
    expect(
      await main([
        'ledger',
        'check-proof',
        join(fx.dir, 'absent.json'),
        '--cluster',
        fx.clusterPath,
      ]),
    ).toBe(2);
  });

  it('prove: 1 for an unknown transaction, 2 for a malformed id', async () => {
    const outFile = join(fx.dir, 'p.json');
    expect(
      await main(['ledger', 'prove', '--data', data, '--tx', 'ab'.repeat(32), '--out', outFile]),
    ).toBe(1);
    expect(await main(['ledger', 'prove', '--data', data, '--tx', 'xyz', '--out', outFile])).toBe(
      2,
    );
  });

  it('is wired into the bftkit command', () => {
    vi.restoreAllMocks();
    const r = spawnSync(
      process.execPath,
      [BFTKIT, 'ledger', 'verify', '--data', bad, '--cluster', fx.clusterPath],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/INVALID at height 4/);
  });
});
