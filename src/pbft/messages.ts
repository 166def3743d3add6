/**
 * PBFT messages (docs/reference/pbft.md): one zod schema per body, every array and string bounded.
 * The host validates every inbound body against `pbftDefinition.messages` before the core sees
 * it; envelopes embedded in a body (client requests in a PRE-PREPARE, certificates in a
 * VIEW-CHANGE, NEW-VIEW or STATE) are validated here by shape and by the core by signature.
 */
import { z } from 'zod';
import { counterSchema } from '../core/bounds.js';
import type { ProtocolDefinition } from '../core/definition.js';
import type { Json } from '../crypto/json.js';
import type { AppDefinition } from '../smr/app.js';
import { kvApp } from '../smr/kv.js';

/** Longest node id. */
export const MAX_ID = 128;
/** Most requests in one batch (one PRE-PREPARE). */
export const MAX_BATCH = 256;
/** Most signatures in one certificate or proof, and most VIEW-CHANGEs in one NEW-VIEW. */
export const MAX_REPLICAS = 64;
/** Largest watermark window L: bounds prepared sets, O and the batches of a STATE. */
export const MAX_WINDOW = 1024;
/** Most clients in a snapshot's session table. */
export const MAX_SESSIONS = 100_000;

export const nodeIdSchema = z.string().min(1).max(MAX_ID);
const counter = counterSchema();
export const digestSchema = z.string().regex(/^[0-9a-f]{64}$/);
const sig = z.string().min(1).max(256);

const anyJson = z.custom<Json>(() => true);

function envelope<K extends string, B extends z.ZodType>(kind: K, body: B) {
  return z.strictObject({ kind: z.literal(kind), from: nodeIdSchema, body, sig });
}

/** The normal case's messages (PBFT-5 … 31). */
function normalCaseSchemas(app: AppSchemas) {
  // ⟨REQUEST, op, t, c⟩σc
  const requestBody = z.strictObject({
    client: nodeIdSchema,
    timestamp: counter,
    command: app.command,
  });
  const requestEnvelope = envelope('REQUEST', requestBody);

  // ⟨PRE-PREPARE, v, s, d⟩σp with the batch B, d = digest(B)
  const prePrepareBody = z.strictObject({
    view: counter,
    seq: counter,
    digest: digestSchema,
    batch: z.array(requestEnvelope).max(MAX_BATCH),
  });
  const prePrepareEnvelope = envelope('PRE-PREPARE', prePrepareBody);

  // ⟨PREPARE, v, s, d, i⟩σi and ⟨COMMIT, v, s, d, i⟩σi (i is the envelope's signer)
  const voteBody = z.strictObject({ view: counter, seq: counter, digest: digestSchema });
  const prepareEnvelope = envelope('PREPARE', voteBody);
  const commitEnvelope = envelope('COMMIT', voteBody);

  // ⟨REPLY, v, t, c, i, r⟩σi
  const replyBody = z.strictObject({
    view: counter,
    timestamp: counter,
    client: nodeIdSchema,
    replica: nodeIdSchema,
    result: app.result,
  });

  // ⟨CHECKPOINT, s, digest(state after s), i⟩σi
  const checkpointBody = z.strictObject({ seq: counter, stateDigest: digestSchema });
  const checkpointEnvelope = envelope('CHECKPOINT', checkpointBody);
  return {
    requestBody,
    requestEnvelope,
    prePrepareBody,
    prePrepareEnvelope,
    voteBody,
    prepareEnvelope,
    commitEnvelope,
    replyBody,
    checkpointBody,
    checkpointEnvelope,
  };
}

