/**
 * The trace viewer's words: HTML elements made from text only, and the one-line description
 * of an event (its tooltip and the title of the selection panel).
 */
import { formatTime } from './trace-layout.js';
import type { TraceEvent } from './trace-model.js';

/** An HTML element with this text (never markup), appended to `parent` when one is given. */
export function html<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text: string | undefined,
  parent: Element | null,
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (text !== undefined) el.textContent = text;
  parent?.appendChild(el);
  return el;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as JSON, cut to `max` characters (the trace's data can be arbitrarily large). */
export function short(value: unknown, max: number): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch {
    s = String(value);
  }
  if (s === undefined) s = String(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function describe(e: TraceEvent): string {
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
