/**
 * The scenario file format. A scenario is plain JSON: which protocol, how many replicas and
 * faults, the network, a schedule of faults, which nodes are adversaries, the client
 * workload, and what is expected (safety holds or is violated; at least k operations
 * complete after time t). `scenario.schema.json` at the repository root is generated from
 * this schema (`npm run schema`), so editors can check a file as it is written.
 */
import { z } from 'zod';

const nodeName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}'?$/, 'a node id such as "n0" or "c1"');
const ms = z.number().int().nonnegative().max(86_400_000);
const probability = z.number().min(0).max(1);
const json = z.json();

export const networkSchema = z
  .object({
    latency: z
      .object({ min: z.number().nonnegative(), max: z.number().nonnegative() })
      .strict()
      .refine((l) => l.min <= l.max, 'latency.min must not exceed latency.max')
      .optional(),
    loss: probability.optional(),
    duplicate: probability.optional(),
  })
  .strict();

/** A node id, or "leader"/"primary": whoever leads when the fault fires. */
const target = z.union([nodeName, z.literal('leader'), z.literal('primary')]);

export const faultSchema = z.discriminatedUnion('action', [
  z.object({ at: ms, action: z.literal('crash'), node: target }).strict(),
  z.object({ at: ms, action: z.literal('restart'), node: nodeName.or(z.literal('all')) }).strict(),
  z.object({ at: ms, action: z.literal('crash-all') }).strict(),
  z
    .object({
      at: ms,
      action: z.literal('partition'),
      blocks: z.array(z.array(target).min(1)).min(1),
    })
    .strict(),
  z.object({ at: ms, action: z.literal('heal') }).strict(),
  z.object({ at: ms, action: z.literal('network'), network: networkSchema }).strict(),
]);

export const adversarySchema = z
  .object({
    node: nodeName,
    name: z.string().min(1),
    params: z.record(z.string(), json).optional(),
  })
  .strict();

export const scenarioSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lowercase letters, digits and dashes'),
    description: z.string().max(2000),
    protocol: z.string().min(1),
    n: z.number().int().min(1).max(64),
    f: z.number().int().min(0).max(21),
    /** Client nodes c0 … c(k−1). */
    clients: z.number().int().min(1).max(64).default(2),
    /** Run a configuration that breaks the fault bound, so a course can watch safety break. */
    unsafe: z.boolean().default(false),
    /**
     * 'signed' or 'channel' (src/core/definition.ts); absent: the protocol's default — Raft
     * relies on its authenticated links, the Byzantine protocols sign (and refuse 'channel').
     */
    auth: z.enum(['signed', 'channel']).optional(),
    seed: z.number().int().nonnegative().default(1),
    /** Simulated milliseconds. */
    duration: ms.default(10_000),
    params: z.record(z.string(), json).default({}),
    network: networkSchema.default({}),
    faults: z.array(faultSchema).default([]),
    adversaries: z.array(adversarySchema).default([]),
    /** Identities that run as two honest instances with one key (Twins). */
    twins: z.array(nodeName).default([]),
    workload: z
      .object({
        /** Operations per client, issued one at a time (closed loop). */
        operations: z.number().int().min(0).max(100_000).default(20),
        /** When clients start, and the think time between a reply and the next request. */
        start: ms.default(100),
        interval: ms.default(10),
        params: z.record(z.string(), json).default({}),
      })
      .strict()
      .default({ operations: 20, start: 100, interval: 10, params: {} }),
    expect: z
      .object({
        safety: z.enum(['hold', 'violated']).default('hold'),
        /**
         * At least minOps operations complete at or after `after` (and, with minOpsPerClient,
         * at least that many per correct client) by the end of the run. On a network slower
         * than the reference (loss, duplication, latency above 20 ms) the run may go on past
         * `duration` by a budget that scales with it (runner.ts, livenessDeadline).
         */
        liveness: z
          .object({
            minOps: z.number().int().nonnegative(),
            after: ms.default(0),
            minOpsPerClient: z.number().int().nonnegative().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({ safety: 'hold' }),
  })
  .strict();

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Fault = z.output<typeof faultSchema>;

/** The JSON Schema of scenario files (draft 2020-12), for editors and other tools. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'bftkit scenario',
  };
}
