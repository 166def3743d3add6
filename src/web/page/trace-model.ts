/**
 * The trace viewer's model: a `bftkit-trace/1` JSONL text parsed leniently (a malformed line
 * is skipped and counted, never fatal: the trace is untrusted input) into lanes, events and
 * messages — a send matched with its deliveries by message id.
 */
import { record } from './dom.js';

export interface TraceEvent {
  seq: number;
  time: number;
  /** The instance, or '*' for a network-wide event (partition, heal, …). */
  node: string;
  lamport: number;
  /** The vector clock; empty for a network-wide event. */
  vc: number[];
  type: string;
  /** The event's fields as recorded. */
  ev: Record<string, unknown>;
  /** The whole trace line, for the details panel. */
  raw: Record<string, unknown>;
  cat: string;
  /** The message kind of a send or deliver. */
  kind: string | null;
  /** Index of the instance's lane; −1 for a network-wide event. */
  lane: number;
  /** Where a network-wide event sits on the Lamport axis: just after everything before it. */
  lamportPos: number;
}

export interface Lane {
  id: string;
  identity: string;
  byzantine: boolean;
  /** Seen in events but not listed in the header. */
  extra: boolean;
  index: number;
}

export interface Message {
  id: string;
  kind: string;
  send: TraceEvent;
  deliver: TraceEvent;
}

export interface Undelivered {
  id: string;
  kind: string;
  send: TraceEvent;
  to: string;
}

export interface Parsed {
  header: Record<string, unknown>;
  events: TraceEvent[];
  skipped: number;
}

export interface Model {
  header: Record<string, unknown>;
  lanes: Lane[];
  events: TraceEvent[];
  bySeq: Map<number, TraceEvent>;
  byTime: TraceEvent[];
  messages: Message[];
  dangling: Undelivered[];
  kinds: string[];
  /** A kind's index into the palette. */
  colorOf: Map<string, number>;
  maxTime: number;
  maxLamport: number;
}

const COMMIT_NOTES = new Set(['commit', 'committed', 'execute', 'executed', 'apply', 'decide']);
const VIEW_NOTES = new Set([
  'view',
  'view-change',
  'new-view',
  'became-leader',
  'role',
  'leader',
  'term',
]);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The category an event is drawn and filtered as (see trace-shapes.ts). */
export function categorize(ev: Record<string, unknown>): string {
  switch (ev.type) {
    case 'send':
    case 'deliver':
    case 'start':
    case 'crash':
    case 'restart':
    case 'reject':
    case 'timer':
    case 'request':
    case 'output':
    case 'persist':
    case 'adversary':
      return ev.type;
    case 'partition':
    case 'heal':
    case 'network':
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

export function parseTrace(text: string): Parsed | { error: string } {
  let header: Record<string, unknown> | null = null;
  const events: TraceEvent[] = [];
  const seen = new Set<number>();
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (header === null) {
      if (!isObject(obj) || obj.type !== 'header')
        return { error: 'The first line is not a trace header.' };
      header = obj;
      continue;
    }
    if (!isObject(obj)) {
      skipped++;
      continue;
    }
    const { event: ev, node, time, seq } = obj;
    if (
      !isObject(ev) ||
      typeof ev.type !== 'string' ||
      typeof node !== 'string' ||
      !finite(time) ||
      !Number.isSafeInteger(seq) ||
      seen.has(seq as number)
    ) {
      skipped++;
      continue;
    }
    seen.add(seq as number);
    const vc = Array.isArray(obj.vc) && obj.vc.every(finite) ? (obj.vc as number[]) : [];
    events.push({
      seq: seq as number,
      time,
      node,
      lamport: finite(obj.lamport) ? obj.lamport : 0,
      vc,
      type: ev.type,
      ev,
      raw: obj,
      cat: categorize(ev),
      kind:
        (ev.type === 'send' || ev.type === 'deliver') && typeof ev.kind === 'string'
          ? ev.kind
          : null,
      lane: -1,
      lamportPos: 0,
    });
  }
  if (header === null) return { error: 'The trace is empty.' };
  return { header, events, skipped };
}

export function buildModel(parsed: Parsed, paletteSize: number): Model {
  const lanes: Lane[] = [];
  const laneOf = new Map<string, number>();
  const addLane = (id: string, identity: string, byzantine: boolean, extra: boolean) => {
    if (laneOf.has(id)) return;
    laneOf.set(id, lanes.length);
    lanes.push({ id, identity, byzantine, extra, index: lanes.length });
  };
  const instances = Array.isArray(parsed.header.instances) ? parsed.header.instances : [];
  for (const raw of instances) {
    const inst = record(raw);
    if (typeof inst.id !== 'string') continue;
    const identity = typeof inst.identity === 'string' ? inst.identity : inst.id;
    addLane(inst.id, identity, inst.byzantine === true, false);
  }
  const events = parsed.events.slice().sort((a, b) => a.seq - b.seq);
  for (const e of events) {
    if (e.node !== '*') addLane(e.node, e.node, false, true);
    e.lane = e.node === '*' ? -1 : laneOf.get(e.node)!;
  }
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  // Messages: a send and the deliveries of its id (one, or one per twin).
  const sendOf = new Map<string, TraceEvent>();
  for (const e of events) {
    const id = e.ev.id;
    if (e.type === 'send' && typeof id === 'string' && !sendOf.has(id)) sendOf.set(id, e);
  }
  const messages: Message[] = [];
  const delivered = new Set<string>();
  for (const e of events) {
    const id = e.ev.id;
    if (e.type !== 'deliver' || typeof id !== 'string') continue;
    const send = sendOf.get(id);
    if (send === undefined) continue;
    delivered.add(id);
    messages.push({ id, kind: send.kind || e.kind || '?', send, deliver: e });
  }
  const dangling: Undelivered[] = [];
  for (const [id, send] of sendOf) {
    if (delivered.has(id)) continue;
    const to = typeof send.ev.to === 'string' ? send.ev.to : '';
    dangling.push({ id, kind: send.kind || '?', send, to });
  }
  const kinds = [...new Set(events.flatMap((e) => (e.kind === null ? [] : [e.kind])))].sort();
  const colorOf = new Map(kinds.map((k, i) => [k, i % paletteSize]));
  const byTime = events.slice().sort((a, b) => a.time - b.time || a.seq - b.seq);
  let maxLamport = 0;
  for (const e of events) {
    if (e.lane >= 0) maxLamport = Math.max(maxLamport, e.lamport);
    else e.lamportPos = maxLamport + 0.5;
  }
  const maxTime = byTime.at(-1)?.time ?? 0;
  return {
    header: parsed.header,
    lanes,
    events,
    bySeq,
    byTime,
    messages,
    dangling,
    kinds,
    colorOf,
    maxTime,
    maxLamport,
  };
}
