/**
 * What PBFT brings to the scenario runner: replica and client factories from scenario
 * parameters, a KV workload, who leads (from the 'view' notes) and the safety checkers
 * (agreement, total order, validity over the notes; linearizability of the client history).
 *
 * Parameters (all optional): batchSize, batchTimeoutMs, checkpointInterval, watermarkWindow,
 * viewChangeTimeoutMs, requestTimeoutMs, unsafeSkipNewViewCheck.
 */
import { z } from 'zod';
import { checkLinearizability } from '../check/linearizability.js';
import type { Json } from '../core/json.js';
import type { NodeId, ProtocolFactory } from '../core/protocol.js';
import type { Params, ProtocolKit } from '../scenario/kit.js';
import type { Rng } from '../sim/rng.js';
import { checkPbft } from './checks.js';
import { DEFAULT_CLIENT_OPTIONS, PbftClient } from './client.js';
import { MAX_WINDOW, pbftDefinition } from './messages.js';
import { DEFAULT_PBFT_OPTIONS, type PbftOptions, PbftReplica } from './replica.js';

const positive = z.number().int().min(1);
const nonNegative = z.number().min(0);

export const pbftParamsSchema = z.object({
  batchSize: positive.max(256).default(DEFAULT_PBFT_OPTIONS.batchSize),
  batchTimeoutMs: nonNegative.default(DEFAULT_PBFT_OPTIONS.batchTimeoutMs),
  checkpointInterval: positive.default(DEFAULT_PBFT_OPTIONS.checkpointInterval),
  watermarkWindow: positive.max(MAX_WINDOW).default(DEFAULT_PBFT_OPTIONS.watermarkWindow),
  viewChangeTimeoutMs: z.number().positive().default(DEFAULT_PBFT_OPTIONS.viewChangeTimeoutMs),
  requestTimeoutMs: z.number().positive().default(DEFAULT_CLIENT_OPTIONS.requestTimeoutMs),
  unsafeSkipNewViewCheck: z.boolean().default(false),
});

export type PbftParams = z.infer<typeof pbftParamsSchema>;

export function parsePbftParams(params: Params): PbftParams {
  const parsed = pbftParamsSchema.parse(params);
  if (parsed.watermarkWindow < parsed.checkpointInterval) {
    throw new Error('watermarkWindow must be at least checkpointInterval');
  }
  return parsed;
}

export function replicaOptions(p: PbftParams): PbftOptions {
  return {
    batchSize: p.batchSize,
    batchTimeoutMs: p.batchTimeoutMs,
    checkpointInterval: p.checkpointInterval,
    watermarkWindow: p.watermarkWindow,
    viewChangeTimeoutMs: p.viewChangeTimeoutMs,
    unsafeSkipNewViewCheck: p.unsafeSkipNewViewCheck,
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
    return [...checkPbft(run), ...checkLinearizability(run.history)];
  },
};