/** The view change's messages (PBFT-36 … 45). */
function viewChangeSchemas({
  prePrepareEnvelope,
  prepareEnvelope,
  checkpointEnvelope,
}: ReturnType<typeof normalCaseSchemas>) {
  /** prepared(B, v, s, i): the pre-prepare (with its batch) and q−1 matching prepares. */
  const preparedCertificateSchema = z.strictObject({
    prePrepare: prePrepareEnvelope,
    prepares: z.array(prepareEnvelope).max(MAX_REPLICAS),
  });

  // ⟨VIEW-CHANGE, v+1, s_stable, C, P, i⟩σi
  const viewChangeBody = z.strictObject({
    newView: counter,
    stableSeq: counter,
    checkpointProof: z.array(checkpointEnvelope).max(MAX_REPLICAS),
    prepared: z.array(preparedCertificateSchema).max(MAX_WINDOW),
  });
  const viewChangeEnvelope = envelope('VIEW-CHANGE', viewChangeBody);

  // ⟨NEW-VIEW, v+1, V, O⟩σp'
  const newViewBody = z.strictObject({
    view: counter,
    viewChanges: z.array(viewChangeEnvelope).max(MAX_REPLICAS),
    prePrepares: z.array(prePrepareEnvelope).max(MAX_WINDOW),
  });
  const newViewEnvelope = envelope('NEW-VIEW', newViewBody);
  return {
    preparedCertificateSchema,
    viewChangeBody,
    viewChangeEnvelope,
    newViewBody,
    newViewEnvelope,
  };
}

