/**
 * Byzantine PBFT clients, and a primary that replays client requests. A client holds only its
 * own key: it can sign anything in its own name — two operations under one timestamp, old
 * requests again, timestamps far ahead — but a request in another client's name carries a
 * signature that verifies for nobody. Replicas must keep exactly-once execution (one
 * execution per client and timestamp) and validity (only what the named client signed), and
 * the correct clients must still be served.
 *
 *   equivocating-client    each request goes to the primary as it is and, under the same
 *                          timestamp, with another operation to every other replica
 *   replaying-client       with each new request, re-sends its last `depth` old requests to
 *                          every replica
 *   impersonating-client   with each request, sends one in the name of `victim` (its own
 *                          signature, or the victim's id on its own envelope)
 *   time-traveller         signs every request with a timestamp `jump` ahead of the last
 *   replaying-primary      as primary, appends to every batch a request of an earlier batch:
 *                          correct replicas answer it from the session table, not execute it
 *
 * A Byzantine client's operations touch only its own key (the KV key named after it), so the
 * correct clients' history stays checkable for linearizability.
 */
import { z } from 'zod';
import type { Envelope } from '../core/envelope-types.js';
import type { Context, NodeId, ProtocolFactory } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import { digestOf } from '../pbft/digest.js';
import type { PrePrepareBody, RequestBody, RequestEnvelope } from '../pbft/messages.js';
import { type AdversaryDefinition, act, interceptSends, type Out } from './api.js';
import { define, forge, PBFT, wrapPbft } from './pbft-wrap.js';

const MAX_REMEMBERED = 64;

/** The client's command, moved to its own key (`variant` > 0: another value). */
function ownCommand(ctx: Context, command: Json, variant: number): Json {
  const c = command as { op?: string };
  const value = `${ctx.self}.byzantine.${variant}`;
  if (c.op === 'get')
    return variant === 0 ? { op: 'get', key: ctx.self } : { op: 'put', key: ctx.self, value };
  if (c.op === 'cas') return { op: 'cas', key: ctx.self, from: null, to: value };
  return { op: 'put', key: ctx.self, value };
}

/**
 * The honest client core under a context whose REQUESTs pass through `rewrite`: each request
 * is re-signed with its command moved to the client's own key before `rewrite` sees it.
 */
function byzantineClient(
  honest: ProtocolFactory,
  rewrite: (ctx: Context, to: NodeId | null, request: RequestEnvelope) => Iterable<Out>,
): ProtocolFactory {
  return interceptSends(honest, function* (ctx, to, message) {
    if (message.kind !== 'REQUEST') return yield { to, message };
    const body = message.body as RequestBody;
    const own = ctx.sign('REQUEST', {
      ...body,
      command: ownCommand(ctx, body.command as Json, 0),
    } as unknown as Json) as unknown as RequestEnvelope;
    yield* rewrite(ctx, to, own);
  });
}

function replicasBut(ctx: Context, to: NodeId | null): NodeId[] {
  return ctx.cluster.replicas.filter((r) => r !== to);
}

export const equivocatingClient = define({
  name: 'equivocating-client',
  description:
    'a client that sends each request to the primary as it is and, under the same timestamp, with another operation to every other replica',
  protocols: PBFT,
  role: 'client',
  params: z.object({}).strict(),
  create: (honest) =>
    byzantineClient(honest, function* (ctx, to, request) {
      const body = request.body;
      const targets = to === null ? ctx.cluster.replicas : [to, ...replicasBut(ctx, to)];
      act(ctx, 'equivocate-request', { timestamp: body.timestamp });
      let i = 0;
      for (const r of targets) {
        const message =
          i === 0
            ? request
            : ctx.sign('REQUEST', {
                ...body,
                command: ownCommand(ctx, body.command as Json, i),
              } as unknown as Json);
        i++;
        yield { to: r, message };
      }
    }),
});

