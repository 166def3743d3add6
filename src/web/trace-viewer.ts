/**
 * The trace viewer: one self-contained HTML file that draws a `bftkit-trace/1` run as a
 * space-time diagram (one lane per instance, messages as arrows) and, on a click, highlights
 * an event's causal past from the vector clocks. See src/web/README.md.
 *
 * Everything is inline — style, script and data — under a CSP that forbids any network
 * access. The trace is untrusted text: it is embedded as a JSON string in a non-executable
 * <script type="application/json"> block (with `<`, `>`, `&`, U+2028 and U+2029 escaped, so
 * no `</script>` or `<!--` can end it early), and the page only ever puts trace content into
 * the DOM through textContent, setAttribute and createElementNS — never as markup.
 */
import { TRACE_FORMAT } from '../sim/trace.js';

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
    `<script>${SCRIPT}</script>`,
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

/*
 * The page's script: plain browser JavaScript, no framework. Kept as a raw string (it must
 * contain no backquote and no dollar-brace) so that the TypeScript module can inline it.
 */
const SCRIPT = String.raw`
(() => {
  'use strict';

  const SVG_NS = 'http://www.w3.org/2000/svg';
  let LANE_H = 48; // height of one instance's lane (grows to fill the window)
  const AXIS_H = 44; // the time axis above the lanes
  const PAD = 28; // margin left and right of the plot
  const LABEL_W = 132; // width of the sticky lane labels
  const SLOT = 10; // spacing of events of one lane at the very same instant
  const MIN_GAP = 8; // events of one lane never come closer than this
  const HIT_R = 6; // click radius of an event (< MIN_GAP, so neighbours stay clickable)
  const MAX_WIDTH = 12000000; // keep the SVG well below the browsers' size limits
  const PALETTE = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2',
    '#65a30d', '#b91c1c', '#475569', '#9333ea', '#0d9488', '#ca8a04'];

  // Event categories: how each looks, and a filter checkbox each.
  const CATEGORIES = [
    { id: 'send', label: 'send', shape: 'dot', size: 3 },
    { id: 'deliver', label: 'deliver', shape: 'dot', size: 4.2, stroke: '#fff' },
    { id: 'commit', label: 'commit / execute / apply', shape: 'diamond', size: 6.5, fill: '#16a34a', stroke: '#14532d' },
    { id: 'view', label: 'view / leader change', shape: 'triangle', size: 7, fill: '#7c3aed', stroke: '#4c1d95' },
    { id: 'adversary', label: 'adversary action', shape: 'star', size: 8, fill: '#dc2626', stroke: '#7f1d1d' },
    { id: 'reject', label: 'rejection', shape: 'cross', size: 5, stroke: '#dc2626', width: 2.4 },
    { id: 'crash', label: 'crash', shape: 'cross', size: 7, stroke: '#111827', width: 3 },
    { id: 'restart', label: 'restart', shape: 'ring', size: 6, stroke: '#16a34a', width: 2.5 },
    { id: 'start', label: 'start', shape: 'ring', size: 4.5, stroke: '#374151', width: 1.6 },
    { id: 'request', label: 'request (from above)', shape: 'down', size: 5.5, fill: '#0369a1' },
    { id: 'output', label: 'output (to above)', shape: 'up', size: 5.5, fill: '#0f766e' },
    { id: 'timer', label: 'timer', shape: 'square', size: 3.5, fill: '#9ca3af' },
    { id: 'persist', label: 'persist', shape: 'square', size: 3, fill: '#e5e7eb', stroke: '#9ca3af' },
    { id: 'note', label: 'other note', shape: 'diamond', size: 4.5, fill: '#f59e0b', stroke: '#92400e' },
    { id: 'network', label: 'partition / heal / network', shape: 'down', size: 6, fill: '#d97706' },
  ];
  const CATEGORY = new Map(CATEGORIES.map((c) => [c.id, c]));
  const COMMIT_NOTES = new Set(['commit', 'committed', 'execute', 'executed', 'apply', 'decide']);
  const VIEW_NOTES = new Set(['view', 'view-change', 'new-view', 'became-leader', 'role', 'leader', 'term']);

  const $ = (id) => document.getElementById(id);

  function svg(tag, attrs, parent) {
    const el = document.createElementNS(SVG_NS, tag);
    if (attrs) for (const key of Object.keys(attrs)) el.setAttribute(key, String(attrs[key]));
    if (parent) parent.appendChild(el);
    return el;
  }

  function html(tag, text, parent) {
    const el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    if (parent) parent.appendChild(el);
    return el;
  }

  // ---------------------------------------------------------------- parsing

  const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

  function categorize(ev) {
    switch (ev.type) {
      case 'send': case 'deliver': case 'start': case 'crash': case 'restart': case 'reject':
      case 'timer': case 'request': case 'output': case 'persist': case 'adversary':
        return ev.type;
      case 'partition': case 'heal': case 'network':
        return 'network';
      case 'note': {
        const name = typeof ev.event === 'string' ? ev.event : '';
        if (name === 'adversary') return 'adversary';
        if (COMMIT_NOTES.has(name)) return 'commit';
        if (VIEW_NOTES.has(name)) return 'view';
        if (name === 'reject' || /-?reject(ed|ion)?$/.test(name)) return 'reject';
        return 'note';
      }
      default:
        return 'note';
    }
  }

  function parseTrace(text) {
    let header = null;
    const events = [];
    const seen = new Set();
    let skipped = 0;
    for (const raw of text.split('\n')) {
      if (raw.trim() === '') continue;
      let obj;
      try {
        obj = JSON.parse(raw);
      } catch (e) {
        skipped++;
        continue;
      }
      if (header === null) {
        if (!isObject(obj) || obj.type !== 'header') return { error: 'The first line is not a trace header.' };
        header = obj;
        continue;
      }
      if (!isObject(obj) || !isObject(obj.event) || typeof obj.event.type !== 'string' ||
          typeof obj.node !== 'string' || typeof obj.time !== 'number' || !Number.isFinite(obj.time) ||
          !Number.isSafeInteger(obj.seq) || seen.has(obj.seq)) {
        skipped++;
        continue;
      }
      seen.add(obj.seq);
      const finite = (v) => typeof v === 'number' && Number.isFinite(v);
      const vc = Array.isArray(obj.vc) && obj.vc.every(finite) ? obj.vc : [];
      const ev = obj.event;
      events.push({
        seq: obj.seq,
        time: obj.time,
        node: obj.node,
        lamport: finite(obj.lamport) ? obj.lamport : 0,
        vc,
        type: ev.type,
        ev,
        raw: obj,
        cat: categorize(ev),
        kind: (ev.type === 'send' || ev.type === 'deliver') && typeof ev.kind === 'string' ? ev.kind : null,
        lane: -1,
      });
    }
    if (header === null) return { error: 'The trace is empty.' };
    return { header, events, skipped };
  }

  function buildModel(parsed) {
    const lanes = [];
    const laneOf = new Map();
    const addLane = (id, identity, byzantine, extra) => {
      if (laneOf.has(id)) return;
      laneOf.set(id, lanes.length);
      lanes.push({ id, identity, byzantine, extra, index: lanes.length });
    };
    const instances = Array.isArray(parsed.header.instances) ? parsed.header.instances : [];
    for (const inst of instances) {
      if (!isObject(inst) || typeof inst.id !== 'string') continue;
      addLane(inst.id, typeof inst.identity === 'string' ? inst.identity : inst.id, inst.byzantine === true, false);
    }
    const events = parsed.events.slice().sort((a, b) => a.seq - b.seq);
    for (const e of events) {
      if (e.node !== '*') addLane(e.node, e.node, false, true);
      e.lane = e.node === '*' ? -1 : laneOf.get(e.node);
    }
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    // Messages: a send and the deliveries of its id (one, or one per twin).
    const sendOf = new Map();
    for (const e of events) {
      if (e.type === 'send' && typeof e.ev.id === 'string' && !sendOf.has(e.ev.id)) sendOf.set(e.ev.id, e);
    }
    const messages = [];
    const delivered = new Set();
    for (const e of events) {
      if (e.type !== 'deliver' || typeof e.ev.id !== 'string') continue;
      const send = sendOf.get(e.ev.id);
      if (send === undefined) continue;
      delivered.add(e.ev.id);
      messages.push({ id: e.ev.id, kind: send.kind || e.kind || '?', send, deliver: e });
    }
    const dangling = [];
    for (const [id, send] of sendOf) {
      if (delivered.has(id)) continue;
      const to = typeof send.ev.to === 'string' ? send.ev.to : '';
      dangling.push({ id, kind: send.kind || '?', send, to });
    }
    const kinds = [...new Set(events.map((e) => e.kind).filter((k) => k !== null))].sort();
    const colorOf = new Map(kinds.map((k, i) => [k, i % PALETTE.length]));
    const byTime = events.slice().sort((a, b) => a.time - b.time || a.seq - b.seq);
    // Where a '*' event sits on the Lamport axis: just after every event before it.
    let maxLamport = 0;
    for (const e of events) {
      if (e.lane >= 0) maxLamport = Math.max(maxLamport, e.lamport);
      else e.lamportPos = maxLamport + 0.5;
    }
    const maxTime = byTime.length > 0 ? byTime[byTime.length - 1].time : 0;
    return {
      header: parsed.header, lanes, laneOf, events, bySeq, byTime,
      messages, dangling, kinds, colorOf, maxTime, maxLamport,
    };
  }

  // ------------------------------------------------------------ the page

  const data = JSON.parse($('trace-data').textContent);
  const parsed = parseTrace(typeof data === 'string' ? data : '');
  if (parsed.error) {
    const box = html('div', parsed.error, null);
    box.id = 'error';
    $('diagram').replaceChildren(box);
    return;
  }
  const model = buildModel(parsed);

  const state = {
    axis: 'time',
    scale: { time: 1, lamport: 12 },
    hiddenNodes: new Set(),
    hiddenKinds: new Set(),
    hiddenCats: new Set(),
    selected: null,
  };
  let view = null; // what the last render drew: positions, elements

  const diagram = $('diagram');
  const canvas = $('canvas');
  const labels = svg('svg', { id: 'labels', width: LABEL_W });
  const plot = svg('svg', { id: 'plot' });
  canvas.append(labels, plot);

  // --- summary line
  (() => {
    const meta = isObject(model.header.meta) ? model.header.meta : {};
    const parts = [];
    for (const key of ['scenario', 'protocol', 'seed', 'cluster']) {
      if (typeof meta[key] === 'string' || typeof meta[key] === 'number') parts.push(key + ' ' + meta[key]);
    }
    parts.push(model.lanes.length + ' instances');
    parts.push(model.events.length + ' events');
    parts.push(model.messages.length + ' messages delivered, ' + model.dangling.length + ' not');
    $('summary').textContent = parts.join(' · ');
    if (parsed.skipped > 0) $('warnings').textContent = parsed.skipped + ' malformed line(s) skipped';
  })();

  // ------------------------------------------------------------ scales

  const fitCache = new Map();
  /** The largest scale at which the whole run fits the window (the layout only widens it). */
  function fitScale(axis) {
    const avail = Math.max(200, diagram.clientWidth - LABEL_W - 2 * PAD - 40);
    if (axis === 'lamport') return Math.max(MIN_GAP, Math.min(40, avail / Math.max(1, model.maxLamport)));
    const key = [...state.hiddenNodes].sort().join(',') + '|' + [...state.hiddenKinds].sort().join(',') +
      '|' + [...state.hiddenCats].sort().join(',') + '|' + avail;
    const cached = fitCache.get(key);
    if (cached !== undefined) return cached;
    // Same-instant spreading and MIN_GAP give the layout a floor width; when that exceeds the
    // window, fit to a bit more than the floor, so that time still shows.
    const placed = placedEvents();
    let hi = avail / Math.max(model.maxTime, 1e-3);
    let lo = hi / 1e5;
    const target = Math.max(avail, layoutTime(placed, lo).width * 1.3);
    if (layoutTime(placed, hi).width > target) {
      for (let k = 0; k < 30; k++) {
        const mid = Math.sqrt(lo * hi);
        if (layoutTime(placed, mid).width > target) hi = mid;
        else lo = mid;
      }
      hi = lo;
    }
    fitCache.set(key, hi);
    return hi;
  }

  function scaleRange(axis) {
    const fit = fitScale(axis);
    if (axis === 'lamport') return { min: MIN_GAP, max: Math.max(80, fit) };
    const span = Math.max(model.maxTime, 1e-3);
    const max = Math.max(fit * 4, Math.min(Math.max(fit * 8, 400), MAX_WIDTH / span));
    return { min: fit / 2, max };
  }

  function syncSlider() {
    const r = scaleRange(state.axis);
    const s = Math.min(r.max, Math.max(r.min, state.scale[state.axis]));
    state.scale[state.axis] = s;
    const v = r.max > r.min ? (1000 * Math.log(s / r.min)) / Math.log(r.max / r.min) : 0;
    $('zoom').value = String(Math.round(v));
    $('zoom-label').textContent = state.axis === 'time' ? formatScale(s) : s.toFixed(1) + ' px / tick';
  }

  function formatScale(pxPerMs) {
    const msPer100 = 100 / pxPerMs;
    return '100 px ≈ ' + formatTime(msPer100, msPer100 / 10);
  }

  function formatTime(ms, step) {
    const abs = Math.abs(step || ms);
    if (abs >= 1000) return trim((ms / 1000).toFixed(abs >= 10000 ? 0 : 1)) + ' s';
    const digits = abs >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(abs)));
    return trim(ms.toFixed(digits)) + ' ms';
  }

  function trim(s) {
    return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  }

  function niceStep(minStep) {
    const p = 10 ** Math.floor(Math.log10(minStep));
    for (const m of [1, 2, 5, 10]) if (m * p >= minStep) return m * p;
    return 10 * p;
  }

  // ------------------------------------------------------------ layout

  function isShown(e) {
    if (e.lane >= 0 && state.hiddenNodes.has(model.lanes[e.lane].id)) return false;
    if (e.kind !== null && state.hiddenKinds.has(e.kind)) return false;
    return true;
  }

  function isDrawn(e) {
    return isShown(e) && !state.hiddenCats.has(e.cat);
  }

  /** Every drawn event, plus the ends of drawn arrows whose category is hidden; in time order. */
  function placedEvents() {
    const arrowEnds = new Set();
    for (const m of model.messages) {
      if (isShown(m.send) && isShown(m.deliver)) arrowEnds.add(m.send.seq).add(m.deliver.seq);
    }
    for (const m of model.dangling) if (isShown(m.send)) arrowEnds.add(m.send.seq);
    return model.byTime.filter((e) => isDrawn(e) || arrowEnds.has(e.seq));
  }

  /**
   * Time axis. Events are placed at their virtual time, except that events of one lane at
   * the very same instant are spread SLOT apart, that events of one lane never come closer
   * than MIN_GAP, and that an instant's column never starts before the previous instant's
   * last event (so arrows never point backwards). Columns map times to x both ways.
   */
  function layoutTime(events, scale) {
    const x = new Map();
    const cols = [{ t: Math.min(0, events.length > 0 ? events[0].time : 0), x: 0 }];
    const lastX = new Map();
    let prev = cols[0];
    let prevSpan = 0;
    for (let i = 0; i < events.length; ) {
      const t = events[i].time;
      let j = i;
      while (j < events.length && events[j].time === t) j++;
      let cx = prev.x + (t - prev.t) * scale;
      if (prevSpan > 0) cx = Math.max(cx, prev.x + prevSpan + MIN_GAP);
      for (let k = i; k < j; k++) {
        const last = lastX.get(events[k].lane);
        if (events[k].lane >= 0 && last !== undefined) cx = Math.max(cx, last + MIN_GAP);
      }
      const slots = new Map();
      let span = 0;
      for (let k = i; k < j; k++) {
        const e = events[k];
        if (e.lane < 0) {
          x.set(e.seq, cx);
          continue;
        }
        const slot = slots.get(e.lane) || 0;
        slots.set(e.lane, slot + 1);
        const ex = cx + slot * SLOT;
        x.set(e.seq, ex);
        lastX.set(e.lane, ex);
        span = Math.max(span, slot * SLOT);
      }
      prev = { t, x: cx };
      cols.push(prev);
      prevSpan = span;
      i = j;
    }
    const end = prev.x + prevSpan;
    return {
      x,
      width: end,
      xAt: (t) => xAtTime(cols, scale, t),
      valueAt: (px) => timeAtX(cols, scale, px),
    };
  }

  function lastAtOrBefore(cols, key, value) {
    let lo = 0;
    let hi = cols.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cols[mid][key] <= value) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  function xAtTime(cols, scale, t) {
    const i = lastAtOrBefore(cols, 't', t);
    const a = cols[i];
    const b = cols[i + 1];
    if (t < a.t || b === undefined) return a.x + (t - a.t) * scale;
    if (b.t === a.t) return a.x;
    return a.x + ((t - a.t) / (b.t - a.t)) * (b.x - a.x);
  }

  function timeAtX(cols, scale, px) {
    const i = lastAtOrBefore(cols, 'x', px);
    const a = cols[i];
    const b = cols[i + 1];
    if (px < a.x || b === undefined) return a.t + (px - a.x) / scale;
    if (b.x === a.x) return a.t;
    return a.t + ((px - a.x) / (b.x - a.x)) * (b.t - a.t);
  }

  /** Lamport axis: x is the Lamport clock; a '*' event sits after everything before it. */
  function layoutLamport(events, scale) {
    const x = new Map();
    let width = 0;
    for (const e of events) {
      const px = (e.lane >= 0 ? e.lamport : e.lamportPos) * scale;
      x.set(e.seq, px);
      width = Math.max(width, px);
    }
    return { x, width, xAt: (v) => v * scale, valueAt: (px) => px / scale };
  }

  // ------------------------------------------------------------ drawing

  /** A polygon path through [x, y] points. */
  function polygon(points) {
    return 'M' + points.map((p) => p[0].toFixed(2) + ',' + p[1].toFixed(2)).join('L') + 'Z';
  }

  /** The mark of an event category, centred on (0, 0). */
  function shapeEl(cat, color, parent) {
    const c = CATEGORY.get(cat) || CATEGORY.get('note');
    const s = c.size;
    const paint = {
      fill: c.fill || color || '#6b7280',
      stroke: c.stroke || 'none',
      'stroke-width': c.width || 1,
    };
    let el;
    switch (c.shape) {
      case 'dot':
        el = svg('circle', { r: s, ...paint }, parent);
        break;
      case 'ring':
        el = svg('circle', { r: s, ...paint, fill: '#fff' }, parent);
        break;
      case 'square':
        el = svg('rect', { x: -s, y: -s, width: 2 * s, height: 2 * s, ...paint }, parent);
        break;
      case 'diamond':
        el = svg('path', { d: polygon([[0, -s], [s, 0], [0, s], [-s, 0]]), ...paint }, parent);
        break;
      case 'triangle':
      case 'up':
        el = svg('path', { d: polygon([[0, -s], [s * 0.9, s * 0.7], [-s * 0.9, s * 0.7]]), ...paint }, parent);
        break;
      case 'down':
        el = svg('path', { d: polygon([[0, s], [s * 0.9, -s * 0.7], [-s * 0.9, -s * 0.7]]), ...paint }, parent);
        break;
      case 'cross': {
        const d = 'M' + -s + ',' + -s + 'L' + s + ',' + s + 'M' + s + ',' + -s + 'L' + -s + ',' + s;
        el = svg('path', { d, ...paint, fill: 'none', 'stroke-linecap': 'round' }, parent);
        break;
      }
      case 'star': {
        const points = [];
        for (let k = 0; k < 10; k++) {
          const r = k % 2 === 0 ? s : s * 0.45;
          const a = (Math.PI / 5) * k - Math.PI / 2;
          points.push([r * Math.cos(a), r * Math.sin(a)]);
        }
        el = svg('path', { d: polygon(points), ...paint }, parent);
        break;
      }
      default:
        el = svg('circle', { r: s, ...paint }, parent);
    }
    el.setAttribute('class', 'shape');
    return el;
  }

  function colorOfKind(kind) {
    const i = model.colorOf.get(kind);
    return i === undefined ? '#6b7280' : PALETTE[i];
  }

  function short(value, max) {
    let s;
    try {
      s = JSON.stringify(value);
    } catch (e) {
      s = String(value);
    }
    if (s === undefined) s = String(value);
    return s.length > max ? s.slice(0, max - 1) + '…' : s;
  }

  function describe(e) {
    const ev = e.ev;
    const at = '#' + e.seq + ' · ' + e.node + ' · t=' + formatTime(e.time, 0.001) + ' — ';
    switch (e.type) {
      case 'send':
        return at + 'send ' + ev.kind + ' to ' + ev.to;
      case 'deliver':
        return at + 'deliver ' + ev.kind + ' from ' + ev.from;
      case 'reject':
        return at + 'reject from ' + ev.from + ': ' + ev.reason;
      case 'note':
        return at + 'note ' + ev.event + (ev.data === undefined || ev.data === null ? '' : ' ' + short(ev.data, 80));
      case 'adversary':
        return at + 'adversary ' + ev.action;
      case 'timer':
        return at + 'timer ' + ev.name;
      case 'partition':
        return at + 'partition ' + short(ev.blocks, 80);
      case 'network':
        return at + 'network ' + short(ev.change, 80);
      default:
        return at + e.type;
    }
  }

  function render() {
    const axis = state.axis;
    const scale = state.scale[axis];
    const lanes = model.lanes.filter((l) => !state.hiddenNodes.has(l.id));
    const room = (diagram.clientHeight - AXIS_H - 24) / Math.max(1, lanes.length);
    LANE_H = Math.max(44, Math.min(96, Math.floor(room)));
    const laneY = new Map();
    lanes.forEach((l, i) => laneY.set(l.index, AXIS_H + i * LANE_H + LANE_H / 2));
    const placed = placedEvents();
    const layout = axis === 'time' ? layoutTime(placed, scale) : layoutLamport(placed, scale);
    const X = (seq) => PAD + layout.x.get(seq);
    const width = Math.ceil(PAD * 2 + layout.width + 40);
    const height = AXIS_H + lanes.length * LANE_H + 8;
    plot.replaceChildren();
    plot.setAttribute('width', width);
    plot.setAttribute('height', height);
    plot.setAttribute('viewBox', '0 0 ' + width + ' ' + height);

    const defs = svg('defs', null, plot);
    const hatch = svg('pattern', {
      id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)',
    }, defs);
    svg('rect', { width: 6, height: 6, fill: '#f3f4f6' }, hatch);
    svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#9ca3af', 'stroke-width': 2 }, hatch);
    PALETTE.forEach((color, i) => {
      const marker = svg('marker', {
        id: 'head-' + i, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
        orient: 'auto', markerUnits: 'userSpaceOnUse',
      }, defs);
      svg('path', { d: 'M0,1L10,5L0,9Z', fill: color }, marker);
    });
    svg('rect', { class: 'background', x: 0, y: 0, width, height, fill: '#fff' }, plot);

    const gBands = svg('g', null, plot);
    const gGrid = svg('g', null, plot);
    const gLanes = svg('g', null, plot);
    const gGlobal = svg('g', null, plot);
    const gArrows = svg('g', null, plot);
    const gEvents = svg('g', null, plot);
    const right = width - PAD / 2;

    // Lanes, Byzantine bands, down periods.
    for (const l of lanes) {
      const y = laneY.get(l.index);
      const band = { x: 0, y: y - LANE_H / 2 + 2, width, height: LANE_H - 4 };
      if (l.byzantine) svg('rect', { class: 'lane-band byzantine', ...band }, gBands);
      const cls = 'lane' + (l.byzantine ? ' byzantine' : '');
      const line = svg('line', { class: cls, x1: PAD / 2, y1: y, x2: right, y2: y }, gLanes);
      line.setAttribute('data-node', l.id);
    }
    const downSince = new Map();
    const downBand = (lane, x1, x2) => {
      const y = laneY.get(lane);
      if (y === undefined || x2 <= x1) return;
      const r = svg('rect', { class: 'down', x: x1, y: y - 7, width: x2 - x1, height: 14 }, gLanes);
      const t = svg('title', null, r);
      t.textContent = model.lanes[lane].id + ' is down';
    };
    for (const e of model.events) {
      if (e.lane < 0 || !layout.x.has(e.seq)) continue;
      if (e.type === 'crash') downSince.set(e.lane, X(e.seq));
      else if ((e.type === 'restart' || e.type === 'start') && downSince.has(e.lane)) {
        downBand(e.lane, downSince.get(e.lane), X(e.seq));
        downSince.delete(e.lane);
      }
    }
    for (const [lane, x1] of downSince) downBand(lane, x1, right);

    // Axis and grid.
    svg('line', { class: 'axis', x1: PAD / 2, y1: AXIS_H - 14, x2: right, y2: AXIS_H - 14 }, gGrid);
    // Ticks about 90 px apart on average; where the layout is sparser, some are skipped.
    const maxValue = layout.valueAt(layout.width + 40);
    const minStep = (90 * Math.max(maxValue, 1e-3)) / Math.max(layout.width + 40, 1);
    const step = niceStep(axis === 'time' ? minStep : Math.max(1, minStep));
    let lastTick = -Infinity;
    for (let k = 0, v = 0; v <= maxValue && k < 20000; k++, v = k * step) {
      const x = PAD + layout.xAt(v);
      if (x - lastTick < 70) continue;
      lastTick = x;
      svg('line', { class: 'grid', x1: x, y1: AXIS_H - 14, x2: x, y2: height }, gGrid);
      svg('line', { class: 'axis', x1: x, y1: AXIS_H - 18, x2: x, y2: AXIS_H - 10 }, gGrid);
      const label = svg('text', { class: 'tick', x: x + 3, y: AXIS_H - 22 }, gGrid);
      label.textContent = axis === 'time' ? formatTime(v, step) : String(v);
    }

    // Network-wide events: partition bands, heal and network markers.
    const top = AXIS_H - 10;
    const rowsEnd = [-Infinity, -Infinity];
    const globalLabel = (x, text) => {
      // Two rows of labels, so that a partition and its heal close by do not overprint.
      const row = rowsEnd[0] <= x ? 0 : rowsEnd[1] <= x ? 1 : 0;
      rowsEnd[row] = x + 12 + text.length * 5.6;
      const t = svg('text', { class: 'global-label', x: x + 4, y: row === 0 ? AXIS_H - 1 : AXIS_H + 10 }, gGlobal);
      t.textContent = text;
    };
    let open = null;
    const closeBand = (x2) => {
      if (open === null) return;
      const w = Math.max(2, x2 - open.x);
      svg('rect', { class: 'partition-band', x: open.x, y: top, width: w, height: height - top }, gBands);
      open = null;
    };
    for (const e of model.byTime) {
      if (e.lane >= 0 || !layout.x.has(e.seq)) continue;
      const x = X(e.seq);
      if (e.type === 'partition') {
        closeBand(x);
        open = { x };
        svg('line', { class: 'partition-edge', x1: x, y1: top, x2: x, y2: height }, gGlobal);
        const blocks = Array.isArray(e.ev.blocks)
          ? e.ev.blocks.map((b) => (Array.isArray(b) ? b.join(' ') : String(b))).join(' | ')
          : '';
        globalLabel(x + 5, 'partition ' + blocks);
      } else if (e.type === 'heal') {
        closeBand(x);
        svg('line', { class: 'heal-edge', x1: x, y1: top, x2: x, y2: height }, gGlobal);
        globalLabel(x + 5, 'heal');
      } else {
        svg('line', { class: 'network-edge', x1: x, y1: top, x2: x, y2: height }, gGlobal);
        globalLabel(x + 5, e.type === 'network' ? 'network ' + short(e.ev.change, 40) : e.type);
      }
    }
    closeBand(right);

    // Arrows: one per delivered message, a short dashed stub per undelivered send.
    const arrowEls = [];
    const addArrow = (m, x1, y1, x2, y2, dangling) => {
      const color = model.colorOf.get(m.kind) || 0;
      const len = Math.hypot(x2 - x1, y2 - y1) || 1;
      const cut = dangling ? 0 : 5;
      const ex = x2 - ((x2 - x1) / len) * cut;
      const ey = y2 - ((y2 - y1) / len) * cut;
      let d;
      if (y1 === y2 && !dangling) {
        // A message to itself (or a twin on the same lane): a small arc.
        const mx = (x1 + ex) / 2;
        d = 'M' + x1 + ',' + y1 + 'Q' + mx + ',' + (y1 - 22) + ' ' + ex + ',' + ey;
      } else {
        d = 'M' + x1 + ',' + y1 + 'L' + ex + ',' + ey;
      }
      const p = svg('path', {
        class: 'arrow' + (dangling ? ' dangling' : ''),
        d,
        stroke: PALETTE[color],
        'marker-end': 'url(#head-' + color + ')',
      }, gArrows);
      p.setAttribute('data-id', m.id);
      p.setAttribute('data-kind', m.kind);
      p.setAttribute('data-from', m.send.node);
      p.setAttribute('data-send', String(m.send.seq));
      if (!dangling) {
        p.setAttribute('data-to', m.deliver.node);
        p.setAttribute('data-deliver', String(m.deliver.seq));
      }
      const t = svg('title', null, p);
      t.textContent = m.kind + ' ' + m.id + (dangling ? ' (never delivered)' : '');
      arrowEls.push({ el: p, m, dangling });
    };
    for (const m of model.messages) {
      if (!layout.x.has(m.send.seq) || !layout.x.has(m.deliver.seq)) continue;
      addArrow(m, X(m.send.seq), laneY.get(m.send.lane), X(m.deliver.seq), laneY.get(m.deliver.lane), false);
    }
    for (const m of model.dangling) {
      if (!layout.x.has(m.send.seq)) continue;
      const target = model.lanes.find((l) => l.id === m.to) || model.lanes.find((l) => l.identity === m.to);
      if (target !== undefined && state.hiddenNodes.has(target.id)) continue;
      const y1 = laneY.get(m.send.lane);
      const ty = target === undefined ? y1 + LANE_H : laneY.get(target.index);
      const dy = ty === y1 ? -14 : Math.max(-LANE_H * 0.6, Math.min(LANE_H * 0.6, (ty - y1) * 0.4));
      addArrow(m, X(m.send.seq), y1, X(m.send.seq) + 26, y1 + dy, true);
    }

    // Events (on top, so they take the clicks).
    const eventEls = new Map();
    for (const e of model.byTime) {
      if (!isDrawn(e) || !layout.x.has(e.seq)) continue;
      const x = X(e.seq);
      const y = e.lane >= 0 ? laneY.get(e.lane) : AXIS_H - 8;
      const g = svg('g', {
        class: 'event cat-' + e.cat + ' type-' + e.type,
        transform: 'translate(' + x + ',' + y + ')',
      }, gEvents);
      g.setAttribute('data-seq', String(e.seq));
      g.setAttribute('data-node', e.node);
      g.setAttribute('data-type', e.type);
      svg('circle', { class: 'past-ring', r: HIT_R }, g);
      shapeEl(e.cat, e.kind === null ? null : colorOfKind(e.kind), g);
      svg('circle', { class: 'hit', r: HIT_R }, g);
      const t = svg('title', null, g);
      t.textContent = describe(e);
      if (e.cat === 'view' && isObject(e.ev.data)) {
        const n = e.ev.data.view !== undefined ? e.ev.data.view : e.ev.data.term;
        if (typeof n === 'number' || typeof n === 'string') {
          const label = svg('text', { class: 'event-label', x: x + 6, y: y - 9 }, gEvents);
          label.textContent = (e.ev.data.view !== undefined ? 'v' : 't') + String(n);
        }
      }
      eventEls.set(e.seq, g);
    }
    svg('circle', { id: 'halo', r: 9, display: 'none' }, plot);

    // Lane labels.
    labels.replaceChildren();
    labels.setAttribute('height', height);
    svg('rect', { x: 0, y: 0, width: LABEL_W, height, fill: '#fff' }, labels);
    for (const l of lanes) {
      const y = laneY.get(l.index);
      const band = { x: 0, y: y - LANE_H / 2 + 2, width: LABEL_W, height: LANE_H - 4 };
      if (l.byzantine) svg('rect', { class: 'lane-band byzantine', ...band }, labels);
      const name = svg('text', { class: 'lane-label' + (l.byzantine ? ' byzantine' : ''), x: 10, y: y - 2 }, labels);
      name.textContent = l.id;
      const subs = [];
      if (l.byzantine) subs.push('Byzantine');
      if (l.identity !== l.id) subs.push('twin of ' + l.identity);
      if (l.extra) subs.push('not in header');
      if (subs.length > 0) {
        const sub = svg('text', { class: 'lane-sub' + (l.byzantine ? ' byzantine' : ''), x: 10, y: y + 12 }, labels);
        sub.textContent = subs.join(' · ');
      }
    }
    const axisName = svg('text', { class: 'tick', x: 10, y: AXIS_H - 22 }, labels);
    axisName.textContent = axis === 'time' ? 'virtual time' : 'Lamport clock';

    view = { layout, eventEls, arrowEls, X, laneY };
    applySelection();
  }

  // ------------------------------------------------------------ causal past

  /** Exactly the events e' ≠ e with vc(e') ≤ vc(e) component-wise; none for a clock-less e. */
  function causalPast(e) {
    const past = new Set();
    const n = e.vc.length;
    if (n === 0) return past;
    for (const other of model.events) {
      if (other === e || other.vc.length !== n) continue;
      let below = true;
      for (let k = 0; k < n; k++) {
        if (other.vc[k] > e.vc[k]) {
          below = false;
          break;
        }
      }
      if (below) past.add(other.seq);
    }
    return past;
  }

  function applySelection() {
    if (view === null) return;
    const e = state.selected === null ? undefined : model.bySeq.get(state.selected);
    const halo = $('halo');
    if (e === undefined) {
      plot.classList.remove('has-selection');
      for (const el of view.eventEls.values()) el.classList.remove('selected', 'causal-past');
      for (const a of view.arrowEls) a.el.classList.remove('causal-past');
      halo.setAttribute('display', 'none');
      $('selection').hidden = true;
      $('selection-empty').hidden = false;
      return;
    }
    const past = causalPast(e);
    plot.classList.add('has-selection');
    for (const [seq, el] of view.eventEls) {
      el.classList.toggle('selected', seq === e.seq);
      el.classList.toggle('causal-past', past.has(seq));
    }
    const inCone = (seq) => seq === e.seq || past.has(seq);
    for (const a of view.arrowEls) {
      a.el.classList.toggle('causal-past', !a.dangling && inCone(a.m.send.seq) && inCone(a.m.deliver.seq));
    }
    const el = view.eventEls.get(e.seq);
    if (el !== undefined) {
      const y = e.lane >= 0 ? view.laneY.get(e.lane) : AXIS_H - 8;
      halo.setAttribute('cx', String(view.X(e.seq)));
      halo.setAttribute('cy', String(y));
      halo.setAttribute('display', 'inline');
    } else {
      halo.setAttribute('display', 'none');
    }
    showPanel(e, past);
  }

  function showPanel(e, past) {
    $('selection-empty').hidden = true;
    $('selection').hidden = false;
    $('selection-title').textContent = describe(e);
    $('selection-meta').textContent =
      'time ' + formatTime(e.time, 0.000001) + ' · Lamport ' + e.lamport + ' · vc [' + e.vc.join(', ') + ']';
    let shown = 0;
    for (const seq of past) if (view.eventEls.has(seq)) shown++;
    $('selection-past').textContent = e.vc.length === 0
      ? 'network-wide event: no vector clock, no causal past'
      : 'causal past: ' + past.size + ' event' + (past.size === 1 ? '' : 's') +
        (shown < past.size ? ' (' + (past.size - shown) + ' hidden by filters)' : '');
    const links = $('selection-links');
    links.replaceChildren();
    const link = (text, target) => {
      const b = html('button', text, links);
      b.type = 'button';
      b.addEventListener('click', () => select(target.seq, true));
    };
    if (e.type === 'send') {
      const m = model.messages.filter((x) => x.send === e);
      for (const x of m) link('→ its delivery #' + x.deliver.seq + ' at ' + x.deliver.node, x.deliver);
      if (m.length === 0) html('span', 'never delivered', links).className = 'hint';
    } else if (e.type === 'deliver') {
      const m = model.messages.find((x) => x.deliver === e);
      if (m !== undefined) link('← its send #' + m.send.seq + ' at ' + m.send.node, m.send);
    }
    $('selection-json').textContent = JSON.stringify(e.raw, null, 2);
  }

  function select(seq, reveal) {
    state.selected = seq;
    applySelection();
    if (reveal && seq !== null && view.layout.x.has(seq)) {
      diagram.scrollLeft = Math.max(0, view.X(seq) + LABEL_W - diagram.clientWidth / 2);
    }
  }

  plot.addEventListener('click', (ev) => {
    const target = ev.target instanceof Element ? ev.target.closest('.event') : null;
    const seq = target === null ? null : Number(target.getAttribute('data-seq'));
    select(seq === null || Number.isNaN(seq) ? null : seq, false);
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') select(null, false);
  });

  // ------------------------------------------------------------ zoom

  let pending = false;
  /** Re-render at a new scale, keeping the point under anchorPx (relative to the viewport) still. */
  function zoomTo(scale, anchorPx) {
    const anchor = anchorPx === undefined ? (diagram.clientWidth - LABEL_W) / 2 : anchorPx;
    const plotX = diagram.scrollLeft + anchor - PAD;
    const value = view.layout.valueAt(plotX);
    const r = scaleRange(state.axis);
    state.scale[state.axis] = Math.min(r.max, Math.max(r.min, scale));
    render();
    syncSlider();
    diagram.scrollLeft = Math.max(0, PAD + view.layout.xAt(value) - anchor);
  }

  $('zoom').addEventListener('input', () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const r = scaleRange(state.axis);
      const v = Number($('zoom').value) / 1000;
      zoomTo(r.min * (r.max / r.min) ** v);
    });
  });
  diagram.addEventListener('wheel', (ev) => {
    if (!ev.ctrlKey && !ev.metaKey) return;
    ev.preventDefault();
    const rect = diagram.getBoundingClientRect();
    const anchor = ev.clientX - rect.left - LABEL_W;
    zoomTo(state.scale[state.axis] * Math.exp(-ev.deltaY * 0.002), Math.max(0, anchor));
  }, { passive: false });
  $('fit').addEventListener('click', () => {
    state.scale[state.axis] = fitScale(state.axis);
    render();
    syncSlider();
    diagram.scrollLeft = 0;
  });
  $('axis').addEventListener('change', () => {
    state.axis = $('axis').value === 'lamport' ? 'lamport' : 'time';
    render();
    syncSlider();
    diagram.scrollLeft = 0;
  });

  // ------------------------------------------------------------ filters and legend

  function checkbox(parent, text, checked, onChange, swatch) {
    const label = html('label', undefined, parent);
    const box = html('input', undefined, label);
    box.type = 'checkbox';
    box.checked = checked;
    box.addEventListener('change', () => onChange(box.checked));
    if (swatch !== undefined) {
      const s = html('span', undefined, label);
      s.className = 'swatch';
      s.style.background = swatch;
    }
    html('span', text, label);
    return box;
  }

  function toggler(set, key) {
    return (checked) => {
      if (checked) set.delete(key);
      else set.add(key);
      render();
    };
  }

  for (const l of model.lanes) {
    const text = l.id + (l.byzantine ? ' (Byzantine)' : '');
    const box = checkbox($('filter-nodes'), text, true, toggler(state.hiddenNodes, l.id));
    box.setAttribute('data-node', l.id);
  }
  for (const k of model.kinds) {
    const box = checkbox($('filter-kinds'), k, true, toggler(state.hiddenKinds, k), colorOfKind(k));
    box.setAttribute('data-kind', k);
  }
  const presentCats = new Set(model.events.map((e) => e.cat));
  for (const c of CATEGORIES) {
    if (!presentCats.has(c.id)) continue;
    const box = checkbox($('filter-cats'), c.label, true, toggler(state.hiddenCats, c.id));
    box.setAttribute('data-category', c.id);
  }

  (() => {
    const legend = $('legend');
    const item = (text, draw) => {
      const icon = svg('svg', { width: 28, height: 18, viewBox: '-14 -9 28 18' }, legend);
      draw(icon);
      html('span', text, legend);
    };
    for (const c of CATEGORIES) {
      item(c.label, (g) => shapeEl(c.id, PALETTE[0], g));
    }
    item('message (colour = kind)', (g) => {
      svg('path', { d: 'M-12,6L10,-5', stroke: PALETTE[0], 'stroke-width': 1.5, fill: 'none' }, g);
      svg('path', { d: 'M5,-7L11,-5.5L7,-1Z', fill: PALETTE[0] }, g);
    });
    item('send never delivered', (g) => {
      const dash = { stroke: PALETTE[0], 'stroke-width': 1.5, 'stroke-dasharray': '4 3' };
      svg('path', { d: 'M-12,6L6,-3', ...dash, fill: 'none' }, g);
    });
    item('Byzantine instance', (g) => {
      svg('rect', { x: -14, y: -8, width: 28, height: 16, fill: '#fee2e2' }, g);
      svg('line', { x1: -14, y1: 0, x2: 14, y2: 0, stroke: '#dc2626', 'stroke-width': 2 }, g);
    });
    item('instance down (crash → restart)', (g) => {
      svg('rect', { x: -14, y: -6, width: 28, height: 12, fill: 'url(#hatch)', stroke: '#9ca3af' }, g);
    });
    item('partition (band until heal)', (g) => {
      svg('rect', { x: -14, y: -9, width: 28, height: 18, fill: '#fde68a', opacity: 0.6 }, g);
      svg('line', { x1: -10, y1: -9, x2: -10, y2: 9, stroke: '#d97706', 'stroke-dasharray': '3 2' }, g);
    });
    item('causal past of the selected event', (g) => {
      svg('circle', { r: 6, fill: '#fef08a', stroke: '#ca8a04' }, g);
      svg('circle', { r: 3.5, fill: PALETTE[0] }, g);
    });
  })();

  // ------------------------------------------------------------ go

  state.scale.time = fitScale('time');
  state.scale.lamport = fitScale('lamport');
  render();
  syncSlider();
  document.body.setAttribute('data-ready', 'true');
})();
`;
