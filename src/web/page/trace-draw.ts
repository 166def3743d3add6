/**
 * The space-time diagram itself: one render of the model as the view state asks — lanes,
 * down periods, the axis, network-wide events, message arrows, event marks and the lane
 * labels — and where it put each event and arrow, for the selection to find them.
 */
import { svg } from './dom.js';
import { formatTime, type Layout, layoutLamport, layoutTime, niceStep } from './trace-layout.js';
import type { Lane, Model, TraceEvent } from './trace-model.js';
import { colorOfKind, PALETTE, shapeEl } from './trace-shapes.js';
import { describe, isObject, short } from './trace-text.js';
import { AXIS_H, LABEL_W, PAD, type ViewState } from './trace-view-state.js';

const HIT_R = 6; // click radius of an event (< MIN_GAP, so neighbours stay clickable)

/** An arrow drawn: a delivered message (deliver set) or a send never delivered. */
export interface Arrow {
  el: SVGPathElement;
  send: TraceEvent;
  deliver: TraceEvent | null;
}

/** What the last render drew: positions and elements. */
export interface Drawn {
  layout: Layout;
  eventEls: Map<number, SVGGElement>;
  arrows: Arrow[];
  X(seq: number): number;
  laneY: Map<number, number>;
}

/** One render's geometry and the layers it draws into (in paint order). */
interface Frame {
  model: Model;
  state: ViewState;
  layout: Layout;
  lanes: Lane[];
  laneH: number;
  laneY: Map<number, number>;
  width: number;
  height: number;
  right: number;
  X(seq: number): number;
  yOf(lane: number): number;
  layers: Record<'bands' | 'grid' | 'lanes' | 'global' | 'arrows' | 'events', SVGGElement>;
}

/** Draw the diagram into plot and its lane labels into labels, filling a diagram this high. */
export function drawDiagram(
  plot: SVGSVGElement,
  labels: SVGSVGElement,
  state: ViewState,
  diagramHeight: number,
): Drawn {
  const frame = frameOf(plot, state, diagramHeight);
  drawLanes(frame);
  drawDownPeriods(frame);
  drawAxis(frame);
  new NetworkEvents(frame).draw();
  const arrows = drawArrows(frame);
  const eventEls = drawEvents(frame);
  svg('circle', { id: 'halo', r: 9, display: 'none' }, plot);
  drawLaneLabels(labels, frame);
  return { layout: frame.layout, eventEls, arrows, X: frame.X, laneY: frame.laneY };
}

function frameOf(plot: SVGSVGElement, state: ViewState, diagramHeight: number): Frame {
  const model = state.model;
  const lanes = model.lanes.filter((l) => !state.hiddenNodes.has(l.id));
  // Lanes grow to fill the window, within bounds.
  const room = (diagramHeight - AXIS_H - 24) / Math.max(1, lanes.length);
  const laneH = Math.max(44, Math.min(96, Math.floor(room)));
  const laneY = new Map(lanes.map((l, i) => [l.index, AXIS_H + i * laneH + laneH / 2]));
  const placed = state.placedEvents();
  const scale = state.scale[state.axis];
  const layout = state.axis === 'time' ? layoutTime(placed, scale) : layoutLamport(placed, scale);
  const width = Math.ceil(PAD * 2 + layout.width + 40);
  const height = AXIS_H + lanes.length * laneH + 8;
  resetPlot(plot, width, height);
  const layer = () => svg('g', null, plot);
  const layers = {
    bands: layer(),
    grid: layer(),
    lanes: layer(),
    global: layer(),
    arrows: layer(),
    events: layer(),
  };
  return {
    model,
    state,
    layout,
    lanes,
    laneH,
    laneY,
    width,
    height,
    right: width - PAD / 2,
    X: (seq) => PAD + (layout.x.get(seq) ?? 0),
    yOf: (lane) => laneY.get(lane) ?? AXIS_H - 8,
    layers,
  };
}