export const replayingClient = define({
  name: 'replaying-client',
  description:
    'a client that, with each new request, re-sends its last `depth` old requests to every replica',
  protocols: PBFT,
  role: 'client',
  params: z.object({ depth: z.number().int().min(1).max(MAX_REMEMBERED).default(4) }).strict(),
  create: (honest, params: { depth: number }) => {
    const factory: ProtocolFactory = (ctx) => {
      const old: RequestEnvelope[] = [];
      return byzantineClient(honest, function* (c, to, request) {
        yield { to, message: request };
        for (const r of old.slice(-params.depth)) {
          if (r.body.timestamp === request.body.timestamp) continue;
          act(c, 'replay-request', { timestamp: r.body.timestamp });
          yield { to: null, message: r };
        }
        if (!old.some((r) => r.body.timestamp === request.body.timestamp)) {
          old.push(request);
          if (old.length > MAX_REMEMBERED) old.shift();
        }
      })(ctx);
    };
    return factory;
  },
});

export const impersonatingClient = define({
  name: 'impersonating-client',
  description:
    'a client that, with each request, sends requests in the name of `victim`: the victim as signer under its own signature, and the victim as the client of its own envelope',
  protocols: PBFT,
  role: 'client',
  params: z.object({ victim: z.string().min(1).max(128).default('c0') }).strict(),
  create: (honest, params: { victim: string }) =>
    byzantineClient(honest, function* (ctx, to, request) {
      yield { to, message: request };
      const body = {
        client: params.victim,
        timestamp: request.body.timestamp + 1_000,
        command: { op: 'put', key: 'k0', value: `impersonated-${request.body.timestamp}` },
      };
      act(ctx, 'impersonate', { victim: params.victim, timestamp: body.timestamp });
      yield { to: null, message: forge(ctx, params.victim, 'REQUEST', body) };
      yield { to: null, message: ctx.sign('REQUEST', body) };
    }),
});

export const timeTraveller = define({
  name: 'time-traveller',
  description: 'a client that signs every request with a timestamp `jump` ahead of its last one',
  protocols: PBFT,
  role: 'client',
  params: z
    .object({ jump: z.number().int().min(1).max(1_000_000_000).default(1_000_000) })
    .strict(),
  create: (honest, params: { jump: number }) => {
    const factory: ProtocolFactory = (ctx) => {
      const mapped = new Map<number, Envelope>();
      let last = 0;
      return byzantineClient(honest, function* (c, to, request) {
        const t = request.body.timestamp;
        let jumped = mapped.get(t);
        if (jumped === undefined) {
          last += params.jump;
          jumped = c.sign('REQUEST', { ...request.body, timestamp: last } as unknown as Json);
          mapped.set(t, jumped);
          if (mapped.size > MAX_REMEMBERED) mapped.delete(mapped.keys().next().value as number);
          act(c, 'jump-timestamp', { timestamp: t, sentAs: last });
        }
        yield { to, message: jumped };
      })(ctx);
    };
    return factory;
  },
});

export const replayingPrimary = define({
  name: 'replaying-primary',
  description:
    'as primary, appends to every batch a request it proposed in an earlier batch (signed by its client, already executed)',
  protocols: PBFT,
  params: z.object({}).strict(),
  create: (honest) =>
    wrapPbft(honest, (spy) => {
      const earlier: RequestEnvelope[] = [];
      return {
        *rewrite(to, message) {
          if (message.kind !== 'PRE-PREPARE' || !spy.leading) return yield { to, message };
          const pp = message.body as PrePrepareBody;
          const replay = earlier.find(
            (r) => !pp.batch.some((b) => b.body.client === r.body.client),
          );
          for (const r of pp.batch) {
            earlier.push(r);
            if (earlier.length > MAX_REMEMBERED) earlier.shift();
          }
          if (replay === undefined) return yield { to, message };
          const batch = [...pp.batch, replay];
          act(spy.ctx, 'replay-request', {
            view: pp.view,
            seq: pp.seq,
            client: replay.body.client,
            timestamp: replay.body.timestamp,
          });
          yield {
            to,
            message: spy.ctx.sign('PRE-PREPARE', {
              ...pp,
              digest: digestOf(batch),
              batch,
            } as unknown as Json),
          };
        },
      };
    }),
});

export const pbftClientAdversaries = [
  equivocatingClient,
  replayingClient,
  impersonatingClient,
  timeTraveller,
] as AdversaryDefinition[];
