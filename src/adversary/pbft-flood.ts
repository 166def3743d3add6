/**
 * A flooding PBFT replica (DESIGN.md "Resources": a flooding peer costs itself, not the honest
 * ones). Its honest core runs on, and every `intervalMs` it sends each other replica `burst`
 * more messages, taking these flavours in turn:
 *
 *   rejected by the host's admission pipeline (counted in sim.rejections / node metrics):
 *     unknown-kind      a kind PBFT does not have, some with a 16 KiB body
 *     bad-shape         a PREPARE whose body is not a vote
 *     bad-signature     a well-formed COMMIT with random signature bytes
 *     sender-mismatch   a COMMIT in another replica's name
 *     unknown-sender    a COMMIT from a node that is not in the cluster
 *   validly signed, for the core to refuse or to keep within its bounds:
 *     vote              PREPAREs for sequence numbers ahead, for digests nobody proposed
 *     view-change       VIEW-CHANGEs for far-future views (the leader detector keeps ≤ 4)
 *     fetch             FETCH-STATE from scratch (served at most once per half timeout)
 *     checkpoint        CHECKPOINTs at a sequence number far beyond every watermark
 *     request           REQUESTs signed by a replica, not by a client
 *
 * and each client one REPLY for a request it never made. One act(ctx, 'flood', …) per burst
 * says what went out.
 */
import { z } from 'zod';
import type { Envelope } from '../core/envelope-types.js';
import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import type { PrePrepareBody } from '../pbft/messages.js';
import { act } from './api.js';
import {
  define,
  PBFT,
  type PbftHooks,
  type PbftSpy,
  phantomDigest,
  wrapPbft,
} from './pbft-wrap.js';

export const FLAVOURS = [
  'unknown-kind',
  'bad-shape',
  'bad-signature',
  'sender-mismatch',
  'unknown-sender',
  'vote',
  'view-change',
  'fetch',
  'checkpoint',
  'request',
] as const;
type Flavour = (typeof FLAVOURS)[number];

const ZERO_SIG = '0'.repeat(128);
const BIG = 'x'.repeat(16 * 1024);

/** One flooding replica's state: the hooks wrapPbft runs beside its honest core. */
class Flooder {
  private turn = 0;
  private tick = 0;
  private highestSeq = 0;
  /** Signed messages are made once and sent again (a cache bounded by the flavours' ranges). */
  private readonly signed = new Map<string, Envelope>();

  constructor(
    private readonly spy: PbftSpy,
    private readonly params: { intervalMs: number; burst: number },
  ) {}

  hooks(): PbftHooks {
    return {
      start: () => this.spy.setTimer('flood', this.params.intervalMs),
      observe: (_from, message) => {
        if (message.kind === 'PRE-PREPARE') {
          this.highestSeq = Math.max(this.highestSeq, (message.body as PrePrepareBody).seq);
        }
        return true;
      },
      onTimer: (name) => {
        if (name === 'flood') this.flood();
      },
    };
  }

  private once(key: string, make: () => Envelope): Envelope {
    let m = this.signed.get(key);
    if (m === undefined) {
      m = make();
      if (this.signed.size >= 512) this.signed.clear();
      this.signed.set(key, m);
    }
    return m;
  }

  private randomHex(): string {
    let hex = '';
    while (hex.length < 128)
      hex += Math.floor(this.spy.ctx.random() * 2 ** 32)
        .toString(16)
        .padStart(8, '0');
    return hex;
  }

  /** The k-th message of `flavour` for replica `to`. */
  private junk(flavour: Flavour, to: NodeId, k: number): Envelope {
    const { ctx, view, others } = this.spy;
    const self = ctx.self;
    const seq = this.highestSeq + 1 + (k % 16);
    const vote = { view, seq, digest: phantomDigest(self, view, seq) };
    switch (flavour) {
      case 'unknown-kind':
        return {
          kind: 'GOSSIP',
          from: self,
          body: { k, pad: k % 4 === 0 ? BIG : '' },
          sig: ZERO_SIG,
        };
      case 'bad-shape':
        return { kind: 'PREPARE', from: self, body: { view: 'one', junk: [k] }, sig: ZERO_SIG };
      case 'bad-signature':
        return { kind: 'COMMIT', from: self, body: vote, sig: this.randomHex() };
      case 'sender-mismatch': {
        const other = others.find((r) => r !== to) ?? to;
        return { kind: 'COMMIT', from: other, body: vote, sig: ZERO_SIG };
      }
      case 'unknown-sender':
        return { kind: 'COMMIT', from: 'mallory', body: vote, sig: ZERO_SIG };
      case 'vote':
        return this.once(`vote/${vote.view}/${vote.seq}`, () => ctx.sign('PREPARE', vote));
      case 'view-change': {
        const newView = view + 100 + (k % 4);
        const body = { newView, stableSeq: 0, checkpointProof: [], prepared: [] };
        return this.once(`vc/${newView}`, () => ctx.sign('VIEW-CHANGE', body));
      }
      case 'fetch':
        return this.once('fetch', () => ctx.sign('FETCH-STATE', { lastExecuted: 0, view: 0 }));
      case 'checkpoint': {
        const body = {
          seq: 1_000_000_007 + 2 * (k % 4),
          stateDigest: phantomDigest(self, 'state'),
        };
        return this.once(`cp/${k % 4}`, () => ctx.sign('CHECKPOINT', body));
      }
      case 'request': {
        const command = { op: 'put', key: 'k0', value: 'flood' };
        const body = { client: self, timestamp: k % 4, command };
        return this.once(`rq/${k % 4}`, () => ctx.sign('REQUEST', body));
      }
    }
  }

  /** One burst: `burst` messages to each other replica, a stray REPLY to each client. */
  private flood(): void {
    const { ctx } = this.spy;
    this.tick++;
    const counts: Record<string, Json> = {};
    for (const to of this.spy.others) {
      for (let i = 0; i < this.params.burst; i++) {
        const k = this.turn++;
        const flavour = FLAVOURS[k % FLAVOURS.length] as Flavour;
        ctx.send(to, this.junk(flavour, to, Math.floor(k / FLAVOURS.length)));
        counts[flavour] = ((counts[flavour] as number | undefined) ?? 0) + 1;
      }
    }
    for (const client of ctx.cluster.clients) {
      const reply = this.once(`reply/${client}`, () =>
        ctx.sign('REPLY', {
          view: this.spy.view,
          timestamp: 1_000_000_000,
          client,
          replica: ctx.self,
          result: { ok: true, value: 'flood' },
        }),
      );
      ctx.send(client, reply);
    }
    act(ctx, 'flood', {
      tick: this.tick,
      replicas: this.spy.others.length,
      clients: ctx.cluster.clients.length,
      counts,
    });
    this.spy.setTimer('flood', this.params.intervalMs);
  }
}

export const floodingReplica = define({
  name: 'flooding-replica',
  description:
    'behaves, and besides sends every other replica `burst` junk or useless messages every `intervalMs` (unknown kinds, malformed bodies, bad signatures, other senders’ names, votes for digests nobody proposed, far-future VIEW-CHANGEs and CHECKPOINTs, FETCH-STATEs, requests that are not a client’s) and each client a REPLY it never asked for',
  protocols: PBFT,
  params: z
    .object({
      intervalMs: z.number().int().min(1).max(60_000).default(10),
      burst: z.number().int().min(1).max(1_000).default(8),
    })
    .strict(),
  create: (honest, params: { intervalMs: number; burst: number }) =>
    wrapPbft(honest, (spy) => new Flooder(spy, params).hooks()),
});