/** Empty the plot, size it, and give it its patterns, arrow heads and background. */
function resetPlot(plot: SVGSVGElement, width: number, height: number): void {
  plot.replaceChildren();
  plot.setAttribute('width', String(width));
  plot.setAttribute('height', String(height));
  plot.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const defs = svg('defs', null, plot);
  const hatch = svg(
    'pattern',
    {
      id: 'hatch',
      width: 6,
      height: 6,
      patternUnits: 'userSpaceOnUse',
      patternTransform: 'rotate(45)',
    },
    defs,
  );
  svg('rect', { width: 6, height: 6, fill: '#f3f4f6' }, hatch);
  svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#9ca3af', 'stroke-width': 2 }, hatch);
  PALETTE.forEach((color, i) => {
    const marker = svg(
      'marker',
      {
        id: `head-${i}`,
        viewBox: '0 0 10 10',
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: 'auto',
        markerUnits: 'userSpaceOnUse',
      },
      defs,
    );
    svg('path', { d: 'M0,1L10,5L0,9Z', fill: color }, marker);
  });
  svg('rect', { class: 'background', x: 0, y: 0, width, height, fill: '#fff' }, plot);
}

/** A line per shown instance, on a red band when it is Byzantine. */
function drawLanes(f: Frame): void {
  for (const l of f.lanes) {
    const y = f.yOf(l.index);
    const band = { x: 0, y: y - f.laneH / 2 + 2, width: f.width, height: f.laneH - 4 };
    if (l.byzantine) svg('rect', { class: 'lane-band byzantine', ...band }, f.layers.bands);
    const cls = `lane${l.byzantine ? ' byzantine' : ''}`;
    const line = svg(
      'line',
      { class: cls, x1: PAD / 2, y1: y, x2: f.right, y2: y },
      f.layers.lanes,
    );
    line.setAttribute('data-node', l.id);
  }
}

/** A hatched bar on a lane from each crash to the next restart (or the end). */
function drawDownPeriods(f: Frame): void {
  const downSince = new Map<number, number>();
  for (const e of f.model.events) {
    if (e.lane < 0 || !f.layout.x.has(e.seq)) continue;
    const since = downSince.get(e.lane);
    if (e.type === 'crash') downSince.set(e.lane, f.X(e.seq));
    else if ((e.type === 'restart' || e.type === 'start') && since !== undefined) {
      downBand(f, e.lane, since, f.X(e.seq));
      downSince.delete(e.lane);
    }
  }
  for (const [lane, x1] of downSince) downBand(f, lane, x1, f.right);
}

function downBand(f: Frame, lane: number, x1: number, x2: number): void {
  const y = f.laneY.get(lane);
  if (y === undefined || x2 <= x1) return;
  const attributes = { class: 'down', x: x1, y: y - 7, width: x2 - x1, height: 14 };
  const r = svg('rect', attributes, f.layers.lanes);
  const t = svg('title', null, r);
  t.textContent = `${f.model.lanes[lane]!.id} is down`;
}

function drawAxis(f: Frame): void {
  const grid = f.layers.grid;
  svg('line', { class: 'axis', x1: PAD / 2, y1: AXIS_H - 14, x2: f.right, y2: AXIS_H - 14 }, grid);
  // Ticks about 90 px apart on average; where the layout is sparser, some are skipped.
  const layout = f.layout;
  const maxValue = layout.valueAt(layout.width + 40);
  const minStep = (90 * Math.max(maxValue, 1e-3)) / Math.max(layout.width + 40, 1);
  const step = niceStep(f.state.axis === 'time' ? minStep : Math.max(1, minStep));
  let lastTick = -Infinity;
  for (let k = 0, v = 0; v <= maxValue && k < 20000; k++, v = k * step) {
    const x = PAD + layout.xAt(v);
    if (x - lastTick < 70) continue;
    lastTick = x;
    svg('line', { class: 'grid', x1: x, y1: AXIS_H - 14, x2: x, y2: f.height }, grid);
    svg('line', { class: 'axis', x1: x, y1: AXIS_H - 18, x2: x, y2: AXIS_H - 10 }, grid);
    const label = svg('text', { class: 'tick', x: x + 3, y: AXIS_H - 22 }, grid);
    label.textContent = f.state.axis === 'time' ? formatTime(v, step) : String(v);
  }
}

/** Network-wide events: partition bands until the next change, heal and network markers. */
class NetworkEvents {
  private readonly top = AXIS_H - 10;
  /** Where each of the two label rows is free from. */
  private readonly rowsEnd = [-Infinity, -Infinity];
  /** Where the partition in force began, if one is. */
  private open: number | null = null;

