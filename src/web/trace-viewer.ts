/**
 * The trace viewer: one self-contained HTML file that draws a `bftkit-trace/1` run as a
 * space-time diagram (one lane per instance, messages as arrows) and, on a click, highlights
 * an event's causal past from the vector clocks. See src/web/README.md.
 *
 * Everything is inline — style, script and data — under a CSP that forbids any network
 * access. The trace is untrusted text: it is embedded as a JSON string in a non-executable
 * <script type="application/json"> block (with `<`, `>`, `&`, U+2028 and U+2029 escaped, so
 * no `</script>` or `<!--` can end it early), and the page only ever puts trace content into
 * the DOM through textContent, setAttribute and createElementNS — never as markup. The page's
 * script is src/web/page/trace-viewer.ts, bundled (src/web/page-script.ts).
 */
import { TRACE_FORMAT } from '../sim/trace.js';
import { pageScript } from './page-script.js';

export interface TraceHtmlOptions {
  /** Page title; by default one built from the header's meta (scenario, seed). */
  title?: string;
}

export const VIEWER_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  "script-src 'unsafe-inline'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** One HTML page that shows the trace; throws if the text does not start with a trace header. */
export function renderTraceHtml(traceJsonl: string, options: TraceHtmlOptions = {}): string {
  const header = readHeader(traceJsonl);
  const title = options.title ?? defaultTitle(header.meta);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${VIEWER_CSP}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    BODY.replace('{{TITLE}}', escapeHtml(title)),
    `<script type="application/json" id="trace-data">${embedJsonString(traceJsonl)}</script>`,
    `<script>${pageScript('trace-viewer')}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/**
 * A string as a JSON literal that is safe inside a <script> element: `<`, `>` and `&` become
 * \u escapes (so no `</script>` or `<!--`), and so do U+2028 / U+2029.
 */
export function embedJsonString(text: string): string {
  return JSON.stringify(text)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function readHeader(traceJsonl: string): { meta: unknown } {
  const first = traceJsonl.split('\n').find((line) => line.trim() !== '');
  let header: unknown;
  try {
    header = first === undefined ? undefined : JSON.parse(first);
  } catch {
    header = undefined;
  }
  if (
    typeof header !== 'object' ||
    header === null ||
    (header as { type?: unknown }).type !== 'header' ||
    (header as { format?: unknown }).format !== TRACE_FORMAT
  ) {
    throw new Error(`not a ${TRACE_FORMAT} trace: the first line must be its header`);
  }
  return { meta: (header as { meta?: unknown }).meta };
}

function defaultTitle(meta: unknown): string {
  const m = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : {};
  const name = typeof m.scenario === 'string' ? m.scenario : 'bftkit trace';
  const seed = typeof m.seed === 'number' ? ` seed ${m.seed}` : '';
  return `${name}${seed} — trace viewer`;
}

const STYLE = `
:root { color-scheme: light; --line: #9ca3af; --muted: #6b7280; --byz: #dc2626; }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body {
  display: flex; flex-direction: column; color: #111827; background: #fff;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
}
header {
  display: flex; flex-wrap: wrap; align-items: center; gap: 6px 18px;
  padding: 8px 12px; border-bottom: 1px solid #e5e7eb; background: #f9fafb;
}
header h1 { font-size: 15px; margin: 0; }
#summary { color: var(--muted); }
#warnings { color: #b45309; }
#warnings:empty { display: none; }
.controls { display: flex; align-items: center; gap: 8px; margin-left: auto; }
.controls label { display: flex; align-items: center; gap: 4px; }
#zoom { width: 180px; }
#zoom-label { min-width: 84px; color: var(--muted); font-variant-numeric: tabular-nums; }
main { flex: 1; display: flex; min-height: 0; }
#diagram { flex: 1; overflow: auto; position: relative; min-width: 0; }
#canvas { display: flex; align-items: flex-start; width: max-content; }
#labels { position: sticky; left: 0; z-index: 2; background: #fff; border-right: 1px solid #e5e7eb; flex: none; }
#plot { flex: none; display: block; cursor: default; }
aside {
  width: 340px; flex: none; overflow: auto; padding: 8px 12px 24px;
  border-left: 1px solid #e5e7eb; background: #fcfcfd;
}
aside h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 14px 0 6px; }
#selection-title { font-weight: 600; }
#selection-meta, #selection-past { color: #374151; font-variant-numeric: tabular-nums; }
#selection-links button { margin: 4px 6px 0 0; font: inherit; font-size: 12px; }
#selection-json {
  background: #f3f4f6; border: 1px solid #e5e7eb; border-radius: 4px; padding: 6px 8px;
  max-height: 45vh; overflow: auto; white-space: pre-wrap; word-break: break-all;
  font: 12px/1.35 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
