/**
 * `bftkit demo` end to end, as a newcomer runs it: real replica processes (n0 an equivocating
 * primary), clients relaying signed transfers, the dashboard of the running demo opened in
 * headless Chromium (its blocks shown; a genuine proof accepted and a tampered one rejected
 * in the page), and the final JSON summary: ok, the evidence against n0, every honest
 * replica's ledger verified. Bad options exit 2 before anything starts.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { BFTKIT } from '../../src/core/launcher.js';
import type { DemoSummary } from '../../src/demo/run.js';
import { CHROMIUM, hasChromium, launchChromium } from '../web/chromium.js';

const OUTPUT_DIR = fileURLToPath(new URL('../../test-output/', import.meta.url));
if (!hasChromium) console.warn(`demo dashboard check skipped: ${CHROMIUM} is absent`);

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bftkit-demo-test-'));
  dirs.push(dir);
  return dir;
}

function demoSync(args: string[]) {
  return spawnSync(process.execPath, [BFTKIT, 'demo', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('bftkit demo: bad options exit 2 before anything starts', () => {
  it.each([
    [['--protocol', 'raft'], /ledger runs over PBFT only/],
    [['--protocol', 'paxos'], /expected pbft or raft/],
    [['--duration', '0'], /--duration/],
    [['--byzantine', 'n9=equivocating-primary'], /n9/],
    [['--byzantine', 'n1=no-such-adversary'], /equivocating-primary/],
  ])('%j', (args, message) => {
    const data = join(tempDir(), 'd');
    const r = demoSync([...args, '--no-web', '--data', data]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(data)).toBe(false);
  });

  it('a data directory that is not empty is refused, and left as it was', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const r = demoSync(['--no-web', '--data', dir]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/not empty/);
    expect(existsSync(join(dir, 'keep.txt'))).toBe(true);
    expect(existsSync(join(dir, 'keys'))).toBe(false);
  });
});

describe('bftkit demo --json with a Byzantine primary', () => {
  it('serves a dashboard that shows the blocks and checks proofs, and ends ok with the evidence', async () => {
    const data = join(tempDir(), 'data');
    const child = spawn(
      process.execPath,
      [BFTKIT, 'demo', '--duration', '20', '--json', '--data', data],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const url = new Promise<string>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr);
        if (m !== null) resolve(m[1]!);
      });
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );

    if (hasChromium) {
      const address = await Promise.race([url, exited.then(() => null)]);
      expect(address, stderr).not.toBeNull();
      const profile = tempDir();
      let context: BrowserContext | null = null;
      try {
        context = await launchChromium(profile, { width: 1400, height: 900 });
        const page = context.pages()[0] ?? (await context.newPage());
        await page.goto(`${address}/`);
        await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
        // The running demo's blocks appear, and n0 is shown as Byzantine.
        await page.waitForSelector('#blocks tbody tr[data-height]', { timeout: 30_000 });
        await expect
          .poll(() => page.locator('#nodes tr[data-node="n0"] .badge.byz').count(), {
            timeout: 10_000,
          })
          .toBe(1);
        const row = page.locator('#blocks tbody tr[data-height]').first();
        const height = Number(await row.getAttribute('data-height'));
        expect(height).toBeGreaterThan(0);
        await row.click();
        const prove = page.locator('#txs tbody tr[data-tx] button.prove').first();
        await prove.click();
        await page.waitForSelector('#proof-text[data-tx]', { timeout: 10_000 });
        const verdict = page.locator('#proof-verdict');
        const check = async () => {
          const before = Number((await verdict.getAttribute('data-checks')) ?? 0);
          await page.locator('#proof-check').click();
          await page.waitForSelector(`#proof-verdict[data-checks="${before + 1}"]`);
          return {
            ok: await verdict.getAttribute('data-ok'),
            text: (await verdict.textContent()) ?? '',
          };
        };
        const genuine = await check();
        expect(genuine.ok, genuine.text).toBe('true');
        expect(genuine.text).toMatch(/^valid/);
        // Tamper: one more unit to the payee.
        const text = await page.locator('#proof-text').inputValue();
        const proof = JSON.parse(text) as { tx: { body: { amount: number } } };
        proof.tx.body.amount += 1;
        await page.locator('#proof-text').fill(JSON.stringify(proof, null, 2));
        const tampered = await check();
        expect(tampered.ok).toBe('false');
        expect(tampered.text).toMatch(/^invalid/);
        mkdirSync(OUTPUT_DIR, { recursive: true });
        await page.screenshot({ path: join(OUTPUT_DIR, 'ledger-demo.png'), fullPage: true });
      } finally {
        await context?.close();
      }
    }

    const code = await exited;
    expect(code, `${stderr}\n${stdout}`).toBe(0);
    const summary = JSON.parse(stdout) as DemoSummary;
    expect(summary).toMatchObject({
      ok: true,
      protocol: 'pbft',
      nodes: 4,
      byzantine: [{ node: 'n0', adversary: 'equivocating-primary' }],
      dataDir: data,
    });
    expect(summary.blocks).toBeGreaterThan(0);
    expect(summary.transactions).toBeGreaterThan(0);
    expect(summary.txPerSecond).toBeGreaterThan(0);
    expect(summary.viewChanges).toBeGreaterThanOrEqual(1);
    expect(summary.evidence.length).toBeGreaterThan(0);
    for (const e of summary.evidence)
      expect(e).toMatchObject({ culprit: 'n0', kind: 'equivocation' });
    expect(summary.verified.map((v) => [v.node, v.ok])).toEqual([
      ['n1', true],
      ['n2', true],
      ['n3', true],
    ]);
    // And the CLI audit agrees, offline, with the public keys only.
    const verify = spawnSync(
      process.execPath,
      [
        BFTKIT,
        'ledger',
        'verify',
        '--data',
        join(data, 'nodes', 'n1'),
        '--cluster',
        join(data, 'keys', 'cluster.json'),
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^ledger ok: \d+ blocks/);
  }, 240_000);
});
