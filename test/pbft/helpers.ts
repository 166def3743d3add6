/**
 * Builders for PBFT unit tests over FakeContext: fake-signed envelopes ("sig:<from>", which
 * FakeContext.verify accepts) for every message kind, and a replica with its context.
 */
import { makeClusterView } from '../../src/core/cluster-view.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Json } from '../../src/crypto/json.js';
import { digestOf } from '../../src/pbft/digest.js';
import type {
  CheckpointEnvelope,
  CommitEnvelope,
  NewViewEnvelope,
  PrePrepareEnvelope,
  PreparedCertificate,
  PrepareEnvelope,
  RequestEnvelope,
  ViewChangeEnvelope,
} from '../../src/pbft/messages.js';
import { type PbftOptions, PbftReplica } from '../../src/pbft/replica.js';
import type { KvCommand } from '../../src/smr/kv.js';
import { FakeContext } from '../helpers/fake-context.js';

export const REPLICAS = ['r0', 'r1', 'r2', 'r3'] as const;
export const CLIENTS = ['c0', 'c1'] as const;

export const cluster = makeClusterView({
  id: 'test',
  protocol: 'pbft',
  model: 'byzantine',
  replicas: REPLICAS,
  clients: CLIENTS,
  f: 1,
});

export function signed<B extends Json>(from: string, kind: string, body: B): Envelope<string, B> {
  return { kind, from, body, sig: `sig:${from}` };
}

export function forged<B extends Json>(from: string, kind: string, body: B): Envelope<string, B> {
  return { kind, from, body, sig: 'sig:mallory' };
}

export function request(
  client: string,
  timestamp: number,
  command: KvCommand = { op: 'put', key: 'k0', value: `${client}.${timestamp}` },
): RequestEnvelope {
  return signed(client, 'REQUEST', { client, timestamp, command }) as RequestEnvelope;
}

export function prePrepare(
  view: number,
  seq: number,
  batch: RequestEnvelope[],
  from = REPLICAS[view % 4] as string,
): PrePrepareEnvelope {
  return signed(from, 'PRE-PREPARE', {
    view,
    seq,
    digest: digestOf(batch),
    batch,
  }) as PrePrepareEnvelope;
}

export function prepare(from: string, view: number, seq: number, digest: string): PrepareEnvelope {
  return signed(from, 'PREPARE', { view, seq, digest }) as PrepareEnvelope;
}

export function commit(from: string, view: number, seq: number, digest: string): CommitEnvelope {
  return signed(from, 'COMMIT', { view, seq, digest }) as CommitEnvelope;
}

export function checkpoint(from: string, seq: number, stateDigest: string): CheckpointEnvelope {
  return signed(from, 'CHECKPOINT', { seq, stateDigest }) as CheckpointEnvelope;
}

/** A prepared certificate for pp: prepares from the backups of its view (q−1 = 2 of them). */
export function preparedCert(pp: PrePrepareEnvelope): PreparedCertificate {
  const primary = REPLICAS[pp.body.view % 4];
  const backups = REPLICAS.filter((r) => r !== primary).slice(0, 2);
  return {
    prePrepare: pp,
    prepares: backups.map((b) => prepare(b, pp.body.view, pp.body.seq, pp.body.digest)),
  };
}

export function viewChange(
  from: string,
  newView: number,
  prepared: PreparedCertificate[] = [],
  stable: { seq: number; proof: CheckpointEnvelope[] } = { seq: 0, proof: [] },
): ViewChangeEnvelope {
  return signed(from, 'VIEW-CHANGE', {
    newView,
    stableSeq: stable.seq,
    checkpointProof: stable.proof,
    prepared,
  } as unknown as Json) as unknown as ViewChangeEnvelope;
}

export function newView(
  view: number,
  viewChanges: ViewChangeEnvelope[],
  prePrepares: PrePrepareEnvelope[],
  from = REPLICAS[view % 4] as string,
): NewViewEnvelope {
  return signed(from, 'NEW-VIEW', {
    view,
    viewChanges,
    prePrepares,
  } as unknown as Json) as unknown as NewViewEnvelope;
}

export function makeReplica(
  self: string,
  options: Partial<PbftOptions> = {},
  recovered: Map<string, Json> | null = null,
): { ctx: FakeContext; replica: PbftReplica } {
  const ctx = new FakeContext(self, cluster);
  const replica = new PbftReplica(ctx, { batchTimeoutMs: 0, batchSize: 1, ...options });
  replica.start(recovered);
  return { ctx, replica };
}

/** Deliver a message from its signer. */
export function deliver(replica: PbftReplica, message: Envelope): void {
  replica.onMessage(message.from, message);
}

export function notes(ctx: FakeContext, event: string): Json[] {
  return ctx.effects.flatMap((e) =>
    e.type === 'note' && e.event === event ? [e.data ?? null] : [],
  );
}

/** Drive one slot to committed-local at a backup: pre-prepare, prepares and commits. */
export function commitSlot(
  replica: PbftReplica,
  view: number,
  seq: number,
  batch: RequestEnvelope[],
  voters: readonly string[] = ['r2', 'r3'],
): PrePrepareEnvelope {
  const pp = prePrepare(view, seq, batch);
  deliver(replica, pp);
  for (const v of voters) deliver(replica, prepare(v, view, seq, pp.body.digest));
  for (const v of [REPLICAS[view % 4] as string, ...voters]) {
    deliver(replica, commit(v, view, seq, pp.body.digest));
  }
  return pp;
}
