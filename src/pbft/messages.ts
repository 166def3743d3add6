/**
 * PBFT messages (reference/pbft.md): one zod schema per body, every array and string bounded.
 * The host validates every inbound body against `pbftDefinition.messages` before the core sees
 * it; envelopes embedded in a body (client requests in a PRE-PREPARE, certificates in a
 * VIEW-CHANGE, NEW-VIEW or STATE) are validated here by shape and by the core by signature.
 */
import { z } from 'zod';
import type { ProtocolDefinition } from '../core/definition.js';
import { KEY_MAX, kvCommandSchema, kvResultSchema, VALUE_MAX } from '../smr/kv.js';

/** Longest node id. */
export const MAX_ID = 128;
/** Most requests in one batch (one PRE-PREPARE). */
export const MAX_BATCH = 256;
/** Most signatures in one certificate or proof, and most VIEW-CHANGEs in one NEW-VIEW. */
export const MAX_REPLICAS = 64;
/** Largest watermark window L: bounds prepared sets, O and the batches of a STATE. */
export const MAX_WINDOW = 1024;
/** Most entries of a snapshot's key-value table or session table. */
export const MAX_SNAPSHOT_ENTRIES = 100_000;

export const nodeIdSchema = z.string().min(1).max(MAX_ID);
const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const digestSchema = z.string().regex(/^[0-9a-f]{64}$/);
const sig = z.string().min(1).max(256);

function envelope<K extends string, B extends z.ZodType>(kind: K, body: B) {
  return z.strictObject({ kind: z.literal(kind), from: nodeIdSchema, body, sig });
}

// ⟨REQUEST, op, t, c⟩σc
export const requestBody = z.strictObject({
  client: nodeIdSchema,
  timestamp: counter,
  command: kvCommandSchema,
});
export const requestEnvelope = envelope('REQUEST', requestBody);

// ⟨PRE-PREPARE, v, s, d⟩σp with the batch B, d = digest(B)
export const prePrepareBody = z.strictObject({
  view: counter,
  seq: counter,
  digest: digestSchema,
  batch: z.array(requestEnvelope).max(MAX_BATCH),
});
export const prePrepareEnvelope = envelope('PRE-PREPARE', prePrepareBody);

// ⟨PREPARE, v, s, d, i⟩σi and ⟨COMMIT, v, s, d, i⟩σi (i is the envelope's signer)
export const voteBody = z.strictObject({ view: counter, seq: counter, digest: digestSchema });
export const prepareEnvelope = envelope('PREPARE', voteBody);
export const commitEnvelope = envelope('COMMIT', voteBody);

// ⟨REPLY, v, t, c, i, r⟩σi
export const replyBody = z.strictObject({
  view: counter,
  timestamp: counter,
  client: nodeIdSchema,
  replica: nodeIdSchema,
  result: kvResultSchema,
});

// ⟨CHECKPOINT, s, digest(state after s), i⟩σi
export const checkpointBody = z.strictObject({ seq: counter, stateDigest: digestSchema });
export const checkpointEnvelope = envelope('CHECKPOINT', checkpointBody);

/** prepared(B, v, s, i): the pre-prepare (with its batch) and q−1 matching prepares. */
export const preparedCertificateSchema = z.strictObject({
  prePrepare: prePrepareEnvelope,
  prepares: z.array(prepareEnvelope).max(MAX_REPLICAS),
});

// ⟨VIEW-CHANGE, v+1, s_stable, C, P, i⟩σi
export const viewChangeBody = z.strictObject({
  newView: counter,
  stableSeq: counter,
  checkpointProof: z.array(checkpointEnvelope).max(MAX_REPLICAS),
  prepared: z.array(preparedCertificateSchema).max(MAX_WINDOW),
});
export const viewChangeEnvelope = envelope('VIEW-CHANGE', viewChangeBody);

// ⟨NEW-VIEW, v+1, V, O⟩σp'
export const newViewBody = z.strictObject({
  view: counter,
  viewChanges: z.array(viewChangeEnvelope).max(MAX_REPLICAS),
  prePrepares: z.array(prePrepareEnvelope).max(MAX_WINDOW),
});
export const newViewEnvelope = envelope('NEW-VIEW', newViewBody);

// State transfer: "send me what you have beyond my last executed sequence number / view".
export const fetchStateBody = z.strictObject({ lastExecuted: counter, view: counter });

/** The replicated state at a checkpoint: key-value table and client sessions, both sorted. */
export const snapshotSchema = z.strictObject({
  kv: z
    .array(z.tuple([z.string().min(1).max(KEY_MAX), z.string().max(VALUE_MAX)]))
    .max(MAX_SNAPSHOT_ENTRIES),
  sessions: z.array(z.tuple([nodeIdSchema, counter, kvResultSchema])).max(MAX_SNAPSHOT_ENTRIES),
});

/** committed-local proof: the pre-prepare (with its batch) and q matching commits. */
export const commitCertificateSchema = z.strictObject({
  prePrepare: prePrepareEnvelope,
  commits: z.array(commitEnvelope).max(MAX_REPLICAS),
});

export const stateBody = z.strictObject({
  checkpoint: z
    .strictObject({
      seq: counter,
      stateDigest: digestSchema,
      proof: z.array(checkpointEnvelope).max(MAX_REPLICAS),
      snapshot: snapshotSchema,
    })
    .nullable(),
  batches: z.array(commitCertificateSchema).max(MAX_WINDOW),
  newView: newViewEnvelope.nullable(),
});

export type RequestBody = z.infer<typeof requestBody>;
export type RequestEnvelope = z.infer<typeof requestEnvelope>;
export type PrePrepareBody = z.infer<typeof prePrepareBody>;
export type PrePrepareEnvelope = z.infer<typeof prePrepareEnvelope>;
export type VoteBody = z.infer<typeof voteBody>;
export type PrepareEnvelope = z.infer<typeof prepareEnvelope>;
export type CommitEnvelope = z.infer<typeof commitEnvelope>;
export type ReplyBody = z.infer<typeof replyBody>;
export type CheckpointBody = z.infer<typeof checkpointBody>;
export type CheckpointEnvelope = z.infer<typeof checkpointEnvelope>;
export type PreparedCertificate = z.infer<typeof preparedCertificateSchema>;
export type ViewChangeBody = z.infer<typeof viewChangeBody>;
export type ViewChangeEnvelope = z.infer<typeof viewChangeEnvelope>;
export type NewViewBody = z.infer<typeof newViewBody>;
export type NewViewEnvelope = z.infer<typeof newViewEnvelope>;
export type FetchStateBody = z.infer<typeof fetchStateBody>;
export type Snapshot = z.infer<typeof snapshotSchema>;
export type CommitCertificate = z.infer<typeof commitCertificateSchema>;
export type StateBody = z.infer<typeof stateBody>;

export const pbftMessages = {
  REQUEST: requestBody,
  'PRE-PREPARE': prePrepareBody,
  PREPARE: voteBody,
  COMMIT: voteBody,
  REPLY: replyBody,
  CHECKPOINT: checkpointBody,
  'VIEW-CHANGE': viewChangeBody,
  'NEW-VIEW': newViewBody,
  'FETCH-STATE': fetchStateBody,
  STATE: stateBody,
} as const;

export type PbftKind = keyof typeof pbftMessages;

export const pbftDefinition: ProtocolDefinition = {
  name: 'pbft',
  model: 'byzantine',
  messages: pbftMessages,
};