.hint { color: var(--muted); }
.filters { display: flex; flex-wrap: wrap; gap: 2px 12px; }
.filters label { display: flex; align-items: center; gap: 4px; white-space: nowrap; }
.swatch { display: inline-block; width: 18px; height: 3px; border-radius: 2px; }
.legend { display: grid; grid-template-columns: 28px 1fr; gap: 3px 6px; align-items: center; }
.legend svg { display: block; }
.lane { stroke: var(--line); stroke-width: 1.5; }
.lane.byzantine { stroke: var(--byz); stroke-width: 2; }
.lane-band.byzantine { fill: #fee2e2; opacity: .55; }
.down { fill: url(#hatch); }
.grid { stroke: #f1f5f9; stroke-width: 1; }
.tick { fill: var(--muted); font-size: 11px; }
.axis { stroke: #d1d5db; }
.partition-band { fill: #fde68a; opacity: .28; }
.partition-edge { stroke: #d97706; stroke-width: 1.5; stroke-dasharray: 4 3; }
.heal-edge { stroke: #16a34a; stroke-width: 1.5; stroke-dasharray: 4 3; }
.network-edge { stroke: #2563eb; stroke-width: 1; stroke-dasharray: 2 3; }
.global-label { font-size: 10px; fill: #92400e; }
.arrow { fill: none; stroke-width: 1.4; opacity: .8; }
.arrow.dangling { stroke-dasharray: 4 3; }
.event { cursor: pointer; }
.event .hit { fill: transparent; }
.event:hover .shape { filter: brightness(1.25); }
.event-label { font-size: 10px; fill: #5b21b6; pointer-events: none; }
.lane-label { font-size: 12px; font-weight: 600; fill: #111827; }
.lane-label.byzantine { fill: var(--byz); }
.lane-sub { font-size: 10px; fill: var(--muted); }
.lane-sub.byzantine { fill: var(--byz); font-weight: 600; }
#plot.has-selection :is(.event, .arrow, .event-label) { opacity: .2; }
#plot.has-selection .event.causal-past, #plot.has-selection .event.selected { opacity: 1; }
#plot.has-selection .arrow.causal-past { opacity: .95; stroke-width: 2; }
#halo { fill: none; stroke: #111827; stroke-width: 2; pointer-events: none; }
.past-ring { fill: #fef08a; stroke: #ca8a04; stroke-width: 1; pointer-events: none; display: none; }
#plot.has-selection .event.causal-past .past-ring { display: inline; }
#error { padding: 24px; color: #b91c1c; font-weight: 600; }
`;

const BODY = `<header>
  <h1 id="title">{{TITLE}}</h1>
  <span id="summary"></span>
  <span id="warnings"></span>
  <div class="controls">
    <label>axis <select id="axis">
      <option value="time">virtual time</option>
      <option value="lamport">Lamport clock</option>
    </select></label>
    <label>zoom <input id="zoom" type="range" min="0" max="1000" value="0"></label>
    <span id="zoom-label"></span>
    <button id="fit" type="button">fit</button>
  </div>
</header>
<main>
  <div id="diagram"><div id="canvas"></div></div>
  <aside>
    <h2>Selected event</h2>
    <div id="selection-empty" class="hint">
      Click an event to show its payload and highlight its causal past (the events whose vector
      clock is ≤ its own). Click the background or press Esc to clear. Ctrl + wheel zooms around
      the pointer.
    </div>
    <div id="selection" hidden>
      <div id="selection-title"></div>
      <div id="selection-meta"></div>
      <div id="selection-past"></div>
      <div id="selection-links"></div>
      <pre id="selection-json"></pre>
    </div>
    <h2>Nodes</h2>
    <div id="filter-nodes" class="filters"></div>
    <h2>Message kinds</h2>
    <div id="filter-kinds" class="filters"></div>
    <h2>Events</h2>
    <div id="filter-cats" class="filters"></div>
    <h2>Legend</h2>
    <div id="legend" class="legend"></div>
  </aside>
</main>`;
