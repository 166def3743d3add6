/**
 * Byzantine replicas for the registers (src/register). Each holds only its own key: it can
 * withhold, replay, reorder and re-sign its own messages, and hand on any WRITE the writer
 * signed, but it cannot make the writer's signature on a value or timestamp of its choosing.
 *
 *   silent        answers nothing (to the writer: no ACK; to readers: no VALUE)
 *   stale         stores and acks honestly, but answers reads with an old signed value
 *   forging       answers reads with a made-up value or an old one with a higher timestamp (σ bad)
 *   replaying     replays its old VALUEs (old rids, other readers) and old ACKs
 *   equivocating  answers some readers with the latest value, others with an old one (twice)
 *   colluding     negative control: acks writes without storing them and answers every read
 *                 with the oldest signed value (or ⊥) — harmless alone, fatal when more than f
 *                 of them fill the intersection of the writer's and the reader's quorums
 *
 * Every misdeed is reported with act(ctx, …) so that the trace shows it.
 */
import { z } from 'zod';
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, Protocol } from '../core/protocol.js';
import type { ByzValueBody, ReadBody, SignedWrite, WriteBody } from '../register/messages.js';
import { type AdversaryDefinition, act, type Out, wrapHonest } from './api.js';

const BYZ_ONLY = ['byz-register'] as const;
const ALL_REGISTERS = ['byz-register', 'register', 'atomic-register'] as const;
/** How many old messages a replaying replica keeps. */
const REPLAY_MEMORY = 64;

/** A WRITE the writer really signed (the host has checked the signature against `from`). */
function writerSigned(ctx: Context, from: NodeId, message: Envelope): SignedWrite | null {
  if (message.kind !== 'WRITE' || from !== ctx.cluster.clients[0]) return null;
  const body = message.body as WriteBody;
  return { kind: 'WRITE', from, body: { ts: body.ts, value: body.value }, sig: message.sig };
}

function value(ctx: Context, to: NodeId | null, rid: number, write: SignedWrite | null): Out {
  return { to, message: ctx.sign('VALUE', { rid, write } satisfies ByzValueBody) };
}

const tsOf = (write: SignedWrite | null): number => write?.body.ts ?? 0;

/** Infer an adversary's parameter type from its schema and its create function. */
function define<P>(definition: AdversaryDefinition<P>): AdversaryDefinition<P> {
  return definition;
}

export const silent = define({
  name: 'silent',
  description: 'answers nothing: no ACK to the writer, no VALUE to readers',
  protocols: ALL_REGISTERS,
  params: z.object({}).strict(),
  create: () => (ctx) => {
    const mute: Protocol = {
      start: () => act(ctx, 'silent'),
      onMessage: (from, message) => act(ctx, 'withhold', { from, kind: message.kind }),
      onTimer: () => {},
      onRequest: () => {},
    };
    return mute;
  },
});

export const stale = define({
  name: 'stale',
  description:
    'stores and acks writes honestly, but answers reads with the old signed value of timestamp `keep` (0: ⊥)',
  protocols: BYZ_ONLY,
  params: z
    .object({ keep: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(1) })
    .strict(),
  create: (honest, params: { keep: number }) =>
    wrapHonest(honest, (ctx) => {
      let kept: SignedWrite | null = null;
      return {
        observe(from, message) {
          const write = writerSigned(ctx, from, message);
          if (write !== null && write.body.ts === params.keep) kept = write;
        },
        *rewrite(to, message) {
          if (message.kind !== 'VALUE') return yield { to, message };
          const { rid, write } = message.body as ByzValueBody;
          if (tsOf(write) <= tsOf(kept)) return yield { to, message };
          act(ctx, 'stale-value', { to, rid, ts: tsOf(kept), latest: tsOf(write) });
          yield value(ctx, to, rid, kept);
        },
      };
    }),
});

const forgeModes = ['value', 'timestamp', 'self-signed'] as const;
type ForgeMode = (typeof forgeModes)[number];

/** 64 zero bytes: the right length for an ed25519 signature, valid for nothing. */
const ZERO_SIG = '0'.repeat(128);

export const forging = define({
  name: 'forging',
  description:
    'answers reads with forged WRITEs: the latest timestamp with a made-up value, or the oldest value with a far higher timestamp, both under an old signature, or a WRITE it signed itself (mode rotate: the three in turn)',
  protocols: BYZ_ONLY,
  params: z.object({ mode: z.enum([...forgeModes, 'rotate']).default('rotate') }).strict(),
  create: (honest, params: { mode: ForgeMode | 'rotate' }) =>
    wrapHonest(honest, (ctx) => {
      let oldest: SignedWrite | null = null;
      return {
        observe(from, message) {
          oldest ??= writerSigned(ctx, from, message);
        },
        *rewrite(to, message) {
          if (message.kind !== 'VALUE') return yield { to, message };
          const { rid, write } = message.body as ByzValueBody;
          const mode =
            params.mode === 'rotate' ? forgeModes[rid % forgeModes.length]! : params.mode;
          const latest: SignedWrite = write ?? {
            kind: 'WRITE',
            from: ctx.cluster.clients[0] ?? ctx.self,
            body: { ts: 1, value: 'v0' },
            sig: ZERO_SIG,
          };
          const higher = latest.body.ts + 1_000_000;
          let forged: SignedWrite;
          if (mode === 'value') {
            // the latest timestamp and σ, a value the writer never wrote
            forged = { ...latest, body: { ts: latest.body.ts, value: `forged-${rid}` } };
          } else if (mode === 'timestamp') {
            // an old value and its σ, passed off as newer than anything written
            const old = oldest ?? latest;
            forged = { ...old, body: { ts: higher, value: old.body.value } };
          } else {
            // a well-signed WRITE — but signed by this replica, not by the writer
            const signed = ctx.sign('WRITE', {
              ts: higher,
              value: `forged-${rid}`,
            } satisfies WriteBody);
            forged = { kind: 'WRITE', from: signed.from, body: signed.body, sig: signed.sig };
          }
          act(ctx, 'forge', { mode, to, rid, ts: forged.body.ts, value: forged.body.value });
          yield value(ctx, to, rid, forged);
        },
      };
    }),
});

