/**
 * Causal traces (seeds/004 Lecture 4): every event a node goes through, with the virtual
 * time, a Lamport clock and a vector clock, so a viewer can draw the space-time diagram and
 * show an event's causal past. The format is documented in src/sim/README.md.
 *
 * Clocks are kept here, at trace level, not inside frames: a 'send' stamps the message id
 * with the sender's clocks, and the matching 'deliver' merges them — retransmissions keep the
 * id, so a message's causal edge runs from its first send to its one delivery.
 */
import type { Json } from '../crypto/json.js';
import type { RuntimeEvent } from '../runtime/runtime.js';

export const TRACE_FORMAT = 'bftkit-trace/1';

export type SimEvent =
  | RuntimeEvent
  | { type: 'crash' }
  | { type: 'restart' }
  | { type: 'partition'; blocks: string[][] }
  | { type: 'heal' }
  | { type: 'network'; change: Json }
  | { type: 'adversary'; action: string; data: Json | null };

export interface TraceHeader {
  type: 'header';
  format: typeof TRACE_FORMAT;
  /** Instances in vector-clock order; `identity` differs from `id` only for twins. */
  instances: { id: string; identity: string; byzantine: boolean }[];
  meta: Json;
}

export interface TraceLine {
  seq: number;
  time: number;
  /** Instance id (a twin's id is "<identity>'"); '*' for network-wide events. */
  node: string;
  lamport: number;
  vc: number[];
  event: SimEvent;
}

export class Tracer {
  readonly lines: TraceLine[] = [];
  private readonly index = new Map<string, number>();
  private readonly lamport: number[];
  private readonly vectors: number[][];
  private readonly sent = new Map<string, { lamport: number; vc: number[] }>();

  constructor(readonly header: TraceHeader) {
    header.instances.forEach((instance, i) => {
      this.index.set(instance.id, i);
    });
    this.lamport = header.instances.map(() => 0);
    this.vectors = header.instances.map(() => header.instances.map(() => 0));
  }

  record(time: number, node: string, event: SimEvent): void {
    const i = this.index.get(node);
    if (i === undefined) {
      this.lines.push({ seq: this.lines.length, time, node, lamport: 0, vc: [], event });
      return;
    }
    const vc = this.vectors[i]!;
    let lamport = this.lamport[i]!;
    if (event.type === 'deliver') {
      const stamp = this.sent.get(event.id);
      if (stamp !== undefined) {
        lamport = Math.max(lamport, stamp.lamport);
        for (let k = 0; k < vc.length; k++) vc[k] = Math.max(vc[k]!, stamp.vc[k]!);
        this.sent.delete(event.id);
      }
    }
    lamport += 1;
    vc[i] = vc[i]! + 1;
    this.lamport[i] = lamport;
    const snapshot = vc.slice();
    if (event.type === 'send') this.sent.set(event.id, { lamport, vc: snapshot });
    this.lines.push({ seq: this.lines.length, time, node, lamport, vc: snapshot, event });
  }

  /** JSON Lines: the header, then one event per line, byte-identical for one seed. */
  toJsonl(): string {
    const out = [JSON.stringify(this.header)];
    for (const line of this.lines) out.push(JSON.stringify(line));
    return `${out.join('\n')}\n`;
  }
}
