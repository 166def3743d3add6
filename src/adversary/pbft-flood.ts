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
import { define, PBFT, phantomDigest, wrapPbft } from './pbft-wrap.js';

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
    wrapPbft(honest, (spy) => {
      const { ctx } = spy;
      let turn = 0;
      let tick = 0;
      let highestSeq = 0;
      /** Signed messages are made once and sent again (a cache bounded by the flavours' ranges). */
      const signed = new Map<string, Envelope>();
      const once = (key: string, make: () => Envelope): Envelope => {
        let m = signed.get(key);
        if (m === undefined) {
          m = make();
          if (signed.size >= 512) signed.clear();
          signed.set(key, m);
        }
        return m;
      };
      const randomHex = (): string => {
        let hex = '';
        while (hex.length < 128)
          hex += Math.floor(ctx.random() * 2 ** 32)
            .toString(16)
            .padStart(8, '0');
        return hex;
      };
      const junk = (flavour: Flavour, to: NodeId, k: number): Envelope => {
        const self = ctx.self;
        const seq = highestSeq + 1 + (k % 16);
        const vote = { view: spy.view, seq, digest: phantomDigest(self, spy.view, seq) };
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
            return { kind: 'COMMIT', from: self, body: vote, sig: randomHex() };
          case 'sender-mismatch': {
            const other = spy.others.find((r) => r !== to) ?? to;
            return { kind: 'COMMIT', from: other, body: vote, sig: ZERO_SIG };
          }
          case 'unknown-sender':
            return { kind: 'COMMIT', from: 'mallory', body: vote, sig: ZERO_SIG };
          case 'vote':
            return once(`vote/${vote.view}/${vote.seq}`, () => ctx.sign('PREPARE', vote));
          case 'view-change': {
            const newView = spy.view + 100 + (k % 4);
            return once(`vc/${newView}`, () =>
              ctx.sign('VIEW-CHANGE', {
                newView,
                stableSeq: 0,
                checkpointProof: [],
                prepared: [],
              }),
            );
          }
          case 'fetch':
            return once('fetch', () => ctx.sign('FETCH-STATE', { lastExecuted: 0, view: 0 }));
          case 'checkpoint':
            return once(`cp/${k % 4}`, () =>
              ctx.sign('CHECKPOINT', {
                seq: 1_000_000_007 + 2 * (k % 4),
                stateDigest: phantomDigest(self, 'state'),
              }),
            );
          case 'request':
            return once(`rq/${k % 4}`, () =>
              ctx.sign('REQUEST', {
                client: self,
                timestamp: k % 4,
                command: { op: 'put', key: 'k0', value: 'flood' },
              }),
            );
        }
      };
      const flood = () => {
        tick++;
        const counts: Record<string, Json> = {};
        for (const to of spy.others) {
          for (let i = 0; i < params.burst; i++) {
            const k = turn++;
            const flavour = FLAVOURS[k % FLAVOURS.length] as Flavour;
            ctx.send(to, junk(flavour, to, Math.floor(k / FLAVOURS.length)));
            counts[flavour] = ((counts[flavour] as number | undefined) ?? 0) + 1;
          }
        }
        for (const client of ctx.cluster.clients) {
          const reply = once(`reply/${client}`, () =>
            ctx.sign('REPLY', {
              view: spy.view,
              timestamp: 1_000_000_000,
              client,
              replica: ctx.self,
              result: { ok: true, value: 'flood' },
            }),
          );
          ctx.send(client, reply);
        }
        act(ctx, 'flood', {
          tick,
          replicas: spy.others.length,
          clients: ctx.cluster.clients.length,
          counts,
        });
        spy.setTimer('flood', params.intervalMs);
      };
      return {
        start() {
          spy.setTimer('flood', params.intervalMs);
        },
        observe(_from, message) {
          if (message.kind === 'PRE-PREPARE') {
            highestSeq = Math.max(highestSeq, (message.body as PrePrepareBody).seq);
          }
          return true;
        },
        onTimer(name) {
          if (name === 'flood') flood();
        },
      };
    }),
});
