/**
 * Where the trace viewer puts events along x, on either axis, and how it writes times.
 */
import type { TraceEvent } from './trace-model.js';

/** Spacing of events of one lane at the very same instant. */
export const SLOT = 10;
/** Events of one lane never come closer than this. */
export const MIN_GAP = 8;

/** Where the drawn events go, and the axis's mapping from values to x and back. */
export interface Layout {
  x: Map<number, number>;
  width: number;
  xAt(value: number): number;
  valueAt(px: number): number;
}

interface Column {
  t: number;
  x: number;
}

/**
 * Time axis. Events are placed at their virtual time, except that events of one lane at
 * the very same instant are spread SLOT apart, that events of one lane never come closer
 * than MIN_GAP, and that an instant's column never starts before the previous instant's
 * last event (so arrows never point backwards). Columns map times to x both ways.
 */
export function layoutTime(events: readonly TraceEvent[], scale: number): Layout {
  const x = new Map<number, number>();
  const cols: Column[] = [{ t: Math.min(0, events[0]?.time ?? 0), x: 0 }];
  const lastX = new Map<number, number>();
  let prev = cols[0]!;
  let prevSpan = 0;
  for (let i = 0; i < events.length; ) {
    const t = events[i]!.time;
    let j = i;
    while (j < events.length && events[j]!.time === t) j++;
    let cx = prev.x + (t - prev.t) * scale;
    if (prevSpan > 0) cx = Math.max(cx, prev.x + prevSpan + MIN_GAP);
    for (let k = i; k < j; k++) {
      const last = lastX.get(events[k]!.lane);
      if (events[k]!.lane >= 0 && last !== undefined) cx = Math.max(cx, last + MIN_GAP);
    }
    const slots = new Map<number, number>();
    let span = 0;
    for (let k = i; k < j; k++) {
      const e = events[k]!;
      if (e.lane < 0) {
        x.set(e.seq, cx);
        continue;
      }
      const slot = slots.get(e.lane) ?? 0;
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
  return {
    x,
    width: prev.x + prevSpan,
    xAt: (t) => xAtTime(cols, scale, t),
    valueAt: (px) => timeAtX(cols, scale, px),
  };
}

/** Lamport axis: x is the Lamport clock; a '*' event sits after everything before it. */
export function layoutLamport(events: readonly TraceEvent[], scale: number): Layout {
  const x = new Map<number, number>();
  let width = 0;
  for (const e of events) {
    const px = (e.lane >= 0 ? e.lamport : e.lamportPos) * scale;
    x.set(e.seq, px);
    width = Math.max(width, px);
  }
  return { x, width, xAt: (v) => v * scale, valueAt: (px) => px / scale };
}

function lastAtOrBefore(cols: readonly Column[], key: 't' | 'x', value: number): number {
  let lo = 0;
  let hi = cols.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cols[mid]![key] <= value) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function xAtTime(cols: readonly Column[], scale: number, t: number): number {
  const i = lastAtOrBefore(cols, 't', t);
  const a = cols[i]!;
  const b = cols[i + 1];
  if (t < a.t || b === undefined) return a.x + (t - a.t) * scale;
  if (b.t === a.t) return a.x;
  return a.x + ((t - a.t) / (b.t - a.t)) * (b.x - a.x);
}

function timeAtX(cols: readonly Column[], scale: number, px: number): number {
  const i = lastAtOrBefore(cols, 'x', px);
  const a = cols[i]!;
  const b = cols[i + 1];
  if (px < a.x || b === undefined) return a.t + (px - a.x) / scale;
  if (b.x === a.x) return a.t;
  return a.t + ((px - a.x) / (b.x - a.x)) * (b.t - a.t);
}

/** A time in ms, with as many digits as a step of `step` ms needs. */
export function formatTime(ms: number, step: number): string {
  const abs = Math.abs(step || ms);
  if (abs >= 1000) return `${trim((ms / 1000).toFixed(abs >= 10000 ? 0 : 1))} s`;
  const digits = abs >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(abs)));
  return `${trim(ms.toFixed(digits))} ms`;
}

export function formatScale(pxPerMs: number): string {
  const msPer100 = 100 / pxPerMs;
  return `100 px ≈ ${formatTime(msPer100, msPer100 / 10)}`;
}

function trim(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** The smallest 1, 2 or 5 × 10^k at least minStep: a tick step people read easily. */
export function niceStep(minStep: number): number {
  const p = 10 ** Math.floor(Math.log10(minStep));
  for (const m of [1, 2, 5, 10]) if (m * p >= minStep) return m * p;
  return 10 * p;
}
