/**
 * Reference solution of lab "register-attack": the project's `colluding` adversary
 * (src/adversary/register.ts), written against the public API. It acks every write without
 * storing it and answers every read with the oldest value the writer signed. Alone it is
 * harmless; two of them at n = 4 fill the intersection of a write quorum and a read quorum.
 */
import { act, type Context, type Envelope, type NodeId, type ProtocolFactory } from 'bftkit';

type WriteBody = { ts: number; value: string };
type SignedWrite = { kind: 'WRITE'; from: NodeId; body: WriteBody; sig: string };
type ReadBody = { rid: number };
type ValueBody = { rid: number; write: SignedWrite | null };

export function adversary(_honest: ProtocolFactory): ProtocolFactory {
  return (ctx: Context) => {
    let oldest: SignedWrite | null = null;
    return {
      start: () => act(ctx, 'collude', { answer: 'oldest' }),
      onMessage: (from: NodeId, message: Envelope) => {
        if (message.kind === 'WRITE' && from === ctx.cluster.clients[0]) {
          const body = message.body as WriteBody;
          oldest ??= {
            kind: 'WRITE',
            from,
            body: { ts: body.ts, value: body.value },
            sig: message.sig,
          };
          act(ctx, 'ack-without-store', { ts: body.ts });
          ctx.send(from, ctx.sign('ACK', { ts: body.ts }));
        } else if (message.kind === 'READ') {
          const { rid } = message.body as ReadBody;
          act(ctx, 'stale-value', { to: from, rid, ts: oldest?.body.ts ?? 0 });
          ctx.send(from, ctx.sign('VALUE', { rid, write: oldest } satisfies ValueBody));
        }
      },
      onTimer: () => {},
      onRequest: () => {},
    };
  };
}
