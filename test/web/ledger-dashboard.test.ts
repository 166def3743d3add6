import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertifiedBlock } from '../../src/ledger/block.js';
import { nodeLedgerCrypto } from '../../src/ledger/node-crypto.js';
import { checkProof, proveTx } from '../../src/ledger/proof.js';
import { txId } from '../../src/ledger/tx.js';
import {
  DASHBOARD_CSP,
  type DashboardServer,
  type DashboardSource,
  startDashboard,
} from '../../src/web/ledger-dashboard.js';
import { makeFixture, standardChain } from '../ledger/helpers.js';
import { CHROMIUM, hasChromium, launchChromium } from './chromium.js';

if (!hasChromium) console.warn(`ledger dashboard browser tests skipped: ${CHROMIUM} is absent`);
const browserIt = it.skipIf(!hasChromium);

const OUTPUT_DIR = fileURLToPath(new URL('../../test-output/', import.meta.url));

// A real certified chain (five blocks: applied and rejected transfers of every kind, an empty
// block), and a second cluster with the same id but other keys.
const fx = makeFixture();
const other = makeFixture();
const std = standardChain(fx);
/** The blocks as stored: plain JSON. */
const stored = JSON.parse(JSON.stringify(std.blocks)) as CertifiedBlock[];
const clusterJson = JSON.parse(readFileSync(fx.clusterPath, 'utf8')) as unknown;
const otherClusterJson = JSON.parse(readFileSync(other.clusterPath, 'utf8')) as unknown;
const idOf = (name: string): string => txId(std.tx[name]!, nodeLedgerCrypto);

const SUMMARY = {
  protocol: 'pbft',
  running: true,
  elapsedSeconds: 83.4,
  blocks: stored.length,
  transactions: stored.reduce((sum, b) => sum + b.txs.length, 0),
  txPerSecond: 12.5,
  viewChanges: 1,
  nodes: [
    { id: 'n0', byzantine: null, up: true, view: 1, lastCommitted: 22, height: 5, rejections: 0 },
    {
      id: 'n1',
      byzantine: null,
      up: true,
      slow: true,
      view: 1,
      lastCommitted: 22,
      height: 5,
      rejections: 0,
    },
    { id: 'n2', byzantine: null, up: false, view: 0, lastCommitted: 13, height: 2, rejections: 0 },
    {
      id: 'n3',
      byzantine: 'equivocating-leader',
      up: true,
      view: null,
      lastCommitted: null,
      height: null,
      rejections: 7,
    },
  ],
  evidence: [
    {
      node: 'n0',
      kind: 'equivocation',
      culprit: 'n3',
      detail: 'two signed PRE-PREPAREs for view 0, seq 13 with different digests',
    },
  ],
};

interface TestSource extends DashboardSource {
  limits: number[];
}

function sourceOver(blocks: readonly CertifiedBlock[]): TestSource {
  const limits: number[] = [];
  return {
    limits,
    cluster: () => clusterJson,
    summary: async () => SUMMARY,
    blocks: async (limit) => {
      limits.push(limit);
      return [...blocks].reverse().slice(0, limit);
    },
    proof: async (id) => proveTx(blocks, id, fx.file.clusterId, nodeLedgerCrypto),
  };
}

let dash: DashboardServer;
const source = sourceOver(stored);

beforeAll(async () => {
  dash = await startDashboard(source);
});

afterAll(async () => {
  await dash?.close();
  fx.cleanup();
  other.cleanup();
});

