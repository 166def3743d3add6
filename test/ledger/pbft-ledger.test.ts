/**
 * The ledger as PBFT's application, in the deterministic simulator with real signatures:
 * clients relay signed transfers, every committed batch becomes a block, q replicas sign it,
 * and what each honest replica outputs passes the offline audit — with an equivocating
 * primary among the replicas, whose equivocation is caught as evidence.
 */
import { describe, expect, it } from 'vitest';
import { interceptSends } from '../../src/adversary/api.js';
import { equivocatingPrimary } from '../../src/adversary/pbft.js';
import { makeSigner } from '../../src/core/envelope.js';
import type { Context, ProtocolFactory } from '../../src/core/protocol.js';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { toHex } from '../../src/crypto/hex.js';
import type { Json } from '../../src/crypto/json.js';
import { type LedgerBlockOutput, type LedgerResult, ledgerApp } from '../../src/ledger/app.js';
import { auditLedger } from '../../src/ledger/audit.js';
import { BLOCK_VOTE, type CertifiedBlock } from '../../src/ledger/block.js';
import { ledgerCluster } from '../../src/ledger/cluster.js';
import { nodeLedgerCrypto } from '../../src/ledger/node-crypto.js';
import { makeTransfer, type TransferEnvelope } from '../../src/ledger/tx.js';
import { PbftClient } from '../../src/pbft/client.js';
import { pbftDefinitionFor } from '../../src/pbft/messages.js';
import { type PbftOptions, PbftReplica } from '../../src/pbft/replica.js';
import { Simulation, simulatedSeed } from '../../src/sim/simulation.js';

const CLUSTER = 'ledger-sim';
const replicas = ['r0', 'r1', 'r2', 'r3'];
const clients = ['c0', 'c1', 'c2'];
const publicKey = (id: string) => toHex(nodeBackend.publicKey(simulatedSeed(CLUSTER, id)));
const file = {
  clusterId: CLUSTER,
  n: 4,
  f: 1,
  nodes: replicas.map((id, i) => ({
    id,
    host: '127.0.0.1',
    port: 7000 + i,
    publicKey: publicKey(id),
  })),
  clients: clients.map((id) => ({ id, publicKey: publicKey(id) })),
};
const cluster = ledgerCluster(file);
const app = ledgerApp(cluster, nodeLedgerCrypto);
const signer = (id: string) => makeSigner(id, simulatedSeed(CLUSTER, id), nodeBackend);

/** A replica that never votes for a block: every block then needs every honest replica's vote. */
const noBlockVotes = (honest: ProtocolFactory): ProtocolFactory =>
  interceptSends(honest, function* (_ctx, to, message) {
    if (message.kind !== BLOCK_VOTE) yield { to, message };
  });

function run(
  seed: number,
  byzantine: string | null,
  until = 5_000,
  faults?: (sim: Simulation) => void,
  variant: { replica?: Partial<PbftOptions>; adversary?: typeof noBlockVotes } = {},
) {
  const sim = new Simulation({
    seed,
    cluster: { id: CLUSTER, replicas, clients, f: 1 },
    definition: pbftDefinitionFor(app),
    factory: (_instance, identity) => {
      if (clients.includes(identity))
        return (ctx) => new PbftClient(ctx, { requestTimeoutMs: 300, app });
      const honest = (ctx: Context) =>
        new PbftReplica(ctx, {
          batchSize: 4,
          maxInFlight: 1,
          checkpointInterval: 8,
          app,
          ...variant.replica,
        });
      if (identity !== byzantine) return honest;
      return variant.adversary?.(honest) ?? equivocatingPrimary.create(honest, { witness: true });
    },
    network: { latency: { min: 1, max: 10 } },
    trace: 'notes',
  });
  const blocks = new Map<string, CertifiedBlock[]>(replicas.map((r) => [r, []]));
  const nonces = new Map<string, number>();
  const results: { client: string; sent: TransferEnvelope[]; result: LedgerResult }[] = [];
  const inFlight = new Map<string, TransferEnvelope[]>();
  const issue = (client: string) => {
    if (sim.now > until - 2_000) return;
    const transfers: TransferEnvelope[] = [];
    for (let k = 0; k < 3; k++) {
      const nonce = (nonces.get(client) ?? 0) + 1;
      nonces.set(client, nonce);
      const to = clients[(clients.indexOf(client) + 1 + k) % clients.length]!;
      const payee = to === client ? clients[(clients.indexOf(client) + 1) % clients.length]! : to;
      transfers.push(
        makeTransfer(
          CLUSTER,
          signer(client),
          { from: client, to: payee, amount: 1 + k, nonce },
          nodeLedgerCrypto,
        ),
      );
    }
    // Every fourth request also replays its first transfer: recorded, rejected (bad-nonce).
    if (nonces.get(client)! % 12 === 0) transfers.push(transfers[0]!);
    inFlight.set(client, transfers);
    sim.request(client, { transfers } as unknown as Json);
  };
  sim.onOutput((instance, event, time) => {
    const e = event as { type?: string };
    if (e.type === 'ledger-block') blocks.get(instance)?.push((event as LedgerBlockOutput).block);
    if (e.type === 'reply') {
      results.push({
        client: instance,
        sent: inFlight.get(instance) ?? [],
        result: (event as { result: LedgerResult }).result,
      });
      sim.at(time + 1, () => issue(instance));
    }
  });
  sim.start();
  for (const c of clients) sim.at(5, () => issue(c));
  faults?.(sim);
  sim.runUntil(until);
  return { sim, blocks, results };
}

