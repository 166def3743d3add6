/**
 * The trace viewer's page script (src/web/trace-viewer.ts inlines it, bundled by
 * src/web/page-script.ts, into one self-contained HTML file): a space-time diagram of a
 * `bftkit-trace/1` run, one lane per instance and messages as arrows, with zoom, filters and,
 * on a click, the event's causal past from the vector clocks.
 *
 * The trace is untrusted: it only ever reaches the DOM through textContent, setAttribute and
 * createElementNS — never as markup.
 */
import { byId, svg } from './dom.js';
import {
  formatScale,
  formatTime,
  type Layout,
  layoutLamport,
  layoutTime,
  MIN_GAP,
  niceStep,
} from './trace-layout.js';
import { buildModel, type Model, parseTrace, type TraceEvent } from './trace-model.js';
import { CATEGORIES, DEFAULT_COLOR, PALETTE, shapeEl } from './trace-shapes.js';

const AXIS_H = 44; // the time axis above the lanes
const PAD = 28; // margin left and right of the plot
const LABEL_W = 132; // width of the sticky lane labels
const HIT_R = 6; // click radius of an event (< MIN_GAP, so neighbours stay clickable)
const MAX_WIDTH = 12000000; // keep the SVG well below the browsers' size limits

type Axis = 'time' | 'lamport';

/** An arrow drawn: a delivered message (deliver set) or a send never delivered. */
interface Arrow {
  el: SVGPathElement;
  send: TraceEvent;
  deliver: TraceEvent | null;
}

/** What the last render drew: positions and elements. */
interface Drawn {
  layout: Layout;
  eventEls: Map<number, SVGGElement>;
  arrows: Arrow[];
  X(seq: number): number;
  laneY: Map<number, number>;
}

const $ = (id: string): HTMLElement => byId(id, HTMLElement);