export const replaying = define({
  name: 'replaying',
  description:
    'before each VALUE, replays up to `burst` of its earlier VALUEs (old rids, other readers); before each ACK its previous ACK; with answer=false it never answers the current read itself',
  protocols: BYZ_ONLY,
  params: z
    .object({
      burst: z.number().int().min(1).max(REPLAY_MEMORY).default(4),
      answer: z.boolean().default(false),
    })
    .strict(),
  create: (honest, params: { burst: number; answer: boolean }) =>
    wrapHonest(honest, (ctx) => {
      const values: Envelope[] = [];
      let lastAck: Envelope | null = null;
      return {
        *rewrite(to, message) {
          if (message.kind === 'ACK') {
            if (lastAck !== null) {
              act(ctx, 'replay-ack', { to, ts: (lastAck.body as { ts: number }).ts });
              yield { to, message: lastAck };
            }
            lastAck = message;
            return yield { to, message };
          }
          if (message.kind !== 'VALUE') return yield { to, message };
          for (const old of values.slice(-params.burst).reverse()) {
            const { rid, write } = old.body as ByzValueBody;
            act(ctx, 'replay-value', { to, rid, ts: tsOf(write) });
            yield { to, message: old };
          }
          values.push(message);
          if (values.length > REPLAY_MEMORY) values.shift();
          if (params.answer) yield { to, message };
          else act(ctx, 'withhold', { to, rid: (message.body as ByzValueBody).rid });
        },
      };
    }),
});

export const equivocating = define({
  name: 'equivocating',
  description:
    'answers the victims (by default every other client) with the signed value `lag` writes old, then (double) with the latest; the others get the latest',
  protocols: BYZ_ONLY,
  params: z
    .object({
      lag: z.number().int().min(1).max(REPLAY_MEMORY).default(1),
      double: z.boolean().default(true),
      victims: z.array(z.string().max(128)).max(64).default([]),
    })
    .strict(),
  create: (honest, params: { lag: number; double: boolean; victims: string[] }) =>
    wrapHonest(honest, (ctx) => {
      /** The last lag+1 writes seen; ring[0] is `lag` writes older than the newest. */
      const ring: SignedWrite[] = [];
      const isVictim = (to: NodeId): boolean =>
        params.victims.length > 0
          ? params.victims.includes(to)
          : ctx.cluster.clients.indexOf(to) % 2 === 1;
      return {
        observe(from, message) {
          const write = writerSigned(ctx, from, message);
          if (write === null) return;
          ring.push(write);
          if (ring.length > params.lag + 1) ring.shift();
        },
        *rewrite(to, message) {
          if (message.kind !== 'VALUE' || to === null || !isVictim(to))
            return yield { to, message };
          const { rid, write } = message.body as ByzValueBody;
          const old = ring.length > params.lag ? ring[0]! : null;
          if (write === null || tsOf(old) >= tsOf(write)) return yield { to, message };
          act(ctx, 'equivocate', { to, rid, ts: tsOf(old), latest: tsOf(write) });
          yield value(ctx, to, rid, old);
          if (params.double) yield { to, message };
        },
      };
    }),
});

export const colluding = define({
  name: 'colluding',
  description:
    'negative control: acks every write without storing it and answers every read with the oldest signed value (answer=oldest) or ⊥ (answer=bottom)',
  protocols: BYZ_ONLY,
  params: z.object({ answer: z.enum(['oldest', 'bottom']).default('oldest') }).strict(),
  create: (_honest, params: { answer: 'oldest' | 'bottom' }) => (ctx) => {
    let oldest: SignedWrite | null = null;
    const impostor: Protocol = {
      start: () => act(ctx, 'collude', { answer: params.answer }),
      onMessage: (from, message) => {
        const write = writerSigned(ctx, from, message);
        if (write !== null) {
          oldest ??= write;
          act(ctx, 'ack-without-store', { ts: write.body.ts });
          ctx.send(from, ctx.sign('ACK', { ts: write.body.ts }));
        } else if (message.kind === 'READ') {
          const { rid } = message.body as ReadBody;
          const answer = params.answer === 'oldest' ? oldest : null;
          act(ctx, 'stale-value', { to: from, rid, ts: tsOf(answer) });
          ctx.send(from, ctx.sign('VALUE', { rid, write: answer } satisfies ByzValueBody));
        }
      },
      onTimer: () => {},
      onRequest: () => {},
    };
    return impostor;
  },
});

export const registerAdversaries: AdversaryDefinition[] = [
  silent,
  stale,
  forging,
  replaying,
  equivocating,
  colluding,
];
