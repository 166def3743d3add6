/**
 * The trace viewer's controller: renders the diagram for the view state, keeps the zoom
 * slider in step with it, zooms around a point, and follows clicks, Escape and links to the
 * selected event.
 */
import { byId, svg } from './dom.js';
import { type Drawn, drawDiagram } from './trace-draw.js';
import { formatScale } from './trace-layout.js';
import type { Model } from './trace-model.js';
import { showSelection } from './trace-selection.js';
import { LABEL_W, PAD, ViewState } from './trace-view-state.js';

export class TraceView {
  readonly state: ViewState;
  private readonly diagram = byId('diagram', HTMLElement);
  private readonly zoom = byId('zoom', HTMLInputElement);
  private readonly axisSelect = byId('axis', HTMLSelectElement);
  private readonly labels = svg('svg', { id: 'labels', width: LABEL_W });
  private readonly plot = svg('svg', { id: 'plot' });
  private drawn: Drawn | null = null;
  /** A slider move waits for the next frame; the moves until then are dropped. */
  private zoomPending = false;

  constructor(readonly model: Model) {
    this.state = new ViewState(model);
    byId('canvas', HTMLElement).append(this.labels, this.plot);
  }

  /** Draw at the scales that fit the window, and start following the reader. */
  start(): void {
    this.listen();
    const width = this.diagram.clientWidth;
    this.state.scale.time = this.state.fitScale('time', width);
    this.state.scale.lamport = this.state.fitScale('lamport', width);
    this.render();
    this.syncSlider();
  }

  render(): void {
    const height = this.diagram.clientHeight;
    this.drawn = drawDiagram(this.plot, this.labels, this.state, height);
    this.applySelection();
  }

  private listen(): void {
    this.plot.addEventListener('click', (ev) => {
      const target = ev.target instanceof Element ? ev.target.closest('.event') : null;
      const seq = target === null ? null : Number(target.getAttribute('data-seq'));
      this.select(seq === null || Number.isNaN(seq) ? null : seq, false);
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') this.select(null, false);
    });
    this.zoom.addEventListener('input', () => this.onSlider());
    this.diagram.addEventListener('wheel', (ev) => this.onWheel(ev), { passive: false });
    byId('fit', HTMLButtonElement).addEventListener('click', () => {
      this.state.scale[this.state.axis] = this.state.fitScale(this.state.axis, this.width());
      this.redrawFromStart();
    });
    this.axisSelect.addEventListener('change', () => {
      this.state.axis = this.axisSelect.value === 'lamport' ? 'lamport' : 'time';
      this.redrawFromStart();
    });
  }

  private width(): number {
    return this.diagram.clientWidth;
  }

  private redrawFromStart(): void {
    this.render();
    this.syncSlider();
    this.diagram.scrollLeft = 0;
  }

  /** Bring the scale into its range and show it on the slider (logarithmic) and its label. */
  private syncSlider(): void {
    const state = this.state;
    const r = state.scaleRange(state.axis, this.width());
    const s = Math.min(r.max, Math.max(r.min, state.scale[state.axis]));
    state.scale[state.axis] = s;
    const v = r.max > r.min ? (1000 * Math.log(s / r.min)) / Math.log(r.max / r.min) : 0;
    this.zoom.value = String(Math.round(v));
    byId('zoom-label', HTMLElement).textContent =
      state.axis === 'time' ? formatScale(s) : `${s.toFixed(1)} px / tick`;
  }

  private onSlider(): void {
    if (this.zoomPending) return;
    this.zoomPending = true;
    requestAnimationFrame(() => {
      this.zoomPending = false;
      const r = this.state.scaleRange(this.state.axis, this.width());
      const v = Number(this.zoom.value) / 1000;
      this.zoomTo(r.min * (r.max / r.min) ** v);
    });
  }

  /** Ctrl (or ⌘) and the wheel zoom around the pointer. */
  private onWheel(ev: WheelEvent): void {
    if (!ev.ctrlKey && !ev.metaKey) return;
    ev.preventDefault();
    const rect = this.diagram.getBoundingClientRect();
    const anchor = ev.clientX - rect.left - LABEL_W;
    const scale = this.state.scale[this.state.axis] * Math.exp(-ev.deltaY * 0.002);
    this.zoomTo(scale, Math.max(0, anchor));
  }

  /** Re-render at a new scale, keeping the point under anchorPx (relative to the viewport) still. */
  private zoomTo(scale: number, anchorPx?: number): void {
    if (this.drawn === null) return;
    const diagram = this.diagram;
    const anchor = anchorPx === undefined ? (diagram.clientWidth - LABEL_W) / 2 : anchorPx;
    const plotX = diagram.scrollLeft + anchor - PAD;
    const value = this.drawn.layout.valueAt(plotX);
    const state = this.state;
    const r = state.scaleRange(state.axis, this.width());
    state.scale[state.axis] = Math.min(r.max, Math.max(r.min, scale));
    this.render();
    this.syncSlider();
    diagram.scrollLeft = Math.max(0, PAD + this.drawn.layout.xAt(value) - anchor);
  }

  private select(seq: number | null, reveal: boolean): void {
    this.state.selected = seq;
    this.applySelection();
    const drawn = this.drawn;
    if (reveal && seq !== null && drawn?.layout.x.has(seq)) {
      const diagram = this.diagram;
      diagram.scrollLeft = Math.max(0, drawn.X(seq) + LABEL_W - diagram.clientWidth / 2);
    }
  }

  private applySelection(): void {
    if (this.drawn === null) return;
    const selected = this.state.selected;
    const e = selected === null ? undefined : this.model.bySeq.get(selected);
    showSelection(this.model, this.drawn, e, (seq) => this.select(seq, true));
  }
}
