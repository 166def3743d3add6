/**
 * What a restarted replica reads back from its data directory, each value parsed with the
 * message schemas it was written with (docs/reference/pbft.md PBFT-57):
 *
 *   PBFT-57  restart: reload the view, the stable checkpoint, the own votes and the prepared
 *            certificates; resume the own latest complaint (re-sending its VIEW-CHANGE); fetch
 *            the state (PBFT-49).
 *
 * A value that does not parse is not something this replica wrote: the store is corrupt, and
 * the replica stops (`CorruptStoreError`, crash-stop) rather than run on state it cannot trust.
 * Keys that are not the replica's (the application's own) are left alone.
 */
import type { z } from 'zod';
import type { Envelope } from '../core/envelope-types.js';
import type { Recovered } from '../core/protocol.js';
import type { StableCheckpoint } from './checkpoints.js';
import { CorruptStoreError, type DurableState, loadDurableState, parseStored } from './durable.js';
import type {
  CommitEnvelope,
  PbftSchemas,
  PreparedCertificate,
  ViewChangeEnvelope,
} from './messages.js';
import { committedBatch } from './normal-case.js';
import type { PbftReplica } from './replica.js';
import { restoreSnapshot, stateDigestOf, takeSnapshot } from './state-transfer.js';
import { parseCertificateKey, parseVoteKey, type VoteKind, type VoteSlot } from './votes.js';

export interface RecoveredReplica {
  /** The view last entered (0 if none was persisted). */
  readonly view: number;
  readonly stable: StableCheckpoint | null;
  /** Own votes, in the store's order. */
  readonly votes: readonly { readonly slot: VoteSlot; readonly vote: Envelope }[];
  /** Prepared certificates, in the store's order. */
  readonly certificates: readonly PreparedCertificate[];
  /** Snapshots and committed batches (durable.ts). */
  readonly durable: DurableState;
}

function voteSchemas(schemas: PbftSchemas): Readonly<Record<VoteKind, z.ZodType<Envelope>>> {
  return {
    pp: schemas.prePrepareEnvelope,
    prepare: schemas.prepareEnvelope,
    commit: schemas.commitEnvelope,
    cp: schemas.checkpointEnvelope,
    vc: schemas.viewChangeEnvelope,
    nv: schemas.newViewEnvelope,
  };
}

/** PBFT-57 reload: the replica's own keys of a recovered store, each parsed (or stop). */
export function parseRecovered(recovered: Recovered, schemas: PbftSchemas): RecoveredReplica {
  const envelopes = voteSchemas(schemas);
  let view = 0;
  let stable: StableCheckpoint | null = null;
  const votes: { slot: VoteSlot; vote: Envelope }[] = [];
  const certificates: PreparedCertificate[] = [];
  for (const [key, value] of recovered) {
    if (key === 'view') view = parseStored(schemas.fetchStateBody.shape.view, key, value);
    else if (key === 'stable') stable = parseStored(schemas.stableCheckpointSchema, key, value);
    else if (key.startsWith('vote/')) {
      const slot = parseVoteKey(key);
      if (slot === null) throw new CorruptStoreError(key, 'not a vote slot');
      votes.push({ slot, vote: parseStored(envelopes[slot.kind], key, value) });
    } else if (key.startsWith('cert/')) {
      const at = parseCertificateKey(key);
      const certificate = parseStored(schemas.preparedCertificateSchema, key, value);
      const { view: v, seq } = certificate.prePrepare.body;
      if (at === null || at.view !== v || at.seq !== seq)
        throw new CorruptStoreError(key, 'not the slot of the certificate it holds');
      certificates.push(certificate);
    }
  }
  return { view, stable, votes, certificates, durable: loadDurableState(recovered, schemas) };
}

/**
 * PBFT-57 restart: reload the view, the stable checkpoint, the own votes and the prepared
 *         certificates; resume the own latest complaint (re-sending its VIEW-CHANGE).
 * LD-19   restore(r, own): round := r; if own is the persisted complaint about r, it counts as
 *         complained (a process never complains twice about one round).
 * Recovered this way, the replica never signs a different vote for a slot it voted on, and its
 * next VIEW-CHANGE still reports its prepared certificates and stable checkpoint.
 */