/** State transfer's messages (PBFT-49 … 51), and what a replica keeps on disk. */
function stateSchemas(
  app: AppSchemas,
  { prePrepareEnvelope, commitEnvelope, checkpointEnvelope }: ReturnType<typeof normalCaseSchemas>,
  { newViewEnvelope }: ReturnType<typeof viewChangeSchemas>,
) {
  // State transfer: "send me what you have beyond my last executed sequence number / view".
  const fetchStateBody = z.strictObject({ lastExecuted: counter, view: counter });

  /** The replicated state at a checkpoint: the application's and the client sessions (sorted). */
  const snapshotSchema = z.strictObject({
    app: app.snapshot,
    sessions: z.array(z.tuple([nodeIdSchema, counter, app.result])).max(MAX_SESSIONS),
  });

  /** committed-local proof: the pre-prepare (with its batch) and q matching commits. */
  const commitCertificateSchema = z.strictObject({
    prePrepare: prePrepareEnvelope,
    commits: z.array(commitEnvelope).max(MAX_REPLICAS),
  });

  const stateBody = z.strictObject({
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

  /** A stable checkpoint as a replica persists it (`stable`): s, the digest, q CHECKPOINTs. */
  const stableCheckpointSchema = z.strictObject({
    seq: counter,
    stateDigest: digestSchema,
    proof: z.array(checkpointEnvelope).max(MAX_REPLICAS),
  });
  return {
    fetchStateBody,
    snapshotSchema,
    commitCertificateSchema,
    stateBody,
    stableCheckpointSchema,
  };
}

/**
 * Every schema, built for one replicated application (smr/app.ts): its commands ride in
 * REQUESTs (and so in PRE-PREPAREs, certificates, VIEW-CHANGEs …), its results in REPLYs, its
 * snapshots in STATE.
 */
export function pbftSchemas(app: AppSchemas) {
  const normal = normalCaseSchemas(app);
  const viewChange = viewChangeSchemas(normal);
  const state = stateSchemas(app, normal, viewChange);
  const { prePrepareEnvelope } = normal;

  // ⟨EVIDENCE, a, b⟩σi: two PRE-PREPAREs the primary signed for one slot with different
  // digests, forwarded so that every replica can complain without waiting for its timer.
  const evidenceBody = z.strictObject({ a: prePrepareEnvelope, b: prePrepareEnvelope });

  const messages = {
    REQUEST: normal.requestBody,
    'PRE-PREPARE': normal.prePrepareBody,
    PREPARE: normal.voteBody,
    COMMIT: normal.voteBody,
    REPLY: normal.replyBody,
    CHECKPOINT: normal.checkpointBody,
    'VIEW-CHANGE': viewChange.viewChangeBody,
    'NEW-VIEW': viewChange.newViewBody,
    'FETCH-STATE': state.fetchStateBody,
    STATE: state.stateBody,
    EVIDENCE: evidenceBody,
  } as const;
  return { ...normal, ...viewChange, ...state, evidenceBody, messages };
}

export type PbftSchemas = ReturnType<typeof pbftSchemas>;

/** What an application gives the schemas (a subset of AppDefinition). */
export type AppSchemas = Pick<AppDefinition, 'command' | 'result' | 'snapshot'>;

/** Schemas over any JSON command/result/snapshot: the source of the types below. */
const generic = pbftSchemas({ command: anyJson, result: anyJson, snapshot: anyJson });
type Schemas = typeof generic;

/** The key-value store's schemas (the default application). */
export const kvSchemas = pbftSchemas(kvApp);
export const { replyBody } = kvSchemas;

export type RequestBody = z.infer<Schemas['requestBody']>;
export type RequestEnvelope = z.infer<Schemas['requestEnvelope']>;
export type PrePrepareBody = z.infer<Schemas['prePrepareBody']>;
export type PrePrepareEnvelope = z.infer<Schemas['prePrepareEnvelope']>;
export type VoteBody = z.infer<Schemas['voteBody']>;
export type PrepareEnvelope = z.infer<Schemas['prepareEnvelope']>;
export type CommitEnvelope = z.infer<Schemas['commitEnvelope']>;
export type ReplyBody = z.infer<Schemas['replyBody']>;
export type CheckpointBody = z.infer<Schemas['checkpointBody']>;
export type CheckpointEnvelope = z.infer<Schemas['checkpointEnvelope']>;
export type PreparedCertificate = z.infer<Schemas['preparedCertificateSchema']>;
export type ViewChangeBody = z.infer<Schemas['viewChangeBody']>;
export type ViewChangeEnvelope = z.infer<Schemas['viewChangeEnvelope']>;
export type NewViewBody = z.infer<Schemas['newViewBody']>;
export type NewViewEnvelope = z.infer<Schemas['newViewEnvelope']>;
export type FetchStateBody = z.infer<Schemas['fetchStateBody']>;
export type Snapshot = z.infer<Schemas['snapshotSchema']>;
export type CommitCertificate = z.infer<Schemas['commitCertificateSchema']>;
export type StateBody = z.infer<Schemas['stateBody']>;
export type EvidenceBody = z.infer<Schemas['evidenceBody']>;

export const pbftMessages = kvSchemas.messages;

export type PbftKind = keyof Schemas['messages'];

/**
 * The kinds a replica signs for one slot — a view and sequence number, a checkpoint's sequence
 * number, a view: two different ones from one replica for one slot contradict each other
 * (evidence.ts), and one for a view already left is a replay.
 */
export const SLOTTED_KINDS: ReadonlySet<string> = new Set<PbftKind>([
  'PRE-PREPARE',
  'PREPARE',
  'COMMIT',
  'CHECKPOINT',
  'VIEW-CHANGE',
  'NEW-VIEW',
]);

const definitions = new WeakMap<AppDefinition, ProtocolDefinition>();

/** PBFT's messages for an application, and the application's own (e.g. the ledger's BLOCK). */
export function pbftDefinitionFor(app: AppDefinition): ProtocolDefinition {
  let definition = definitions.get(app);
  if (definition === undefined) {
    definition = {
      name: 'pbft',
      model: 'byzantine',
      messages: { ...pbftSchemas(app).messages, ...app.messages },
      ...(app.domains === undefined ? {} : { domains: app.domains }),
    };
    definitions.set(app, definition);
  }
  return definition;
}

/** PBFT over the key-value store. */
export const pbftDefinition: ProtocolDefinition = pbftDefinitionFor(kvApp);
