/**
 * What PBFT brings to the scenario runner: replica and client factories from scenario
 * parameters, a KV workload, who leads (from the 'view' notes) and the safety checkers
 * (agreement, total order, validity over the notes; linearizability of the client history).
 *
 * Parameters (all optional): batchSize, batchTimeoutMs, maxInFlight, checkpointInterval,
 * watermarkWindow, viewChangeTimeoutMs, requestTimeoutMs, unsafeSkipNewViewCheck,
 * unsafeVolatileState (negative controls only).
 *
 * maxInFlight defaults to 1 here (the core's own default, 0, keeps the textbook
 * full-batch-or-timer rule): a primary with nothing in flight proposes a request at once
 * instead of holding it for the batch timer, and batches what arrives meanwhile; batchSize
 * defaults to 32 (see KIT_BATCH_SIZE). Scenario files set both explicitly where it matters.
 */
import { z } from 'zod';
import { checkLinearizability } from '../check/linearizability.js';
import type { Params, ProtocolKit } from '../core/kit.js';
import type { NodeId, ProtocolFactory } from '../core/protocol.js';
import type { Rng } from '../core/rng.js';
import type { Json } from '../crypto/json.js';
import { kvApp } from '../smr/kv.js';
import { checkPbft } from './checks.js';
import { DEFAULT_CLIENT_OPTIONS, PbftClient } from './client.js';
import { MAX_WINDOW, pbftDefinition } from './messages.js';
import {
  DEFAULT_PBFT_OPTIONS,
  type PbftOptions,
  PbftReplica,
  watermarkProblem,
} from './replica.js';

/** Batches a primary keeps in flight before it waits for a full batch (see the top). */
export const KIT_MAX_IN_FLIGHT = 1;
/**
 * Requests per batch unless a scenario says otherwise (the core's default is 8). Larger
 * batches share the PRE-PREPARE/PREPARE/COMMIT signatures among more requests; a VIEW-CHANGE
 * carries up to L prepared batches, so batchSize × watermarkWindow × request size bounds it
 * (32 × 64 × ~330 B ≈ 0.7 MB against the 1 MiB frame limit when the whole window is prepared).
 */
export const KIT_BATCH_SIZE = 32;

const positive = z.number().int().min(1);
const nonNegative = z.number().min(0);

export const pbftParamsSchema = z.object({
  batchSize: positive.max(256).default(KIT_BATCH_SIZE),
  batchTimeoutMs: nonNegative.default(DEFAULT_PBFT_OPTIONS.batchTimeoutMs),
  maxInFlight: z.number().int().min(0).max(MAX_WINDOW).default(KIT_MAX_IN_FLIGHT),
  checkpointInterval: positive.default(DEFAULT_PBFT_OPTIONS.checkpointInterval),
  watermarkWindow: positive.max(MAX_WINDOW).default(DEFAULT_PBFT_OPTIONS.watermarkWindow),
  viewChangeTimeoutMs: z.number().positive().default(DEFAULT_PBFT_OPTIONS.viewChangeTimeoutMs),
  requestTimeoutMs: z.number().positive().default(DEFAULT_CLIENT_OPTIONS.requestTimeoutMs),
  unsafeSkipNewViewCheck: z.boolean().default(false),
  unsafeVolatileState: z.boolean().default(false),
});

export type PbftParams = z.infer<typeof pbftParamsSchema>;

export function parsePbftParams(params: Params): PbftParams {
  const parsed = pbftParamsSchema.parse(params);
  const reason = watermarkProblem(parsed.checkpointInterval, parsed.watermarkWindow);
  if (reason !== null) throw new Error(reason);
  return parsed;
}

export function replicaOptions(p: PbftParams): PbftOptions {
  return {
    batchSize: p.batchSize,
    batchTimeoutMs: p.batchTimeoutMs,
    maxInFlight: p.maxInFlight,
    checkpointInterval: p.checkpointInterval,
    watermarkWindow: p.watermarkWindow,
    viewChangeTimeoutMs: p.viewChangeTimeoutMs,
    unsafeSkipNewViewCheck: p.unsafeSkipNewViewCheck,
    viewChangeRules: DEFAULT_PBFT_OPTIONS.viewChangeRules,
    unsafeVolatileState: p.unsafeVolatileState,
    app: kvApp,
  };
}

const KEYS = ['k0', 'k1', 'k2', 'k3'] as const;

/** KV workload: puts, gets and compare-and-swaps over k0..k3, every written value unique. */
export function nextKvOperation(rng: Rng, client: NodeId, index: number): Json {
  const key = rng.pick(KEYS);
  const value = `${client}.${index}`;
  const roll = rng.next();
  if (roll < 0.4) return { op: 'put', key, value };
  if (roll < 0.8) return { op: 'get', key };
  const from = rng.chance(0.5) || index === 0 ? null : `${client}.${index - 1}`;
  return { op: 'cas', key, from, to: value };
}

/** The primary of the highest view any replica noted entering. */
export function leaderFromNotes(
  notes: readonly { event: string; data: Json | null }[],
): NodeId | null {
  let best: { view: number; primary: NodeId } | null = null;
  for (const note of notes) {
    if (note.event !== 'view') continue;
    const d = note.data;
    if (d === null || typeof d !== 'object' || Array.isArray(d)) continue;
    const { view, primary } = d;
    if (typeof view !== 'number' || typeof primary !== 'string') continue;
    if (best === null || view > best.view) best = { view, primary };
  }
  return best?.primary ?? null;
}

export const pbftKit: ProtocolKit = {
  name: 'pbft',
  definition: pbftDefinition,
  replica(_id: NodeId, params: Params): ProtocolFactory {
    const options = replicaOptions(parsePbftParams(params));
    return (ctx) => new PbftReplica(ctx, options);
  },
  client(_id: NodeId, params: Params): ProtocolFactory {
    const { requestTimeoutMs } = parsePbftParams(params);
    return (ctx) => new PbftClient(ctx, { requestTimeoutMs });
  },
  nextOperation(rng: Rng, client: NodeId, index: number): Json {
    return nextKvOperation(rng, client, index);
  },
  leader(notes) {
    return leaderFromNotes(notes);
  },
  check(run) {
    // A Byzantine client's operations (on its own key) prove nothing about the others'.
    const correct = run.history.filter((h) => !run.byzantine.has(h.client));
    return [...checkPbft(run), ...checkLinearizability(correct)];
  },
};
