/**
 * The registers' messages (seeds/002 §4.1.7, §5.2, §5.4, §6.1.1) and the requests their
 * clients take from the layer above.
 *
 * The pseudocode writes a message as a tuple, e.g. [WRITE, wts, v, σ] or [VALUE, rid, ts, v, σ].
 * Here the kind is the envelope's `kind`, the sender is the envelope's authenticated `from`,
 * and in the Byzantine register σ is the writer's whole signed WRITE envelope, which a replica
 * keeps and hands on inside VALUE so that a reader can check it with the writer's public key.
 *
 * Every size is bounded: ids, values and signatures have maximum lengths, timestamps and
 * request ids are safe integers.
 */
import { z } from 'zod';
import { counterSchema } from '../core/bounds.js';
import type { ProtocolDefinition } from '../core/definition.js';

export const NODE_ID_MAX = 128;
export const MAX_VALUE_LENGTH = 1024;
/** A real ed25519 signature is 128 hex digits; leave room, but not much. */
export const MAX_SIG_LENGTH = 256;

const nodeId = z.string().min(1).max(NODE_ID_MAX);
const value = z.string().max(MAX_VALUE_LENGTH);
/** ts = 0 is the initial (0, ⊥); every write has ts ≥ 1. */
const timestamp = counterSchema();
const writeTimestamp = counterSchema(1);
const requestId = counterSchema(1);

/** [WRITE, wts, v] — in the Byzantine register signed by the writer: σ = sign(WRITE ‖ wts ‖ v). */
export const writeBodySchema = z.object({ ts: writeTimestamp, value }).strict();
export type WriteBody = z.infer<typeof writeBodySchema>;

/** The writer's signed WRITE envelope as a replica stores it: (ts, val, σ) in one piece. */
export const signedWriteSchema = z
  .object({
    kind: z.literal('WRITE'),
    from: nodeId,
    body: writeBodySchema,
    sig: z.string().max(MAX_SIG_LENGTH),
  })
  .strict();
export type SignedWrite = z.infer<typeof signedWriteSchema>;

/** [ACK, ts'] */
export const ackBodySchema = z.object({ ts: timestamp }).strict();
export type AckBody = z.infer<typeof ackBodySchema>;

/** [READ, rid] */
export const readBodySchema = z.object({ rid: requestId }).strict();
export type ReadBody = z.infer<typeof readBodySchema>;

/** Byzantine [VALUE, rid, ts, val, σ]; `write` null is the initial (0, ⊥, ⊥). */
export const byzValueBodySchema = z
  .object({ rid: requestId, write: signedWriteSchema.nullable() })
  .strict();
export type ByzValueBody = z.infer<typeof byzValueBodySchema>;

/** Crash model [VAL, rid, ts, val]; value null is ⊥ (ts 0). */
export const valueBodySchema = z
  .object({ rid: requestId, ts: timestamp, value: value.nullable() })
  .strict();
export type ValueBody = z.infer<typeof valueBodySchema>;

/** §5.4 [RWRITE, rts, rval], tagged with the read's rid so that RACKs name their read. */
export const rwriteBodySchema = valueBodySchema;
export type RwriteBody = ValueBody;

/** §5.4 [RACK, rts'], tagged with the rid of the RWRITE it answers. */
export const rackBodySchema = z.object({ rid: requestId, ts: timestamp }).strict();
export type RackBody = z.infer<typeof rackBodySchema>;

/** (1,N) Byzantine regular register, n > 3f, quorums of more than (n+f)/2 (§6.1.1). */
export const byzRegisterDefinition: ProtocolDefinition = {
  name: 'byz-register',
  model: 'byzantine',
  messages: {
    WRITE: writeBodySchema,
    ACK: ackBodySchema,
    READ: readBodySchema,
    VALUE: byzValueBodySchema,
  },
};

/** (1,N) majority-voting regular register in the crash (fail-silent) model (§4.1.7, §5.2). */
export const registerDefinition: ProtocolDefinition = {
  name: 'register',
  model: 'crash',
  messages: {
    WRITE: writeBodySchema,
    ACK: ackBodySchema,
    READ: readBodySchema,
    VALUE: valueBodySchema,
  },
};

/** (1,N) atomic register: the regular one plus read write-back, RWRITE/RACK (§5.4). */
export const atomicRegisterDefinition: ProtocolDefinition = {
  name: 'atomic-register',
  model: 'crash',
  messages: {
    ...registerDefinition.messages,
    RWRITE: rwriteBodySchema,
    RACK: rackBodySchema,
  },
};

/** What a client takes from the layer above: ⟨Write | v⟩ or ⟨Read⟩. */
export const registerRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('write'), value }).strict(),
  z.object({ op: z.literal('read') }).strict(),
]);
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

/** ⟨WriteReturn⟩ is {ok:true}; ⟨ReadReturn | v⟩ is {value: v} (null: ⊥). */
export type RegisterResult = { ok: true } | { value: string | null } | { error: string };

/** What a client outputs when an operation completes. */
export interface RegisterReply {
  type: 'reply';
  result: RegisterResult;
}
