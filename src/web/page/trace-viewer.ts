/**
 * The trace viewer's page script (src/web/trace-viewer.ts inlines it, bundled by
 * src/web/page-script.ts, into one self-contained HTML file): a space-time diagram of a
 * `bftkit-trace/1` run, one lane per instance and messages as arrows, with zoom, filters and,
 * on a click, the event's causal past from the vector clocks.
 *
 * The trace is untrusted: it only ever reaches the DOM through textContent, setAttribute and
 * createElementNS — never as markup.
 */
import { byId } from './dom.js';
import { buildFilters } from './trace-filters.js';
import { drawLegend } from './trace-legend.js';
import { buildModel, type Model, parseTrace } from './trace-model.js';
import { PALETTE } from './trace-shapes.js';
import { html, isObject } from './trace-text.js';
import { TraceView } from './trace-view.js';

const $ = (id: string): HTMLElement => byId(id, HTMLElement);

function showError(message: string): void {
  const box = html('div', message, null);
  box.id = 'error';
  $('diagram').replaceChildren(box);
}

/** The line above the diagram: what ran, and how much of it the trace holds. */
function summarize(model: Model, skipped: number): void {
  const meta = isObject(model.header.meta) ? model.header.meta : {};
  const parts: string[] = [];
  for (const key of ['scenario', 'protocol', 'seed', 'cluster']) {
    const value = meta[key];
    if (typeof value === 'string' || typeof value === 'number') parts.push(`${key} ${value}`);
  }
  parts.push(`${model.lanes.length} instances`);
  parts.push(`${model.events.length} events`);
  parts.push(`${model.messages.length} messages delivered, ${model.dangling.length} not`);
  $('summary').textContent = parts.join(' · ');
  if (skipped > 0) $('warnings').textContent = `${skipped} malformed line(s) skipped`;
}

function view(model: Model, skipped: number): void {
  const traceView = new TraceView(model);
  summarize(model, skipped);
  buildFilters(traceView.state, () => traceView.render());
  drawLegend();
  traceView.start();
  document.body.setAttribute('data-ready', 'true');
}

const data: unknown = JSON.parse($('trace-data').textContent ?? '""');
const parsed = parseTrace(typeof data === 'string' ? data : '');
if ('error' in parsed) showError(parsed.error);
else view(buildModel(parsed, PALETTE.length), parsed.skipped);