describe('the ledger over PBFT (simulator)', () => {
  it('honest replicas certify the same blocks, and each one’s ledger passes the audit', () => {
    const { blocks, results } = run(1, null);
    expect(results.length).toBeGreaterThan(30);
    const chains = replicas.map((r) => blocks.get(r)!);
    const audits = chains.map((c) => auditLedger(c, file, nodeLedgerCrypto));
    for (const a of audits) expect(a).toMatchObject({ ok: true });
    const heights = chains.map((c) => c.length);
    expect(Math.min(...heights)).toBeGreaterThan(10);
    // One chain: every replica's blocks are a prefix of the longest (the certificates may
    // differ: each replica keeps the first q votes it counted).
    const headers = chains.map((c) => c.map((b) => b.header));
    const longest = headers.reduce((a, b) => (a.length >= b.length ? a : b));
    for (const h of headers) expect(h).toEqual(longest.slice(0, h.length));
    // The replies carry the outcomes: the replays were rejected, everything else applied.
    const outcomes = results.flatMap((r) => r.result.outcomes.map((o) => o.status));
    expect(outcomes.filter((s) => s === 'rejected').length).toBeGreaterThan(0);
    expect(outcomes.filter((s) => s === 'applied').length).toBeGreaterThan(90);
  });

  it('with an equivocating primary: evidence, a view change, and audited ledgers', () => {
    const { sim, blocks, results } = run(2, 'r0');
    const evidence = sim.notes.filter((n) => n.event === 'evidence');
    expect(evidence.length).toBeGreaterThan(0);
    expect(sim.notes.some((n) => n.event === 'view' && (n.data as { view: number }).view > 0)).toBe(
      true,
    );
    expect(results.length).toBeGreaterThan(20);
    for (const r of ['r1', 'r2', 'r3']) {
      const chain = blocks.get(r)!;
      expect(chain.length).toBeGreaterThan(5);
      expect(auditLedger(chain, file, nodeLedgerCrypto)).toMatchObject({ ok: true });
    }
  });

  it('blocks are certified across view changes: a batch may commit in different views', () => {
    // A view-change storm (a starved machine): a request timer shorter than a busy round trip,
    // and a replica that never votes for blocks, so every block needs all three honest votes.
    // Some batches commit in view v at one replica and, re-proposed after a view change, in a
    // later view at another; their blocks must still be the same block (block.ts: the header
    // holds the seq, not the view), or no block after the first such one is ever final.
    let crossView = 0;
    for (const seed of [1, 2]) {
      const { sim, blocks, results } = run(
        seed,
        'r0',
        9_000,
        (s) => {
          s.setNetwork({ latency: { min: 5, max: 150 }, loss: 0.05 });
          s.at(4_000, () => s.setNetwork({ latency: { min: 1, max: 10 }, loss: 0 }));
        },
        { replica: { viewChangeTimeoutMs: 60 }, adversary: noBlockVotes },
      );
      // The view in which each honest replica first committed each seq (and so executed it).
      const first = new Map<string, number>();
      const views = new Map<number, Set<number>>();
      for (const n of sim.notes) {
        if (n.event !== 'commit' || n.node === 'r0') continue;
        const { view, seq } = n.data as { view: number; seq: number };
        if (first.has(`${n.node}/${seq}`)) continue;
        first.set(`${n.node}/${seq}`, view);
        views.set(seq, (views.get(seq) ?? new Set()).add(view));
      }
      crossView += [...views.values()].filter((v) => v.size > 1).length;
      const lastView = Math.max(
        ...sim.notes
          .filter((n) => n.event === 'view')
          .map((n) => (n.data as { view: number }).view),
      );
      expect(lastView, `seed ${seed}: view changes`).toBeGreaterThan(2);
      // Every block a client heard of (its reply names the height) is certified, but for the
      // last checkpoint interval: a replica left alone in a later view (its complaint found no
      // f+1) executes again only by state transfer, at the next stable checkpoint.
      const replied = Math.max(...results.map((r) => r.result.height));
      expect(replied).toBeGreaterThan(50);
      const chains = ['r1', 'r2', 'r3'].map((r) => blocks.get(r)!);
      const longest = chains.reduce((a, b) => (a.length >= b.length ? a : b));
      expect(
        longest.at(-1)?.header.height,
        `seed ${seed}: certified height`,
      ).toBeGreaterThanOrEqual(replied - 8);
      expect(auditLedger(longest, file, nodeLedgerCrypto)).toMatchObject({ ok: true });
      // A replica that caught up by state transfer outputs only what became final after it
      // resumed (its host fetches the rest): the same blocks.
      for (const chain of chains)
        for (const b of chain) expect(b.header).toEqual(longest[b.header.height - 1]?.header);
    }
    expect(crossView, 'batches committed in different views at different replicas').toBeGreaterThan(
      0,
    );
  });

  it('a replica back after the others finalized what it re-executes gets their votes late', () => {
    // r3 is down while ~all the blocks are made; it comes back after the load has stopped,
    // catches up by state transfer and re-executes, and its votes are answered by the others.
    const { blocks } = run(4, null, 16_000, (sim) => {
      sim.at(300, () => sim.crash('r3'));
      sim.at(14_200, () => sim.restart('r3'));
    });
    const theirs = blocks.get('r0')!;
    const mine = blocks.get('r3')!;
    // More than VOTE_WINDOW (64) blocks beyond what r3 had: the votes queued for it while it
    // was down arrive before its state transfer, too far ahead to be kept.
    expect(theirs.length).toBeGreaterThan(80);
    const after = mine.filter((b) => b.header.height > 10);
    expect(after.length).toBeGreaterThan(0);
    // What r3 certified after its restart is the others' chain, block for block.
    for (const b of after) expect(b.header).toEqual(theirs[b.header.height - 1]?.header);
    expect(mine.at(-1)?.header.height).toBe(theirs.at(-1)?.header.height);
  });

  it('every replica crashes at once and restarts: the chain goes on from the state on disk', () => {
    const resumed = new Map<string, number[]>();
    const { sim, blocks, results } = run(5, null, 6_000, (sim) => {
      sim.onOutput((instance, event) => {
        const e = event as { type?: string; height?: number };
        if (e.type === 'ledger-resumed')
          resumed.set(instance, [...(resumed.get(instance) ?? []), e.height ?? -1]);
      });
      sim.at(2_000, () => {
        for (const r of replicas) sim.crash(r);
      });
      sim.at(2_300, () => {
        for (const r of replicas) sim.restart(r);
      });
    });
    const restores = sim.notes.filter((n) => n.event === 'restore');
    expect(restores.map((n) => n.node).sort()).toEqual(replicas);
    for (const r of replicas) {
      // The snapshot on disk carries the tip of the chain at the stable checkpoint.
      expect(resumed.get(r)?.[0] ?? 0, r).toBeGreaterThan(0);
      // What a replica's host stores: each height once (a block finalized again after the
      // restart is the same block), one audited chain past the crash.
      const byHeight = new Map<number, CertifiedBlock>();
      for (const b of blocks.get(r)!) {
        const seen = byHeight.get(b.header.height);
        if (seen !== undefined) expect(b.header, r).toEqual(seen.header);
        else byHeight.set(b.header.height, b);
      }
      const chain = [...byHeight.values()].sort((a, b) => a.header.height - b.header.height);
      expect(chain.map((b) => b.header.height)).toEqual(chain.map((_, i) => i + 1));
      expect(auditLedger(chain, file, nodeLedgerCrypto)).toMatchObject({ ok: true });
    }
    const restoredTip = Math.max(...(resumed.get('r0') ?? [0]));
    expect(Math.max(...blocks.get('r0')!.map((b) => b.header.height))).toBeGreaterThan(
      restoredTip + 5,
    );
    expect(results.filter((r) => r.result.height > restoredTip).length).toBeGreaterThan(5);
  });

  it('the same seed gives the same blocks', () => {
    const a = run(3, null, 2_500).blocks.get('r1');
    const b = run(3, null, 2_500).blocks.get('r1');
    expect(a?.length).toBeGreaterThan(3);
    expect(a).toEqual(b);
  });
});