describe('the ledger dashboard server', () => {
  it('listens on 127.0.0.1 and serves the page under a strict CSP', async () => {
    expect(dash.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${dash.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('id="proof-verdict"');
    // Nothing from elsewhere: no absolute URL in any src or href, no @import.
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
  });

  it('serves the checker bundle, built once', async () => {
    const res = await fetch(`${dash.url}/proof-check.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/export\s*\{[^}]*checkProof/);
    expect(text).not.toMatch(/from\s*["']node:/);
    const etag = res.headers.get('etag')!;
    const again = await fetch(`${dash.url}/proof-check.js`, { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
  });

  it('serves the source as JSON, uncached, with the block limit clamped to 1..100', async () => {
    const cluster = await fetch(`${dash.url}/api/cluster`);
    expect(cluster.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(cluster.headers.get('cache-control')).toBe('no-store');
    expect(await cluster.json()).toEqual(clusterJson);
    expect(await (await fetch(`${dash.url}/api/summary`)).json()).toEqual(SUMMARY);

    const heights = async (query: string) => {
      const res = await fetch(`${dash.url}/api/blocks${query}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as CertifiedBlock[]).map((b) => b.header.height);
    };
    source.limits.length = 0;
    expect(await heights('')).toEqual([5, 4, 3, 2, 1]);
    expect(await heights('?limit=2')).toEqual([5, 4]);
    expect(await heights('?limit=1000')).toEqual([5, 4, 3, 2, 1]);
    expect(await heights('?limit=0')).toEqual([5]);
    expect(source.limits).toEqual([20, 2, 100, 1]);
    expect((await fetch(`${dash.url}/api/blocks?limit=ten`)).status).toBe(400);
  });

  it('serves proofs by tx id: 400 on a bad id, 404 on an unknown one', async () => {
    const bad = await fetch(`${dash.url}/api/proof?tx=bad`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(((await bad.json()) as { error: string }).error).toMatch(/64 hex/);
    expect((await fetch(`${dash.url}/api/proof`)).status).toBe(400);
    expect((await fetch(`${dash.url}/api/proof?tx=${'g'.repeat(64)}`)).status).toBe(400);
    const unknown = await fetch(`${dash.url}/api/proof?tx=${'0'.repeat(64)}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toHaveProperty('error');

    const res = await fetch(`${dash.url}/api/proof?tx=${idOf('e').toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(checkProof(await res.json(), fx.file, nodeLedgerCrypto)).toMatchObject({
      ok: true,
      height: 3,
    });
  });

  it('answers 404 on any other path and 405 on other methods', async () => {
    for (const path of ['/nope', '/api', '/api/blocks/1', '/index.html', '/proof-check.js.map']) {
      const res = await fetch(`${dash.url}${path}`);
      expect(res.status, path).toBe(404);
      await res.body?.cancel();
    }
    const post = await fetch(`${dash.url}/api/summary`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    await post.body?.cancel();
  });

  it('turns a failing source into a 500 and keeps serving', async () => {
    const broken = await startDashboard({
      cluster: () => {
        throw new Error('no cluster file');
      },
      summary: async () => {
        throw new Error('summary exploded');
      },
      blocks: () => Promise.reject(new Error('database locked')),
      proof: async () => {
        const cyclic: { self?: unknown } = {};
        cyclic.self = cyclic;
        return cyclic;
      },
    });
    try {
      const expectError = async (path: string, message: RegExp) => {
        const res = await fetch(`${broken.url}${path}`);
        expect(res.status, path).toBe(500);
        expect(((await res.json()) as { error: string }).error).toMatch(message);
      };
      await expectError('/api/cluster', /no cluster file/);
      await expectError('/api/summary', /summary exploded/);
      await expectError('/api/blocks', /database locked/);
      await expectError(`/api/proof?tx=${'a'.repeat(64)}`, /not JSON/);
      expect((await fetch(`${broken.url}/`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });
});

describe('the ledger dashboard in headless Chromium', () => {
  let dir = '';
  let context: BrowserContext | undefined;
  let page: Page;
  const errors: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    if (!hasChromium) return;
    dir = mkdtempSync(join(tmpdir(), 'bftkit-dashboard-'));
    context = await launchChromium(dir, { width: 1400, height: 900 });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${dash.url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  });

  afterAll(async () => {
    await context?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const verdict = async () => ({
    ok: await page.locator('#proof-verdict').getAttribute('data-ok'),
    text: (await page.locator('#proof-verdict').textContent()) ?? '',
  });

  async function check(): Promise<{ ok: string | null; text: string }> {
    const before = Number((await page.locator('#proof-verdict').getAttribute('data-checks')) ?? 0);
    await page.locator('#proof-check').click();
    await page.waitForSelector(`#proof-verdict[data-checks="${before + 1}"]`);
    return verdict();
  }

  async function prove(name: string, height: number): Promise<void> {
    await page.locator(`#blocks tbody tr[data-height="${height}"]`).click();
    const id = idOf(name);
    await page.locator(`#txs tbody tr[data-tx="${id}"] button.prove`).click();
    await page.waitForSelector(`#proof-text[data-tx="${id}"]`);
    expect((await verdict()).ok).toBeNull();
  }

  browserIt('shows the run, the replicas, the evidence and every block', async () => {
    const heights = await page
      .locator('#blocks tbody tr[data-height]')
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-height'))));
    expect(heights).toEqual([5, 4, 3, 2, 1]);
    const block3 = page.locator('#blocks tbody tr[data-height="3"]');
    expect(await block3.locator('td').nth(3).textContent()).toBe('16');
    expect(await block3.textContent()).toContain('n0 n1 n2');
    // The short hash is computed in the browser, from the header.
    const hash3 = stored[3]!.header.prevHash;
    expect(await block3.locator('td').nth(1).getAttribute('title')).toBe(hash3);

    expect(await page.locator('#stat-protocol').textContent()).toBe('pbft');
    expect(await page.locator('#stat-blocks').textContent()).toBe('5');
    expect(await page.locator('#stat-transactions').textContent()).toBe(
      String(SUMMARY.transactions),
    );
    expect(await page.locator('#stat-view-changes').textContent()).toBe('1');
    expect(await page.locator('#run-state').textContent()).toBe('running');

    const nodes = await page
      .locator('#nodes tbody tr[data-node]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')));
    expect(nodes).toEqual(['n0', 'n1', 'n2', 'n3']);
    const byzantine = page.locator('#nodes tr[data-node="n3"] .badge.byz');
    expect(await byzantine.textContent()).toBe('Byzantine');
    expect(await page.locator('#nodes tr[data-node="n3"] td').first().textContent()).toBe(
      'n3 Byzantine equivocating-leader',
    );
    expect(await page.locator('#nodes .badge.byz').count()).toBe(1);
    expect(await page.locator('#nodes tr[data-node="n2"]').textContent()).toContain('down');
    // A replica whose latest /status answer was late is slow, not down.
    expect(await page.locator('#nodes tr[data-node="n1"] td').nth(1).textContent()).toBe('slow');
    expect(await page.locator('#nodes tr[data-node="n0"] td').nth(1).textContent()).toBe('up');
    expect(await page.locator('#nodes tr[data-node="n3"]').textContent()).toContain('7');

    const evidence = page.locator('#evidence li');
    expect(await evidence.count()).toBe(1);
    const text = (await evidence.textContent()) ?? '';
    expect(text).toContain('n3');
    expect(text).toContain('equivocation');
    expect(text).toContain('two signed PRE-PREPAREs');
    expect(await page.locator('#evidence-empty').isHidden()).toBe(true);
    expect(errors).toEqual([]);
  });

  browserIt(
    'a click on a block lists its transactions, with ids computed in the page',
    async () => {
      await page.locator('#blocks tbody tr[data-height="3"]').click();
      const ids = await page
        .locator('#txs tbody tr[data-tx]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tx')));
      expect(ids).toEqual(stored[2]!.txs.map((e) => txId(e.tx, nodeLedgerCrypto)));
      const poor = (await page.locator(`#txs tr[data-tx="${idOf('poor')}"]`).textContent()) ?? '';
      expect(poor).toContain('rejected (insufficient-funds)');
      expect(poor).toContain('2,000,000');
      expect(await page.locator(`#txs tr[data-tx="${idOf('e')}"]`).textContent()).toContain(
        'applied',
      );
      await page.locator('#blocks tbody tr[data-height="4"]').click();
      expect(await page.locator('#txs tbody').textContent()).toContain('an empty block');
      expect(errors).toEqual([]);
    },
  );

  browserIt(
    'checks a served proof in the browser: valid, for an applied and a rejected tx',
    async () => {
      await prove('e', 3);
      const applied = await check();
      expect(applied.ok).toBe('true');
      expect(applied.text).toMatch(/^valid/);
      expect(applied.text).toContain('height 3');
      expect(applied.text).toContain('applied');

      await prove('poor', 3);
      const rejected = await check();
      expect(rejected.ok).toBe('true');
      expect(rejected.text).toMatch(/^valid/);
      expect(rejected.text).toContain('rejected (insufficient-funds)');

      await prove('f', 5);
      expect((await check()).text).toMatch(/^valid: committed at height 5/);
      expect(errors).toEqual([]);
    },
  );

  browserIt('rejects a tampered proof', async () => {
    await prove('e', 3);
    const original = await page.locator('#proof-text').inputValue();
    const proof = JSON.parse(original) as {
      tx: { body: { amount: number } };
      certificate: { sig: string }[];
    };

    proof.tx.body.amount += 1000;
    await page.locator('#proof-text').fill(JSON.stringify(proof, null, 2));
    const amount = await check();
    expect(amount.ok).toBe('false');
    expect(amount.text).toMatch(/^invalid: /);

    const flipped = JSON.parse(original) as typeof proof;
    const sig = flipped.certificate[1]!.sig;
    flipped.certificate[1]!.sig = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
    await page.locator('#proof-text').fill(JSON.stringify(flipped));
    const signature = await check();
    expect(signature.ok).toBe('false');
    expect(signature.text).toMatch(/^invalid: certificate/);

    await page.locator('#proof-text').fill('{"format": "bftkit-ledger-proof/1"');
    const garbage = await check();
    expect(garbage.ok).toBe('false');
    expect(garbage.text).toMatch(/^invalid: the proof is not JSON/);

    await page.locator('#proof-text').fill(original);
    expect((await check()).ok).toBe('true');
    expect(errors).toEqual([]);
  });

  browserIt('checks against the cluster file in the text area, not the server', async () => {
    await prove('a', 1);
    expect((await check()).ok).toBe('true');

    // Another keygen: the same cluster id, other keys. The served proof no longer checks.
    await page.locator('#cluster-text').fill(JSON.stringify(otherClusterJson, null, 2));
    expect(await page.locator('#cluster-status').textContent()).toContain('edited');
    const foreign = await check();
    expect(foreign.ok).toBe('false');
    expect(foreign.text).toMatch(/^invalid: certificate/);

    await page.locator('#cluster-text').fill('not a cluster file');
    const broken = await check();
    expect(broken.ok).toBe('false');
    expect(broken.text).toMatch(/^invalid: the cluster file is not JSON/);

    await page.locator('#cluster-reset').click();
    expect(await page.locator('#cluster-status').textContent()).toBe('as served');
    expect((await check()).ok).toBe('true');
    expect(errors).toEqual([]);
  });

  browserIt('fetches nothing but its own origin, and saves a screenshot', async () => {
    await prove('e', 3);
    await check();
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIR, 'ledger-dashboard.png'), fullPage: true });
    expect(requests.length).toBeGreaterThan(5);
    const outside = requests.filter((u) => !u.startsWith(`${dash.url}/`));
    expect(outside).toEqual([]);
    // The page keeps polling, once a second.
    const polls = requests.filter((u) => u.endsWith('/api/summary')).length;
    await page.waitForTimeout(1_500);
    expect(requests.filter((u) => u.endsWith('/api/summary')).length).toBeGreaterThan(polls);
    expect(errors).toEqual([]);
  });
});
