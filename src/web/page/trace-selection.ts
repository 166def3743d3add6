/**
 * The selected event: its causal past (from the vector clocks) highlighted in the diagram,
 * and the side panel that describes it and links a send to its delivery and back.
 */
import { byId } from './dom.js';
import type { Drawn } from './trace-draw.js';
import { formatTime } from './trace-layout.js';
import type { Model, TraceEvent } from './trace-model.js';
import { describe, html } from './trace-text.js';
import { AXIS_H } from './trace-view-state.js';

const $ = (id: string): HTMLElement => byId(id, HTMLElement);

/** Exactly the events e' ≠ e with vc(e') ≤ vc(e) component-wise; none for a clock-less e. */
export function causalPast(model: Model, e: TraceEvent): Set<number> {
  const past = new Set<number>();
  const n = e.vc.length;
  if (n === 0) return past;
  for (const other of model.events) {
    if (other === e || other.vc.length !== n) continue;
    let below = true;
    for (let k = 0; k < n; k++) {
      if (other.vc[k]! > e.vc[k]!) {
        below = false;
        break;
      }
    }
    if (below) past.add(other.seq);
  }
  return past;
}

/**
 * Show the selection (the event e, or none) in what was drawn; `select` is what a link in the
 * panel does.
 */
export function showSelection(
  model: Model,
  drawn: Drawn,
  e: TraceEvent | undefined,
  select: (seq: number) => void,
): void {
  const plot = byId('plot', SVGSVGElement);
  const halo = byId('halo', SVGCircleElement);
  if (e === undefined) {
    plot.classList.remove('has-selection');
    for (const el of drawn.eventEls.values()) el.classList.remove('selected', 'causal-past');
    for (const a of drawn.arrows) a.el.classList.remove('causal-past');
    halo.setAttribute('display', 'none');
    $('selection').hidden = true;
    $('selection-empty').hidden = false;
    return;
  }
  const past = causalPast(model, e);
  plot.classList.add('has-selection');
  highlight(drawn, e, past);
  if (drawn.eventEls.has(e.seq)) {
    const y = e.lane >= 0 ? drawn.laneY.get(e.lane)! : AXIS_H - 8;
    halo.setAttribute('cx', String(drawn.X(e.seq)));
    halo.setAttribute('cy', String(y));
    halo.setAttribute('display', 'inline');
  } else {
    halo.setAttribute('display', 'none');
  }
  showPanel(model, drawn, e, past, select);
}

/** Mark e, the events of its causal past, and the arrows between them. */
function highlight(drawn: Drawn, e: TraceEvent, past: Set<number>): void {
  for (const [seq, el] of drawn.eventEls) {
    el.classList.toggle('selected', seq === e.seq);
    el.classList.toggle('causal-past', past.has(seq));
  }
  const inCone = (seq: number) => seq === e.seq || past.has(seq);
  for (const a of drawn.arrows) {
    const inside = a.deliver !== null && inCone(a.send.seq) && inCone(a.deliver.seq);
    a.el.classList.toggle('causal-past', inside);
  }
}

function showPanel(
  model: Model,
  shown: Drawn,
  e: TraceEvent,
  past: Set<number>,
  select: (seq: number) => void,
): void {
  $('selection-empty').hidden = true;
  $('selection').hidden = false;
  $('selection-title').textContent = describe(e);
  $('selection-meta').textContent =
    `time ${formatTime(e.time, 0.000001)} · Lamport ${e.lamport} · vc [${e.vc.join(', ')}]`;
  let visible = 0;
  for (const seq of past) if (shown.eventEls.has(seq)) visible++;
  const plural = past.size === 1 ? '' : 's';
  const hidden = visible < past.size ? ` (${past.size - visible} hidden by filters)` : '';
  $('selection-past').textContent =
    e.vc.length === 0
      ? 'network-wide event: no vector clock, no causal past'
      : `causal past: ${past.size} event${plural}${hidden}`;
  showMessageLinks(model, e, select);
  $('selection-json').textContent = JSON.stringify(e.raw, null, 2);
}

/** From a send to its deliveries, from a delivery to its send. */
function showMessageLinks(model: Model, e: TraceEvent, select: (seq: number) => void): void {
  const links = $('selection-links');
  links.replaceChildren();
  const link = (text: string, target: TraceEvent) => {
    const b = html('button', text, links);
    b.type = 'button';
    b.addEventListener('click', () => select(target.seq));
  };
  if (e.type === 'send') {
    const m = model.messages.filter((x) => x.send === e);
    for (const x of m) link(`→ its delivery #${x.deliver.seq} at ${x.deliver.node}`, x.deliver);
    if (m.length === 0) html('span', 'never delivered', links).className = 'hint';
  } else if (e.type === 'deliver') {
    const m = model.messages.find((x) => x.deliver === e);
    if (m !== undefined) link(`← its send #${m.send.seq} at ${m.send.node}`, m.send);
  }
}
