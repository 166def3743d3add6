/**
 * What the reader chose to see in the trace viewer: the axis, the zoom of each axis, the
 * instances, kinds and categories filtered out, the selected event; and what follows from
 * that alone — which events are placed, and the range of sensible zooms.
 */
import { layoutTime, MIN_GAP } from './trace-layout.js';
import type { Model, TraceEvent } from './trace-model.js';

export const AXIS_H = 44; // the time axis above the lanes
export const PAD = 28; // margin left and right of the plot
export const LABEL_W = 132; // width of the sticky lane labels
const MAX_WIDTH = 12000000; // keep the SVG well below the browsers' size limits

export type Axis = 'time' | 'lamport';

export class ViewState {
  axis: Axis = 'time';
  readonly scale: Record<Axis, number> = { time: 1, lamport: 12 };
  readonly hiddenNodes = new Set<string>();
  readonly hiddenKinds = new Set<string>();
  readonly hiddenCats = new Set<string>();
  selected: number | null = null;
  private readonly fitCache = new Map<string, number>();

  constructor(readonly model: Model) {}

  isShown(e: TraceEvent): boolean {
    if (e.lane >= 0 && this.hiddenNodes.has(this.model.lanes[e.lane]!.id)) return false;
    if (e.kind !== null && this.hiddenKinds.has(e.kind)) return false;
    return true;
  }

  isDrawn(e: TraceEvent): boolean {
    return this.isShown(e) && !this.hiddenCats.has(e.cat);
  }

  /** Every drawn event, plus the ends of drawn arrows whose category is hidden; in time order. */
  placedEvents(): TraceEvent[] {
    const arrowEnds = new Set<number>();
    for (const m of this.model.messages) {
      if (this.isShown(m.send) && this.isShown(m.deliver))
        arrowEnds.add(m.send.seq).add(m.deliver.seq);
    }
    for (const m of this.model.dangling) if (this.isShown(m.send)) arrowEnds.add(m.send.seq);
    return this.model.byTime.filter((e) => this.isDrawn(e) || arrowEnds.has(e.seq));
  }

  /**
   * The largest scale at which the whole run fits a diagram this wide (the layout only widens
   * it).
   */
  fitScale(axis: Axis, diagramWidth: number): number {
    const avail = Math.max(200, diagramWidth - LABEL_W - 2 * PAD - 40);
    if (axis === 'lamport')
      return Math.max(MIN_GAP, Math.min(40, avail / Math.max(1, this.model.maxLamport)));
    const key = `${[...this.hiddenNodes].sort().join(',')}|${[...this.hiddenKinds].sort().join(',')}|${[...this.hiddenCats].sort().join(',')}|${avail}`;
    const cached = this.fitCache.get(key);
    if (cached !== undefined) return cached;
    const fit = this.fitTime(avail);
    this.fitCache.set(key, fit);
    return fit;
  }

  private fitTime(avail: number): number {
    // Same-instant spreading and MIN_GAP give the layout a floor width; when that exceeds the
    // window, fit to a bit more than the floor, so that time still shows.
    const placed = this.placedEvents();
    let hi = avail / Math.max(this.model.maxTime, 1e-3);
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
    return hi;
  }

  scaleRange(axis: Axis, diagramWidth: number): { min: number; max: number } {
    const fit = this.fitScale(axis, diagramWidth);
    if (axis === 'lamport') return { min: MIN_GAP, max: Math.max(80, fit) };
    const span = Math.max(this.model.maxTime, 1e-3);
    const max = Math.max(fit * 4, Math.min(Math.max(fit * 8, 400), MAX_WIDTH / span));
    return { min: fit / 2, max };
  }
}
