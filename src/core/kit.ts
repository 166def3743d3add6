/**
 * What a protocol brings to the scenario runner. The runner is generic: it builds the
 * simulation, applies the fault schedule, drives closed-loop client workloads and hands the
 * record of the run to the protocol's checkers. Everything protocol-specific lives in a kit.
 */

import type { Json } from '../crypto/json.js';
import type { ProtocolDefinition } from './definition.js';
import type { NodeId, ProtocolFactory } from './protocol.js';
import type { Rng } from './rng.js';

/** Free-form protocol parameters from the scenario file (timeouts, batch size, …). */
export type Params = Readonly<Record<string, Json>>;

/** One client operation, from invocation to response (response null: never completed). */
export interface HistoryEntry {
  client: NodeId;
  /** Index of the operation in its client's sequence. */
  index: number;
  op: Json;
  invokedAt: number;
  result: Json | null;
  respondedAt: number | null;
}

/** A note a node made through ctx.note, as it appears in the trace. */
export interface NoteRecord {
  time: number;
  node: NodeId;
  /** Distinguishes twin instances of one identity; equals node otherwise. */
  instance: string;
  event: string;
  data: Json | null;
}

export interface RunRecord {
  replicas: readonly NodeId[];
  clients: readonly NodeId[];
  /** Nodes replaced by an adversary: their notes and outputs prove nothing. */
  byzantine: ReadonlySet<NodeId>;
  history: readonly HistoryEntry[];
  notes: readonly NoteRecord[];
  endTime: number;
}

export interface Violation {
  checker: string;
  message: string;
  /** The offending operations, commits or messages, for the report. */
  evidence?: Json;
}

/** What a process host needs of a kit: its messages and its cores. */
export type HostedKit = Pick<ProtocolKit, 'name' | 'definition' | 'replica' | 'client'>;

export interface ProtocolKit {
  /** The `protocol` value of a scenario file. */
  readonly name: string;
  readonly definition: ProtocolDefinition;
  replica(id: NodeId, params: Params): ProtocolFactory;
  client(id: NodeId, params: Params): ProtocolFactory;
  /** The next request a workload client sends (the `op` of its history entry). */
  nextOperation(rng: Rng, client: NodeId, index: number, params: Params): Json;
  /** Who leads now (for fault targets such as "leader"), judged from the notes so far. */
  leader?(notes: readonly NoteRecord[]): NodeId | null;
  /** Safety checkers over a finished run. */
  check(run: RunRecord, params: Params): Violation[];
}