export function recover(r: PbftReplica, stored: RecoveredReplica): void {
  r.view = stored.view;
  if (stored.stable !== null) r.checkpoints.stable = stored.stable;
  for (const { slot, vote } of stored.votes) r.votes.restore(slot, vote);
  for (const certificate of stored.certificates) {
    const { view, seq } = certificate.prePrepare.body;
    r.votes.restoreCertificate(view, seq);
  }
  r.checkpoints.stableSnapshot = r.h === 0 ? r.checkpoints.genesis.snapshot : null;
  r.lastExecuted = 0;
  resumeComplaint(r);
  let lastAssigned = 0;
  for (const { slot } of r.votes.of('pp')) {
    if (slot.view === r.view) lastAssigned = Math.max(lastAssigned, slot.seq);
  }
  r.proposer.lastAssigned = Math.max(lastAssigned, r.h);
  for (const certificate of stored.certificates) restorePrepared(r, certificate);
}

/** The highest VIEW-CHANGE we signed: we complained about round newView−1 (LD-19). */
function resumeComplaint(r: PbftReplica): void {
  let complaint: ViewChangeEnvelope | null = null;
  for (const { vote } of r.votes.of('vc')) {
    const vc = vote as ViewChangeEnvelope;
    if (complaint === null || vc.body.newView > complaint.body.newView) complaint = vc;
  }
  if (complaint !== null && complaint.body.newView > r.view) {
    r.detector.restore(complaint.body.newView - 1, complaint);
    r.status = 'view-change';
    r.broadcast(complaint);
  } else {
    r.detector.restore(r.view, null);
    r.status = 'normal';
  }
}

/** PBFT-56: a prepared certificate back in the log, so that P of a VIEW-CHANGE reports it. */
function restorePrepared(r: PbftReplica, certificate: PreparedCertificate): void {
  const { view, seq } = certificate.prePrepare.body;
  if (seq <= r.h) return;
  const slot = r.log.slot(view, seq);
  slot.prePrepare = certificate.prePrepare;
  for (const p of certificate.prepares) slot.prepares.set(p.from, p);
  slot.prepared = true;
  const commit = r.votes.get({ kind: 'commit', view, seq });
  if (commit !== undefined) slot.commits.set(r.self, commit as CommitEnvelope);
}

/**
 * The replicated state from disk (durable.ts): the snapshot of the stable checkpoint, then
 * every batch committed after it executed again, in order (replies go out again; the sessions
 * inside the snapshot keep each request applied once). Without the snapshot — the checkpoint
 * became stable here on the others' proof before we had its state — the state comes by
 * transfer (PBFT-49).
 */
export function restoreState(r: PbftReplica, durable: DurableState): void {
  const { checkpoints } = r;
  if (r.options.unsafeVolatileState) {
    // The negative control: the initial state stands in for the one at the stable checkpoint.
    checkpoints.stableSnapshot = takeSnapshot(r.app, r.sessions);
    r.lastExecuted = r.h;
    r.ctx.note('restore', { seq: r.h, stateDigest: checkpoints.stable.stateDigest, batches: 0 });
    return;
  }
  for (const [seq, snapshot] of durable.snapshots) {
    checkpoints.own.set(seq, { stateDigest: stateDigestOf(snapshot), snapshot });
  }
  for (const [seq, certificate] of durable.batches) {
    if (seq > r.h) r.normalCase.committed.set(seq, committedBatch(certificate));
  }
  const own = r.h === 0 ? checkpoints.genesis : checkpoints.own.get(r.h);
  if (own === undefined || own.stateDigest !== checkpoints.stable.stateDigest) return;
  if (r.h > 0) r.sessions = restoreSnapshot(r.app, own.snapshot);
  checkpoints.stableSnapshot = own.snapshot;
  r.lastExecuted = r.h;
  r.ctx.note('restore', {
    seq: r.h,
    stateDigest: own.stateDigest,
    batches: r.normalCase.committed.size,
  });
  r.normalCase.executeReady();
}
