import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { builtinNames } from '../../src/scenario/load.js';
import type { TraceHeader, TraceLine } from '../../src/sim/trace.js';
import { embedJsonString, renderTraceHtml, VIEWER_CSP } from '../../src/web/trace-viewer.js';
import { CHROMIUM, hasChromium, launchChromium } from './chromium.js';
import { buildTrace } from './fixture.js';

if (!hasChromium) console.warn(`trace viewer browser tests skipped: ${CHROMIUM} is absent`);
const browserIt = it.skipIf(!hasChromium);

const OUTPUT_DIR = fileURLToPath(new URL('../../test-output/', import.meta.url));

function parse(jsonl: string): { header: TraceHeader; lines: TraceLine[] } {
  const [first, ...rest] = jsonl.trim().split('\n');
  return {
    header: JSON.parse(first!) as TraceHeader,
    lines: rest.map((l) => JSON.parse(l) as TraceLine),
  };
}

/** The expected causal past, straight from the definition: vc(e') ≤ vc(e), e' ≠ e. */
function expectedPast(lines: TraceLine[], e: TraceLine): number[] {
  return lines
    .filter(
      (o) =>
        o.seq !== e.seq &&
        e.vc.length > 0 &&
        o.vc.length === e.vc.length &&
        o.vc.every((v, i) => v <= e.vc[i]!),
    )
    .map((o) => o.seq)
    .sort((a, b) => a - b);
}

const eventId = (l: TraceLine): string | undefined =>
  'id' in l.event && typeof l.event.id === 'string' ? l.event.id : undefined;

describe('renderTraceHtml', () => {
  const jsonl = buildTrace();

  it('writes one self-contained page under a strict CSP', () => {
    const html = renderTraceHtml(jsonl, { title: 'a <b>title</b>' });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${VIEWER_CSP}">`);
    expect(VIEWER_CSP).toContain("default-src 'none'");
    expect(html).toContain('<title>a &lt;b&gt;title&lt;/b&gt;</title>');
    // Nothing to fetch: no external script, style sheet, image or font.
    expect(html).not.toMatch(/<(link|img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?(https?:|\/\/)/i);
  });

  it('embeds the trace so that it cannot end the script element', () => {
    const evil = 'x</script><script>alert(1)</script><!-- \u2028\u2029 & "q"';
    const embedded = embedJsonString(evil);
    expect(embedded).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(embedded)).toBe(evil);
    const trace = `${jsonl.split('\n')[0]}\n${JSON.stringify({ seq: 0, time: 0, node: 'n0', lamport: 1, vc: [1, 0, 0, 0], event: { type: 'note', event: evil, data: null } })}\n`;
    const html = renderTraceHtml(trace);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).not.toContain('<!--');
    expect(html).not.toMatch(/[\u2028\u2029]/);
  });

  it('is what `bftkit scenario run <name> --html FILE` writes', async () => {
    const names = builtinNames();
    const name = names.includes('register-honest') ? 'register-honest' : names[0];
    if (name === undefined) return;
    const dir = mkdtempSync(join(tmpdir(), 'bftkit-html-'));
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const file = join(dir, 'run.html');
      await main(['scenario', 'run', name, '--html', file, '--json']);
      const html = readFileSync(file, 'utf8');
      expect(html).toContain(`<title>${name} seed `);
      const data = html.match(/<script type="application\/json" id="trace-data">(.*)<\/script>/);
      const trace = JSON.parse(data![1]!) as string;
      // A full trace, with the clocks' causal edges.
      expect(trace).toContain('"type":"send"');
      expect(trace).toContain('"type":"deliver"');
    } finally {
      out.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses text that is not a trace', () => {
    expect(() => renderTraceHtml('')).toThrow(/bftkit-trace\/1/);
    expect(() => renderTraceHtml('{"type":"header","format":"other"}\n')).toThrow(/header/);
    expect(() => renderTraceHtml('not json\n')).toThrow(/header/);
  });
});