  constructor(private readonly f: Frame) {}

  draw(): void {
    const f = this.f;
    for (const e of f.model.byTime) {
      if (e.lane >= 0 || !f.layout.x.has(e.seq)) continue;
      const x = f.X(e.seq);
      if (e.type === 'partition') {
        this.closeBand(x);
        this.open = x;
        this.edge('partition-edge', x);
        this.label(x + 5, `partition ${blocksOf(e)}`);
      } else if (e.type === 'heal') {
        this.closeBand(x);
        this.edge('heal-edge', x);
        this.label(x + 5, 'heal');
      } else {
        this.edge('network-edge', x);
        this.label(x + 5, e.type === 'network' ? `network ${short(e.ev.change, 40)}` : e.type);
      }
    }
    this.closeBand(f.right);
  }

  private edge(cls: string, x: number): void {
    const line = { class: cls, x1: x, y1: this.top, x2: x, y2: this.f.height };
    svg('line', line, this.f.layers.global);
  }

  private label(x: number, text: string): void {
    // Two rows of labels, so that a partition and its heal close by do not overprint.
    const rowsEnd = this.rowsEnd;
    const row = rowsEnd[0]! <= x ? 0 : rowsEnd[1]! <= x ? 1 : 0;
    rowsEnd[row] = x + 12 + text.length * 5.6;
    const y = row === 0 ? AXIS_H - 1 : AXIS_H + 10;
    const t = svg('text', { class: 'global-label', x: x + 4, y }, this.f.layers.global);
    t.textContent = text;
  }

  private closeBand(x2: number): void {
    if (this.open === null) return;
    const w = Math.max(2, x2 - this.open);
    const top = this.top;
    const band = {
      class: 'partition-band',
      x: this.open,
      y: top,
      width: w,
      height: this.f.height - top,
    };
    svg('rect', band, this.f.layers.bands);
    this.open = null;
  }
}

function blocksOf(e: TraceEvent): string {
  return Array.isArray(e.ev.blocks)
    ? e.ev.blocks.map((b) => (Array.isArray(b) ? b.join(' ') : String(b))).join(' | ')
    : '';
}

/** One arrow per delivered message, a short dashed stub per undelivered send. */
function drawArrows(f: Frame): Arrow[] {
  const arrows: Arrow[] = [];
  for (const m of f.model.messages) {
    if (!f.layout.x.has(m.send.seq) || !f.layout.x.has(m.deliver.seq)) continue;
    const from: [number, number] = [f.X(m.send.seq), f.yOf(m.send.lane)];
    const to: [number, number] = [f.X(m.deliver.seq), f.yOf(m.deliver.lane)];
    arrows.push(drawArrow(f, m, m.deliver, from, to));
  }
  for (const m of f.model.dangling) {
    if (!f.layout.x.has(m.send.seq)) continue;
    const target =
      f.model.lanes.find((l) => l.id === m.to) ?? f.model.lanes.find((l) => l.identity === m.to);
    if (target !== undefined && f.state.hiddenNodes.has(target.id)) continue;
    // The stub points towards its addressee's lane (down a lane when it has none).
    const y1 = f.yOf(m.send.lane);
    const ty = target === undefined ? y1 + f.laneH : f.yOf(target.index);
    const reach = f.laneH * 0.6;
    const dy = ty === y1 ? -14 : Math.max(-reach, Math.min(reach, (ty - y1) * 0.4));
    const x1 = f.X(m.send.seq);
    arrows.push(drawArrow(f, m, null, [x1, y1], [x1 + 26, y1 + dy]));
  }
  return arrows;
}

function drawArrow(
  f: Frame,
  m: { id: string; kind: string; send: TraceEvent },
  deliver: TraceEvent | null,
  from: [number, number],
  to: [number, number],
): Arrow {
  const dangling = deliver === null;
  const color = f.model.colorOf.get(m.kind) ?? 0;
  const attributes = {
    class: `arrow${dangling ? ' dangling' : ''}`,
    d: arrowPath(from, to, dangling),
    stroke: PALETTE[color]!,
    'marker-end': `url(#head-${color})`,
  };
  const p = svg('path', attributes, f.layers.arrows);
  p.setAttribute('data-id', m.id);
  p.setAttribute('data-kind', m.kind);
  p.setAttribute('data-from', m.send.node);
  p.setAttribute('data-send', String(m.send.seq));
  if (deliver !== null) {
    p.setAttribute('data-to', deliver.node);
    p.setAttribute('data-deliver', String(deliver.seq));
  }
  const t = svg('title', null, p);
  t.textContent = `${m.kind} ${m.id}${dangling ? ' (never delivered)' : ''}`;
  return { el: p, send: m.send, deliver };
}

