/**
 * The replicated application: the deterministic service that a PBFT replica executes, in
 * sequence order, on the committed batches (docs/reference/pbft.md PBFT-27 … 29).
 *
 * The consensus core does not know what a command means. An application brings
 *   - the schemas of its commands, results and snapshots: the host admits a REQUEST, REPLY or
 *     STATE only if its command / result / snapshot matches them (pbft/messages.ts);
 *   - the state machine, built over the replica's Context so that it may sign and exchange
 *     messages of its own (the ledger's BLOCK votes) and tell the host about its outputs.
 *
 * Two exist: the key-value store (smr/kv.ts, the default) and the signed ledger
 * (ledger/app.ts).
 */
import type { z } from 'zod';
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';

/** One request of a committed batch that this replica executes (new for its client). */
export interface AppRequest {
  readonly client: NodeId;
  readonly command: Json;
}

export interface ReplicatedApp {
  /**
   * Execute a committed batch's new requests, in batch order, as sequence number `seq` of
   * view `view`; one result per request. Deterministic: every correct replica returns the
   * same results and reaches the same state.
   */
  executeBatch(requests: readonly AppRequest[], view: number, seq: number): Json[];
  /** The state as one canonical value (checkpoints hash it; state transfer ships it). */
  snapshot(): Json;
  /** Replace the state by a snapshot that q replicas vouched for. */
  restore(snapshot: Json): void;
  /** A message of one of the application's own kinds (`AppDefinition.messages`). */
  onMessage?(from: NodeId, message: Envelope): void;
}

export interface AppDefinition {
  readonly name: string;
  readonly command: z.ZodType<Json>;
  readonly result: z.ZodType<Json>;
  readonly snapshot: z.ZodType<Json>;
  /** Message kinds the application's replicas exchange, with their body schemas. */
  readonly messages?: Readonly<Record<string, z.ZodType>>;
  /** Those kinds that are signed under another protocol name (core/definition.ts). */
  readonly domains?: Readonly<Record<string, string>>;
  /** The state machine of one replica, in its initial state. */
  create(ctx: Context): ReplicatedApp;
  /**
   * How much of a batch a command takes (the ledger: its transfers), and the most one batch
   * may hold (the ledger: a block's 256 transactions). A primary cuts batches within it; a
   * backup refuses a PRE-PREPARE beyond it like any proposal no correct primary would make.
   * Absent: one per command, no limit beyond the batch size.
   */
  readonly weight?: (command: Json) => number;
  readonly maxBatchWeight?: number;
}

/** How much of a batch one command takes for `app` (one without a weight function). */
export function commandWeight(app: AppDefinition, command: Json): number {
  return app.weight?.(command) ?? 1;
}

/** Whether `commands` fit in one batch of `app`. */
export function fitsOneBatch(app: AppDefinition, commands: readonly Json[]): boolean {
  if (app.maxBatchWeight === undefined) return true;
  let total = 0;
  for (const c of commands) total += commandWeight(app, c);
  return total <= app.maxBatchWeight;
}
