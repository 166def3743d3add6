/**
 * Raft's kit for the scenario runner: replica and client factories, the KV workload, who
 * leads, and the checkers (Raft's invariants over the notes, linearizability over the
 * client history).
 *
 * Scenario params (all optional):
 *   electionTimeoutMs: [min, max]   default [150, 300]
 *   electionTimeoutMsByNode: {node: [min, max]}  per-replica override of electionTimeoutMs
 *                                   (scripted schedules such as raft-figure8 choose who wins)
 *   heartbeatMs: number             default 50
 *   unsafeCommitAnyTerm: boolean    default false (the Figure 8 trap — negative tests only)
 *   maxSuffix: number               entries per LogRequest, default 64
 *   preVote: boolean                default true (thesis §9.6)
 *   checkQuorum: boolean            default true (thesis §6.2)
 *   snapshotInterval: number        committed entries between snapshots, default 1000 (§5.1)
 *   maxTerm: number                 checked: no replica's term exceeds it (src/raft/disruption.ts)
 *   maxStaleLeaderMs: number        checked: a deposed leader steps down within this long
 *   clientRetryMs: number           default 600
 *   keys: number                    size of the workload's key space, default 4 (k0 … k3)
 */
import { z } from 'zod';
import { checkLinearizability } from '../check/linearizability.js';
import type { Params, ProtocolKit, RunRecord, Violation } from '../core/kit.js';
import type { NodeId, ProtocolFactory } from '../core/protocol.js';
import type { Rng } from '../core/rng.js';
import type { Json } from '../crypto/json.js';
import type { KvCommand } from '../smr/kv.js';
import { RaftClient } from './client.js';
import { checkDisruption } from './disruption.js';
import { checkRaftInvariants, currentLeader } from './invariants.js';
import { MAX_SUFFIX, raftDefinition } from './messages.js';
import type { RaftOptions } from './options.js';
import { RaftNode } from './raft.js';

const positive = z.number().positive().max(3_600_000);
const timeoutRange = z
  .tuple([positive, positive])
  .refine(([min, max]) => min <= max, 'electionTimeoutMs must be [min, max] with min ≤ max');

export const raftParamsSchema = z.object({
  electionTimeoutMs: timeoutRange.optional(),
  electionTimeoutMsByNode: z.record(z.string(), timeoutRange).optional(),
  heartbeatMs: positive.optional(),
  unsafeCommitAnyTerm: z.boolean().optional(),
  maxSuffix: z.number().int().min(1).max(MAX_SUFFIX).optional(),
  preVote: z.boolean().optional(),
  checkQuorum: z.boolean().optional(),
  snapshotInterval: z.number().int().min(1).max(1_000_000).optional(),
  maxTerm: z.number().int().nonnegative().optional(),
  maxStaleLeaderMs: z.number().nonnegative().optional(),
  clientRetryMs: positive.optional(),
  keys: z.number().int().min(1).max(1000).optional(),
});
export type RaftParams = z.infer<typeof raftParamsSchema>;

export function parseRaftParams(params: Params): RaftParams {
  return raftParamsSchema.parse(params);
}

/** The replica options of the params; `id` picks its entry of electionTimeoutMsByNode. */
export function replicaOptions(params: Params, id?: NodeId): Partial<RaftOptions> {
  const p = parseRaftParams(params);
  const options: Partial<RaftOptions> = {};
  const timeout =
    (id === undefined ? undefined : p.electionTimeoutMsByNode?.[id]) ?? p.electionTimeoutMs;
  if (timeout !== undefined) options.electionTimeoutMs = timeout;
  if (p.heartbeatMs !== undefined) options.heartbeatMs = p.heartbeatMs;
  if (p.unsafeCommitAnyTerm !== undefined) options.unsafeCommitAnyTerm = p.unsafeCommitAnyTerm;
  if (p.maxSuffix !== undefined) options.maxSuffix = p.maxSuffix;
  if (p.preVote !== undefined) options.preVote = p.preVote;
  if (p.checkQuorum !== undefined) options.checkQuorum = p.checkQuorum;
  if (p.snapshotInterval !== undefined) options.snapshotInterval = p.snapshotInterval;
  return options;
}

/**
 * The workload: puts of unique values (`<client>-<index>`), gets, and compare-and-swaps that
 * expect the client's previous value or an absent key, over a small key space so that
 * clients contend.
 */
export function nextRaftOperation(rng: Rng, client: NodeId, index: number, params: Params): Json {
  const keys = parseRaftParams(params).keys ?? 4;
  const key = `k${rng.int(0, keys - 1)}`;
  const value = `${client}-${index}`;
  const r = rng.next();
  let command: KvCommand;
  if (r < 0.4) command = { op: 'put', key, value };
  else if (r < 0.7) command = { op: 'get', key };
  else {
    const from = index === 0 || rng.chance(0.3) ? null : `${client}-${index - 1}`;
    command = { op: 'cas', key, from, to: value };
  }
  return command;
}

export const raftKit: ProtocolKit = {
  name: 'raft',
  definition: raftDefinition,
  replica(id: NodeId, params: Params): ProtocolFactory {
    const options = replicaOptions(params, id);
    return (ctx) => new RaftNode(ctx, options);
  },
  client(_id: NodeId, params: Params): ProtocolFactory {
    const retryMs = parseRaftParams(params).clientRetryMs;
    return (ctx) => new RaftClient(ctx, retryMs === undefined ? {} : { retryMs });
  },
  nextOperation: nextRaftOperation,
  leader: currentLeader,
  check(run: RunRecord, params: Params): Violation[] {
    const { maxTerm, maxStaleLeaderMs } = parseRaftParams(params);
    return [
      ...checkRaftInvariants(run),
      ...checkLinearizability(run.history),
      ...checkDisruption(run, { maxTerm, maxStaleLeaderMs }),
    ];
  },
};
