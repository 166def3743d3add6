/**
 * The replicated state on disk: what a PBFT replica persists, beside its votes, so that it
 * recovers the state from its data directory alone — after any crash pattern, every replica
 * at once included (no peer is then left to transfer the state from).
 *
 *   snapshot/<s>  the state after executing s (application + sessions), written in the step
 *                 that signs CHECKPOINT s (or installs a transferred checkpoint at s): durable
 *                 before the checkpoint is announced, so a checkpoint that becomes stable has
 *                 its snapshot on the disks of the q replicas that vouched for it
 *   batch/<s>     each batch committed after it, with its commit certificate, written in the
 *                 step it is known committed (committed-local, or verified from STATE): durable
 *                 before it is executed and anyone is answered
 *
 * Both go when the stable checkpoint passes them (snapshots below it, batches up to it).
 * Recovery (`restoreState` in recovery.ts) installs the snapshot of the stable checkpoint and
 * executes the batches after it again, in order; the sessions inside the snapshot make that
 * exactly-once. A batch prepared but committed nowhere comes back through the view change,
 * from the prepared certificates (`cert/v/s`).
 */
import type { z } from 'zod';
import type { Context, Recovered } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import type { CommitCertificate, PbftSchemas, Snapshot } from './messages.js';

export class CorruptStoreError extends Error {
  constructor(key: string, reason: string) {
    super(`corrupt PBFT store: ${key}: ${reason}`);
    this.name = 'CorruptStoreError';
  }
}

/** Parse one stored value, or stop: a corrupt store gives a clear error. */
export function parseStored<T>(schema: z.ZodType<T>, key: string, value: Json): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where =
      issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    throw new CorruptStoreError(key, `${issue?.message ?? 'does not parse'}${where}`);
  }
  return result.data;
}

const SNAPSHOT = 'snapshot/';
const BATCH = 'batch/';

export interface DurableState {
  /** Own snapshots by sequence number. */
  readonly snapshots: ReadonlyMap<number, Snapshot>;
  /** Committed batches by sequence number. */
  readonly batches: ReadonlyMap<number, CommitCertificate>;
}

/** The sequence number in a key `<prefix><s>`. */
function seqIn(key: string, prefix: string): number {
  const text = key.slice(prefix.length);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text))
    throw new CorruptStoreError(key, 'not a sequence number');
  return Number(text);
}

/** What `persistSnapshot` and `persistBatch` wrote before the crash, parsed. */
export function loadDurableState(recovered: Recovered, schemas: PbftSchemas): DurableState {
  const snapshots = new Map<number, Snapshot>();
  const batches = new Map<number, CommitCertificate>();
  for (const [key, value] of recovered) {
    if (key.startsWith(SNAPSHOT))
      snapshots.set(seqIn(key, SNAPSHOT), parseStored(schemas.snapshotSchema, key, value));
    else if (key.startsWith(BATCH))
      batches.set(seqIn(key, BATCH), parseStored(schemas.commitCertificateSchema, key, value));
  }
  return { snapshots, batches };
}

/** The state after `seq` (null: forget it). */
export function persistSnapshot(ctx: Context, seq: number, snapshot: Snapshot | null): void {
  ctx.persist(`${SNAPSHOT}${seq}`, snapshot);
}

/** The batch committed at `seq` with its certificate (null: forget it). */
export function persistBatch(
  ctx: Context,
  seq: number,
  certificate: CommitCertificate | null,
): void {
  ctx.persist(`${BATCH}${seq}`, certificate as Json);
}