describe('the trace viewer in headless Chromium', () => {
  const jsonl = buildTrace();
  const { header, lines } = parse(jsonl);
  const bySeq = new Map(lines.map((l) => [l.seq, l]));
  let dir = '';
  let context: BrowserContext | undefined;
  let page: Page;
  const errors: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    if (!hasChromium) return;
    dir = mkdtempSync(join(tmpdir(), 'bftkit-viewer-'));
    context = await launchChromium(dir, { width: 1400, height: 760 });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('request', (r) => requests.push(r.url()));
  });

  afterAll(async () => {
    await context?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  async function open(html: string, name = 'trace.html'): Promise<void> {
    const file = join(dir, name);
    writeFileSync(file, html);
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
  }

  async function seqsWith(selector: string): Promise<number[]> {
    const seqs = await page
      .locator(selector)
      .evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-seq'))));
    return seqs.sort((a, b) => a - b);
  }

  browserIt('draws one lane per instance, one event per line, one arrow per delivery', async () => {
    await open(renderTraceHtml(jsonl));
    const sends = new Map(
      lines.filter((l) => l.event.type === 'send').map((l) => [eventId(l)!, l]),
    );
    const delivered = lines
      .filter((l) => l.event.type === 'deliver' && sends.has(eventId(l)!))
      .map((l) => eventId(l)!);
    const undelivered = [...sends.keys()].filter((id) => !delivered.includes(id));
    expect(delivered.length).toBeGreaterThan(20);
    expect(undelivered).toHaveLength(1);

    expect(await page.locator('#plot .lane').count()).toBe(header.instances.length);
    expect(await seqsWith('#plot .event')).toEqual(lines.map((l) => l.seq));
    const arrowIds = await page
      .locator('#plot .arrow:not(.dangling)')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-id')));
    expect(arrowIds.sort()).toEqual([...delivered].sort());
    const dangling = await page
      .locator('#plot .arrow.dangling')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-id')));
    expect(dangling).toEqual(undelivered);
    // The Byzantine instance is marked, and so are its adversary note and the partition.
    const byzantine = header.instances.filter((i) => i.byzantine).map((i) => i.id);
    expect(byzantine).toEqual(['n3']);
    expect(await page.locator('#plot .lane.byzantine').getAttribute('data-node')).toBe('n3');
    expect(await page.locator('#labels .lane-label.byzantine').textContent()).toBe('n3');
    expect(await page.locator('#plot .event.cat-adversary').count()).toBe(1);
    expect(await page.locator('#plot .event.cat-commit').count()).toBeGreaterThan(3);
    expect(await page.locator('#plot .partition-band').count()).toBe(1);
    expect(await page.locator('#plot .down').count()).toBe(1);
    expect(errors).toEqual([]);
  });

  browserIt('a click highlights exactly the causal past and shows the event', async () => {
    await open(renderTraceHtml(jsonl));
    // A delivery on n1 whose past spans at least three instances.
    const chosen = lines.find(
      (l) =>
        l.node === 'n1' &&
        l.event.type === 'deliver' &&
        new Set(expectedPast(lines, l).map((s) => bySeq.get(s)!.node)).size >= 3,
    )!;
    expect(chosen).toBeDefined();
    const expected = expectedPast(lines, chosen);
    expect(expected.length).toBeGreaterThan(5);
    expect(expected.length).toBeLessThan(lines.length - 20);

    await page.locator(`#plot .event[data-seq="${chosen.seq}"]`).click();
    expect(await seqsWith('#plot .event.causal-past')).toEqual(expected);
    expect(await seqsWith('#plot .event.selected')).toEqual([chosen.seq]);
    expect(JSON.parse((await page.locator('#selection-json').textContent())!)).toEqual(chosen);
    expect(await page.locator('#selection-past').textContent()).toContain(
      `causal past: ${expected.length} events`,
    );
    // Every highlighted arrow joins two highlighted events (or the selected one).
    const cone = new Set([...expected, chosen.seq]);
    const arrows = await page
      .locator('#plot .arrow.causal-past')
      .evaluateAll((els) =>
        els.map((el) => [el.getAttribute('data-send'), el.getAttribute('data-deliver')]),
      );
    expect(arrows.length).toBeGreaterThan(0);
    for (const [s, d] of arrows) expect(cone.has(Number(s)) && cone.has(Number(d))).toBe(true);

    // A send shows its body in the panel.
    const send = lines.find((l) => l.event.type === 'send' && l.node === 'n2')!;
    await page.locator(`#plot .event[data-seq="${send.seq}"]`).click();
    const shown = JSON.parse((await page.locator('#selection-json').textContent())!);
    expect(shown).toEqual(send);
    expect(shown.event.body).toEqual({ n: 0 });

    // A network-wide event has no clocks, hence no causal past, and is in none.
    const partition = lines.find((l) => l.event.type === 'partition')!;
    await page.locator(`#plot .event[data-seq="${partition.seq}"]`).click();
    expect(await page.locator('#plot .event.causal-past').count()).toBe(0);
    const last = lines.filter((l) => l.vc.length > 0).at(-1)!;
    await page.locator(`#plot .event[data-seq="${last.seq}"]`).click();
    expect(await seqsWith('#plot .event.causal-past')).toEqual(expectedPast(lines, last));
    expect(await seqsWith('#plot .event.causal-past')).not.toContain(partition.seq);

    // Clicking the background clears.
    await page.locator('#plot rect.background').click({ position: { x: 4, y: 4 } });
    expect(await page.locator('#plot .causal-past, #plot .selected').count()).toBe(0);
    expect(await page.locator('#selection').isHidden()).toBe(true);
    expect(errors).toEqual([]);
  });

  browserIt('a node filter hides its lane, its events and its arrows', async () => {
    await open(renderTraceHtml(jsonl));
    const n0Events = lines.filter((l) => l.node === 'n0').length;
    expect(await page.locator('#plot .event[data-node="n2"]').count()).toBeGreaterThan(0);
    await page.locator('#filter-nodes input[data-node="n2"]').uncheck();
    expect(await page.locator('#plot .event[data-node="n2"]').count()).toBe(0);
    expect(await page.locator('#plot .lane').count()).toBe(header.instances.length - 1);
    expect(await page.locator('#plot .lane[data-node="n2"]').count()).toBe(0);
    expect(
      await page.locator('#plot .arrow[data-from="n2"], #plot .arrow[data-to="n2"]').count(),
    ).toBe(0);
    expect(await page.locator('#plot .event[data-node="n0"]').count()).toBe(n0Events);
    // A message-kind filter hides that kind's arrows and its sends and deliveries.
    await page.locator('#filter-kinds input[data-kind="PING"]').uncheck();
    expect(await page.locator('#plot .arrow[data-kind="PING"]').count()).toBe(0);
    expect(await page.locator('#plot .arrow[data-kind="MSG"]').count()).toBeGreaterThan(0);
    await page.locator('#filter-nodes input[data-node="n2"]').check();
    expect(await page.locator('#plot .event[data-node="n2"]').count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  browserIt('zooms along time and switches to the Lamport axis', async () => {
    await open(renderTraceHtml(jsonl));
    const width = async () => Number(await page.locator('#plot').getAttribute('width'));
    const before = await width();
    await page.locator('#zoom').fill('1000');
    await page.waitForFunction(
      (w) => Number(document.getElementById('plot')!.getAttribute('width')) > w * 2,
      before,
    );
    // Still clickable after zooming: the event scrolls into view.
    const deliver = lines.find((l) => l.event.type === 'deliver' && l.node === 'n2')!;
    await page.locator(`#plot .event[data-seq="${deliver.seq}"]`).click();
    expect(await seqsWith('#plot .event.causal-past')).toEqual(expectedPast(lines, deliver));
    await page.locator('#axis').selectOption('lamport');
    expect(await seqsWith('#plot .event')).toEqual(lines.map((l) => l.seq));
    expect(await seqsWith('#plot .event.causal-past')).toEqual(expectedPast(lines, deliver));
    expect(errors).toEqual([]);
  });

  browserIt('treats the trace as text: markup in it is never interpreted', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const evilHeader: TraceHeader = {
      type: 'header',
      format: 'bftkit-trace/1',
      instances: [
        { id: 'n0', identity: 'n0', byzantine: false },
        { id: evil, identity: evil, byzantine: true },
      ],
      meta: { scenario: `</script><script>window.__pwned=2</script>`, seed: 1 },
    };
    const evilLines = [
      {
        seq: 0,
        time: 0,
        node: 'n0',
        lamport: 1,
        vc: [1, 0],
        event: {
          type: 'send',
          to: evil,
          id: 'a',
          kind: evil,
          body: { x: `${evil}\u2028</script>` },
        },
      },
      {
        seq: 1,
        time: 3,
        node: evil,
        lamport: 2,
        vc: [1, 1],
        event: { type: 'deliver', from: 'n0', id: 'a', kind: evil },
      },
      {
        seq: 2,
        time: 4,
        node: evil,
        lamport: 3,
        vc: [1, 2],
        event: { type: 'note', event: 'adversary', data: { action: evil } },
      },
      {
        seq: 3,
        time: 5,
        node: 'n0',
        lamport: 2,
        vc: [2, 0],
        event: { type: 'reject', from: evil, reason: 'bad-signature', detail: evil },
      },
    ];
    const trace = `${[evilHeader, ...evilLines].map((l) => JSON.stringify(l)).join('\n')}\nnot json\n`;
    await open(renderTraceHtml(trace), 'evil.html');
    await page.waitForTimeout(100);
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('#labels .lane-label.byzantine').textContent()).toBe(evil);
    expect(await page.locator('#plot .arrow').count()).toBe(1);
    expect(await page.locator('#warnings').textContent()).toContain('1 malformed');
    await page.locator('#plot .event[data-seq="2"]').click();
    expect(JSON.parse((await page.locator('#selection-json').textContent())!)).toEqual(
      evilLines[2],
    );
    expect(await page.locator('#selection-title').textContent()).toContain(evil);
    expect(await seqsWith('#plot .event.causal-past')).toEqual([0, 1]);
    expect(errors).toEqual([]);
  });

  browserIt('fetches nothing but the page, and saves a screenshot', async () => {
    requests.length = 0;
    await page.setViewportSize({ width: 1800, height: 720 });
    await open(renderTraceHtml(jsonl));
    const chosen = lines.find(
      (l) =>
        l.node === 'n0' &&
        l.event.type === 'deliver' &&
        (l.event as { from: string }).from === 'n3',
    )!;
    await page.locator(`#plot .event[data-seq="${chosen.seq}"]`).click();
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIR, 'trace-viewer.png') });
    expect(requests.every((u) => u.startsWith('file://'))).toBe(true);
    expect(requests).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});