function arrowPath([x1, y1]: [number, number], [x2, y2]: [number, number], dangling: boolean) {
  // A delivered arrow stops short of its event, so that the head does not hide the mark.
  const len = Math.hypot(x2 - x1, y2 - y1) || 1;
  const cut = dangling ? 0 : 5;
  const ex = x2 - ((x2 - x1) / len) * cut;
  const ey = y2 - ((y2 - y1) / len) * cut;
  // A message to itself (or a twin on the same lane): a small arc.
  return y1 === y2 && !dangling
    ? `M${x1},${y1}Q${(x1 + ex) / 2},${y1 - 22} ${ex},${ey}`
    : `M${x1},${y1}L${ex},${ey}`;
}

/** The event marks, on top of everything so that they take the clicks. */
function drawEvents(f: Frame): Map<number, SVGGElement> {
  const eventEls = new Map<number, SVGGElement>();
  for (const e of f.model.byTime) {
    if (!f.state.isDrawn(e) || !f.layout.x.has(e.seq)) continue;
    const x = f.X(e.seq);
    const y = f.yOf(e.lane);
    const g = svg(
      'g',
      { class: `event cat-${e.cat} type-${e.type}`, transform: `translate(${x},${y})` },
      f.layers.events,
    );
    g.setAttribute('data-seq', String(e.seq));
    g.setAttribute('data-node', e.node);
    g.setAttribute('data-type', e.type);
    svg('circle', { class: 'past-ring', r: HIT_R }, g);
    shapeEl(e.cat, e.kind === null ? null : colorOfKind(f.model.colorOf, e.kind), g);
    svg('circle', { class: 'hit', r: HIT_R }, g);
    const t = svg('title', null, g);
    t.textContent = describe(e);
    drawViewNumber(f, e, x, y);
    eventEls.set(e.seq, g);
  }
  return eventEls;
}

/** A view change's new view (PBFT) or term (Raft) beside its mark. */
function drawViewNumber(f: Frame, e: TraceEvent, x: number, y: number): void {
  const data = e.ev.data;
  if (e.cat !== 'view' || !isObject(data)) return;
  const n = data.view !== undefined ? data.view : data.term;
  if (typeof n !== 'number' && typeof n !== 'string') return;
  const label = svg('text', { class: 'event-label', x: x + 6, y: y - 9 }, f.layers.events);
  label.textContent = (data.view !== undefined ? 'v' : 't') + String(n);
}

function drawLaneLabels(labels: SVGSVGElement, f: Frame): void {
  labels.replaceChildren();
  labels.setAttribute('height', String(f.height));
  svg('rect', { x: 0, y: 0, width: LABEL_W, height: f.height, fill: '#fff' }, labels);
  for (const l of f.lanes) {
    const y = f.yOf(l.index);
    const band = { x: 0, y: y - f.laneH / 2 + 2, width: LABEL_W, height: f.laneH - 4 };
    if (l.byzantine) svg('rect', { class: 'lane-band byzantine', ...band }, labels);
    const byz = l.byzantine ? ' byzantine' : '';
    const name = svg('text', { class: `lane-label${byz}`, x: 10, y: y - 2 }, labels);
    name.textContent = l.id;
    const subs: string[] = [];
    if (l.byzantine) subs.push('Byzantine');
    if (l.identity !== l.id) subs.push(`twin of ${l.identity}`);
    if (l.extra) subs.push('not in header');
    if (subs.length > 0) {
      const sub = svg('text', { class: `lane-sub${byz}`, x: 10, y: y + 12 }, labels);
      sub.textContent = subs.join(' · ');
    }
  }
  const axisName = svg('text', { class: 'tick', x: 10, y: AXIS_H - 22 }, labels);
  axisName.textContent = f.state.axis === 'time' ? 'virtual time' : 'Lamport clock';
}