function html<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text: string | undefined,
  parent: Element | null,
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (text !== undefined) el.textContent = text;
  parent?.appendChild(el);
  return el;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function short(value: unknown, max: number): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch {
    s = String(value);
  }
  if (s === undefined) s = String(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function describe(e: TraceEvent): string {
  const ev = e.ev;
  const at = `#${e.seq} · ${e.node} · t=${formatTime(e.time, 0.001)} — `;
  switch (e.type) {
    case 'send':
      return `${at}send ${ev.kind} to ${ev.to}`;
    case 'deliver':
      return `${at}deliver ${ev.kind} from ${ev.from}`;
    case 'reject':
      return `${at}reject from ${ev.from}: ${ev.reason}`;
    case 'note':
      return `${at}note ${ev.event}${ev.data === undefined || ev.data === null ? '' : ` ${short(ev.data, 80)}`}`;
    case 'adversary':
      return `${at}adversary ${ev.action}`;
    case 'timer':
      return `${at}timer ${ev.name}`;
    case 'partition':
      return `${at}partition ${short(ev.blocks, 80)}`;
    case 'network':
      return `${at}network ${short(ev.change, 80)}`;
    default:
      return at + e.type;
  }
}

/** Exactly the events e' ≠ e with vc(e') ≤ vc(e) component-wise; none for a clock-less e. */
function causalPast(model: Model, e: TraceEvent): Set<number> {
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

function showError(message: string): void {
  const box = html('div', message, null);
  box.id = 'error';
  $('diagram').replaceChildren(box);
}

function view(model: Model, skipped: number): void {
  let laneH = 48; // height of one instance's lane (grows to fill the window)
  const state = {
    axis: 'time' as Axis,
    scale: { time: 1, lamport: 12 } as Record<Axis, number>,
    hiddenNodes: new Set<string>(),
    hiddenKinds: new Set<string>(),
    hiddenCats: new Set<string>(),
    selected: null as number | null,
  };
  let drawn: Drawn | null = null;

  const diagram = $('diagram');
  const canvas = $('canvas');
  const labels = svg('svg', { id: 'labels', width: LABEL_W });
  const plot = svg('svg', { id: 'plot' });
  canvas.append(labels, plot);
  const zoom = byId('zoom', HTMLInputElement);
  const axisSelect = byId('axis', HTMLSelectElement);

  // --- summary line
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

  // ---------------------------------------------------------------- scales

  const fitCache = new Map<string, number>();
  /** The largest scale at which the whole run fits the window (the layout only widens it). */
  function fitScale(axis: Axis): number {
    const avail = Math.max(200, diagram.clientWidth - LABEL_W - 2 * PAD - 40);
    if (axis === 'lamport')
      return Math.max(MIN_GAP, Math.min(40, avail / Math.max(1, model.maxLamport)));
    const key = `${[...state.hiddenNodes].sort().join(',')}|${[...state.hiddenKinds].sort().join(',')}|${[...state.hiddenCats].sort().join(',')}|${avail}`;
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

  function scaleRange(axis: Axis): { min: number; max: number } {
    const fit = fitScale(axis);
    if (axis === 'lamport') return { min: MIN_GAP, max: Math.max(80, fit) };
    const span = Math.max(model.maxTime, 1e-3);
    const max = Math.max(fit * 4, Math.min(Math.max(fit * 8, 400), MAX_WIDTH / span));
    return { min: fit / 2, max };
  }

  function syncSlider(): void {
    const r = scaleRange(state.axis);
    const s = Math.min(r.max, Math.max(r.min, state.scale[state.axis]));
    state.scale[state.axis] = s;
    const v = r.max > r.min ? (1000 * Math.log(s / r.min)) / Math.log(r.max / r.min) : 0;
    zoom.value = String(Math.round(v));
    $('zoom-label').textContent =
      state.axis === 'time' ? formatScale(s) : `${s.toFixed(1)} px / tick`;
  }

  // ---------------------------------------------------------------- layout

  function isShown(e: TraceEvent): boolean {
    if (e.lane >= 0 && state.hiddenNodes.has(model.lanes[e.lane]!.id)) return false;
    if (e.kind !== null && state.hiddenKinds.has(e.kind)) return false;
    return true;
  }

  function isDrawn(e: TraceEvent): boolean {
    return isShown(e) && !state.hiddenCats.has(e.cat);
  }

  /** Every drawn event, plus the ends of drawn arrows whose category is hidden; in time order. */
  function placedEvents(): TraceEvent[] {
    const arrowEnds = new Set<number>();
    for (const m of model.messages) {
      if (isShown(m.send) && isShown(m.deliver)) arrowEnds.add(m.send.seq).add(m.deliver.seq);
    }
    for (const m of model.dangling) if (isShown(m.send)) arrowEnds.add(m.send.seq);
    return model.byTime.filter((e) => isDrawn(e) || arrowEnds.has(e.seq));
  }

  // ---------------------------------------------------------------- drawing

  function colorOfKind(kind: string): string {
    const i = model.colorOf.get(kind);
    return i === undefined ? DEFAULT_COLOR : PALETTE[i]!;
  }

  function render(): void {
    const axis = state.axis;
    const scale = state.scale[axis];
    const lanes = model.lanes.filter((l) => !state.hiddenNodes.has(l.id));
    const room = (diagram.clientHeight - AXIS_H - 24) / Math.max(1, lanes.length);
    laneH = Math.max(44, Math.min(96, Math.floor(room)));
    const laneY = new Map(lanes.map((l, i) => [l.index, AXIS_H + i * laneH + laneH / 2]));
    const yOf = (lane: number): number => laneY.get(lane) ?? AXIS_H - 8;
    const placed = placedEvents();
    const layout = axis === 'time' ? layoutTime(placed, scale) : layoutLamport(placed, scale);
    const X = (seq: number): number => PAD + (layout.x.get(seq) ?? 0);
    const width = Math.ceil(PAD * 2 + layout.width + 40);
    const height = AXIS_H + lanes.length * laneH + 8;
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

    const gBands = svg('g', null, plot);
    const gGrid = svg('g', null, plot);
    const gLanes = svg('g', null, plot);
    const gGlobal = svg('g', null, plot);
    const gArrows = svg('g', null, plot);
    const gEvents = svg('g', null, plot);
    const right = width - PAD / 2;

    // Lanes, Byzantine bands, down periods.
    for (const l of lanes) {
      const y = yOf(l.index);
      const band = { x: 0, y: y - laneH / 2 + 2, width, height: laneH - 4 };
      if (l.byzantine) svg('rect', { class: 'lane-band byzantine', ...band }, gBands);
      const cls = `lane${l.byzantine ? ' byzantine' : ''}`;
      const line = svg('line', { class: cls, x1: PAD / 2, y1: y, x2: right, y2: y }, gLanes);
      line.setAttribute('data-node', l.id);
    }
    const downSince = new Map<number, number>();
    const downBand = (lane: number, x1: number, x2: number) => {
      const y = laneY.get(lane);
      if (y === undefined || x2 <= x1) return;
      const r = svg('rect', { class: 'down', x: x1, y: y - 7, width: x2 - x1, height: 14 }, gLanes);
      const t = svg('title', null, r);
      t.textContent = `${model.lanes[lane]!.id} is down`;
    };
    for (const e of model.events) {
      if (e.lane < 0 || !layout.x.has(e.seq)) continue;
      const since = downSince.get(e.lane);
      if (e.type === 'crash') downSince.set(e.lane, X(e.seq));
      else if ((e.type === 'restart' || e.type === 'start') && since !== undefined) {
        downBand(e.lane, since, X(e.seq));
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
    const globalLabel = (x: number, text: string) => {
      // Two rows of labels, so that a partition and its heal close by do not overprint.
      const row = rowsEnd[0]! <= x ? 0 : rowsEnd[1]! <= x ? 1 : 0;
      rowsEnd[row] = x + 12 + text.length * 5.6;
      const y = row === 0 ? AXIS_H - 1 : AXIS_H + 10;
      const t = svg('text', { class: 'global-label', x: x + 4, y }, gGlobal);
      t.textContent = text;
    };
    let open: number | null = null;
    const closeBand = (x2: number) => {
      if (open === null) return;
      const w = Math.max(2, x2 - open);
      svg(
        'rect',
        { class: 'partition-band', x: open, y: top, width: w, height: height - top },
        gBands,
      );
      open = null;
    };
    for (const e of model.byTime) {
      if (e.lane >= 0 || !layout.x.has(e.seq)) continue;
      const x = X(e.seq);
      if (e.type === 'partition') {
        closeBand(x);
        open = x;
        svg('line', { class: 'partition-edge', x1: x, y1: top, x2: x, y2: height }, gGlobal);
        const blocks = Array.isArray(e.ev.blocks)
          ? e.ev.blocks.map((b) => (Array.isArray(b) ? b.join(' ') : String(b))).join(' | ')
          : '';
        globalLabel(x + 5, `partition ${blocks}`);
      } else if (e.type === 'heal') {
        closeBand(x);
        svg('line', { class: 'heal-edge', x1: x, y1: top, x2: x, y2: height }, gGlobal);
        globalLabel(x + 5, 'heal');
      } else {
        svg('line', { class: 'network-edge', x1: x, y1: top, x2: x, y2: height }, gGlobal);
        globalLabel(x + 5, e.type === 'network' ? `network ${short(e.ev.change, 40)}` : e.type);
      }
    }
    closeBand(right);

    // Arrows: one per delivered message, a short dashed stub per undelivered send.
    const arrows: Arrow[] = [];
    const addArrow = (
      m: { id: string; kind: string; send: TraceEvent },
      deliver: TraceEvent | null,
      [x1, y1]: [number, number],
      [x2, y2]: [number, number],
    ) => {
      const dangling = deliver === null;
      const color = model.colorOf.get(m.kind) ?? 0;
      const len = Math.hypot(x2 - x1, y2 - y1) || 1;
      const cut = dangling ? 0 : 5;
      const ex = x2 - ((x2 - x1) / len) * cut;
      const ey = y2 - ((y2 - y1) / len) * cut;
      // A message to itself (or a twin on the same lane): a small arc.
      const d =
        y1 === y2 && !dangling
          ? `M${x1},${y1}Q${(x1 + ex) / 2},${y1 - 22} ${ex},${ey}`
          : `M${x1},${y1}L${ex},${ey}`;
      const p = svg(
        'path',
        {
          class: `arrow${dangling ? ' dangling' : ''}`,
          d,
          stroke: PALETTE[color]!,
          'marker-end': `url(#head-${color})`,
        },
        gArrows,
      );
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
      arrows.push({ el: p, send: m.send, deliver });
    };
    for (const m of model.messages) {
      if (!layout.x.has(m.send.seq) || !layout.x.has(m.deliver.seq)) continue;
      const from: [number, number] = [X(m.send.seq), yOf(m.send.lane)];
      addArrow(m, m.deliver, from, [X(m.deliver.seq), yOf(m.deliver.lane)]);
    }
    for (const m of model.dangling) {
      if (!layout.x.has(m.send.seq)) continue;
      const target =
        model.lanes.find((l) => l.id === m.to) ?? model.lanes.find((l) => l.identity === m.to);
      if (target !== undefined && state.hiddenNodes.has(target.id)) continue;
      const y1 = yOf(m.send.lane);
      const ty = target === undefined ? y1 + laneH : yOf(target.index);
      const dy = ty === y1 ? -14 : Math.max(-laneH * 0.6, Math.min(laneH * 0.6, (ty - y1) * 0.4));
      const x1 = X(m.send.seq);
      addArrow(m, null, [x1, y1], [x1 + 26, y1 + dy]);
    }

    // Events (on top, so they take the clicks).
    const eventEls = new Map<number, SVGGElement>();
    for (const e of model.byTime) {
      if (!isDrawn(e) || !layout.x.has(e.seq)) continue;
      const x = X(e.seq);
      const y = yOf(e.lane);
      const g = svg(
        'g',
        { class: `event cat-${e.cat} type-${e.type}`, transform: `translate(${x},${y})` },
        gEvents,
      );
      g.setAttribute('data-seq', String(e.seq));
      g.setAttribute('data-node', e.node);
      g.setAttribute('data-type', e.type);
      svg('circle', { class: 'past-ring', r: HIT_R }, g);
      shapeEl(e.cat, e.kind === null ? null : colorOfKind(e.kind), g);
      svg('circle', { class: 'hit', r: HIT_R }, g);
      const t = svg('title', null, g);
      t.textContent = describe(e);
      const data = e.ev.data;
      if (e.cat === 'view' && isObject(data)) {
        const n = data.view !== undefined ? data.view : data.term;
        if (typeof n === 'number' || typeof n === 'string') {
          const label = svg('text', { class: 'event-label', x: x + 6, y: y - 9 }, gEvents);
          label.textContent = (data.view !== undefined ? 'v' : 't') + String(n);
        }
      }
      eventEls.set(e.seq, g);
    }
    svg('circle', { id: 'halo', r: 9, display: 'none' }, plot);

    // Lane labels.
    labels.replaceChildren();
    labels.setAttribute('height', String(height));
    svg('rect', { x: 0, y: 0, width: LABEL_W, height, fill: '#fff' }, labels);
    for (const l of lanes) {
      const y = yOf(l.index);
      const band = { x: 0, y: y - laneH / 2 + 2, width: LABEL_W, height: laneH - 4 };
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
    axisName.textContent = axis === 'time' ? 'virtual time' : 'Lamport clock';

    drawn = { layout, eventEls, arrows, X, laneY };
    applySelection();
  }

  // ---------------------------------------------------------------- causal past

  function applySelection(): void {
    if (drawn === null) return;
    const e = state.selected === null ? undefined : model.bySeq.get(state.selected);
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
    for (const [seq, el] of drawn.eventEls) {
      el.classList.toggle('selected', seq === e.seq);
      el.classList.toggle('causal-past', past.has(seq));
    }
    const inCone = (seq: number) => seq === e.seq || past.has(seq);
    for (const a of drawn.arrows) {
      const inside = a.deliver !== null && inCone(a.send.seq) && inCone(a.deliver.seq);
      a.el.classList.toggle('causal-past', inside);
    }
    if (drawn.eventEls.has(e.seq)) {
      const y = e.lane >= 0 ? drawn.laneY.get(e.lane)! : AXIS_H - 8;
      halo.setAttribute('cx', String(drawn.X(e.seq)));
      halo.setAttribute('cy', String(y));
      halo.setAttribute('display', 'inline');
    } else {
      halo.setAttribute('display', 'none');
    }
    showPanel(drawn, e, past);
  }

  function showPanel(shown: Drawn, e: TraceEvent, past: Set<number>): void {
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
    const links = $('selection-links');
    links.replaceChildren();
    const link = (text: string, target: TraceEvent) => {
      const b = html('button', text, links);
      b.type = 'button';
      b.addEventListener('click', () => select(target.seq, true));
    };
    if (e.type === 'send') {
      const m = model.messages.filter((x) => x.send === e);
      for (const x of m) link(`→ its delivery #${x.deliver.seq} at ${x.deliver.node}`, x.deliver);
      if (m.length === 0) html('span', 'never delivered', links).className = 'hint';
    } else if (e.type === 'deliver') {
      const m = model.messages.find((x) => x.deliver === e);
      if (m !== undefined) link(`← its send #${m.send.seq} at ${m.send.node}`, m.send);
    }
    $('selection-json').textContent = JSON.stringify(e.raw, null, 2);
  }

  function select(seq: number | null, reveal: boolean): void {
    state.selected = seq;
    applySelection();
    if (reveal && seq !== null && drawn?.layout.x.has(seq)) {
      diagram.scrollLeft = Math.max(0, drawn.X(seq) + LABEL_W - diagram.clientWidth / 2);
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

  // ---------------------------------------------------------------- zoom

  let pending = false;
  /** Re-render at a new scale, keeping the point under anchorPx (relative to the viewport) still. */
  function zoomTo(scale: number, anchorPx?: number): void {
    if (drawn === null) return;
    const anchor = anchorPx === undefined ? (diagram.clientWidth - LABEL_W) / 2 : anchorPx;
    const plotX = diagram.scrollLeft + anchor - PAD;
    const value = drawn.layout.valueAt(plotX);
    const r = scaleRange(state.axis);
    state.scale[state.axis] = Math.min(r.max, Math.max(r.min, scale));
    render();
    syncSlider();
    diagram.scrollLeft = Math.max(0, PAD + drawn.layout.xAt(value) - anchor);
  }

  zoom.addEventListener('input', () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const r = scaleRange(state.axis);
      const v = Number(zoom.value) / 1000;
      zoomTo(r.min * (r.max / r.min) ** v);
    });
  });
  diagram.addEventListener(
    'wheel',
    (ev) => {
      if (!ev.ctrlKey && !ev.metaKey) return;
      ev.preventDefault();
      const rect = diagram.getBoundingClientRect();
      const anchor = ev.clientX - rect.left - LABEL_W;
      zoomTo(state.scale[state.axis] * Math.exp(-ev.deltaY * 0.002), Math.max(0, anchor));
    },
    { passive: false },
  );
  byId('fit', HTMLButtonElement).addEventListener('click', () => {
    state.scale[state.axis] = fitScale(state.axis);
    render();
    syncSlider();
    diagram.scrollLeft = 0;
  });
  axisSelect.addEventListener('change', () => {
    state.axis = axisSelect.value === 'lamport' ? 'lamport' : 'time';
    render();
    syncSlider();
    diagram.scrollLeft = 0;
  });

  // ---------------------------------------------------------------- filters and legend

  function checkbox(
    parent: Element,
    text: string,
    onChange: (checked: boolean) => void,
    swatch?: string,
  ): HTMLInputElement {
    const label = html('label', undefined, parent);
    const box = html('input', undefined, label);
    box.type = 'checkbox';
    box.checked = true;
    box.addEventListener('change', () => onChange(box.checked));
    if (swatch !== undefined) {
      const s = html('span', undefined, label);
      s.className = 'swatch';
      s.style.background = swatch;
    }
    html('span', text, label);
    return box;
  }

  function toggler<T>(set: Set<T>, key: T): (checked: boolean) => void {
    return (checked) => {
      if (checked) set.delete(key);
      else set.add(key);
      render();
    };
  }

  for (const l of model.lanes) {
    const text = l.id + (l.byzantine ? ' (Byzantine)' : '');
    const box = checkbox($('filter-nodes'), text, toggler(state.hiddenNodes, l.id));
    box.setAttribute('data-node', l.id);
  }
  for (const k of model.kinds) {
    const box = checkbox($('filter-kinds'), k, toggler(state.hiddenKinds, k), colorOfKind(k));
    box.setAttribute('data-kind', k);
  }
  const presentCats = new Set(model.events.map((e) => e.cat));
  for (const c of CATEGORIES) {
    if (!presentCats.has(c.id)) continue;
    const box = checkbox($('filter-cats'), c.label, toggler(state.hiddenCats, c.id));
    box.setAttribute('data-category', c.id);
  }

  drawLegend();

  // ---------------------------------------------------------------- go

  state.scale.time = fitScale('time');
  state.scale.lamport = fitScale('lamport');
  render();
  syncSlider();
  document.body.setAttribute('data-ready', 'true');
}

function drawLegend(): void {
  const legend = $('legend');
  const color = PALETTE[0];
  const item = (text: string, draw: (icon: SVGSVGElement) => void) => {
    const icon = svg('svg', { width: 28, height: 18, viewBox: '-14 -9 28 18' }, legend);
    draw(icon);
    html('span', text, legend);
  };
  for (const c of CATEGORIES) item(c.label, (g) => shapeEl(c.id, color, g));
  item('message (colour = kind)', (g) => {
    svg('path', { d: 'M-12,6L10,-5', stroke: color, 'stroke-width': 1.5, fill: 'none' }, g);
    svg('path', { d: 'M5,-7L11,-5.5L7,-1Z', fill: color }, g);
  });
  item('send never delivered', (g) => {
    const dash = { stroke: color, 'stroke-width': 1.5, 'stroke-dasharray': '4 3' };
    svg('path', { d: 'M-12,6L6,-3', ...dash, fill: 'none' }, g);
  });
  item('Byzantine instance', (g) => {
    svg('rect', { x: -14, y: -8, width: 28, height: 16, fill: '#fee2e2' }, g);
    svg('line', { x1: -14, y1: 0, x2: 14, y2: 0, stroke: '#dc2626', 'stroke-width': 2 }, g);
  });
  item('instance down (crash → restart)', (g) => {
    svg(
      'rect',
      { x: -14, y: -6, width: 28, height: 12, fill: 'url(#hatch)', stroke: '#9ca3af' },
      g,
    );
  });
  item('partition (band until heal)', (g) => {
    svg('rect', { x: -14, y: -9, width: 28, height: 18, fill: '#fde68a', opacity: 0.6 }, g);
    const edge = { stroke: '#d97706', 'stroke-dasharray': '3 2' };
    svg('line', { x1: -10, y1: -9, x2: -10, y2: 9, ...edge }, g);
  });
  item('causal past of the selected event', (g) => {
    svg('circle', { r: 6, fill: '#fef08a', stroke: '#ca8a04' }, g);
    svg('circle', { r: 3.5, fill: color }, g);
  });
}

const data: unknown = JSON.parse($('trace-data').textContent ?? '""');
const parsed = parseTrace(typeof data === 'string' ? data : '');
if ('error' in parsed) showError(parsed.error);
else view(buildModel(parsed, PALETTE.length), parsed.skipped);
