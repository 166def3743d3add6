/**
 * A covert censor: a Byzantine primary that starves one client without ever looking idle.
 *
 * It drops every request of the censored client (`client`), and merely delays everybody
 * else's: the first copy of each of their requests is dropped, so the client times out and
 * re-sends it to every replica; the re-sent copy is proposed, but its PRE-PREPARE is held
 * back `delayMs` (under the backups' request timeout). Every backup thus always has some
 * request pending and sees one executed now and then. A backup that restarts its request
 * timer whenever any request executes never fires it while others have work, and the
 * censored client completes nothing; Castro–Liskov's rule — the timer waits for one request
 * and restarts only when that one executes — deposes the censor (src/pbft/replica.ts,
 * armRequestTimer).
 */
import { z } from 'zod';
import type { RequestBody } from '../pbft/messages.js';
import { act } from './api.js';
import { define, holdPrePrepares, PBFT, wrapPbft } from './pbft-wrap.js';

const MAX_REMEMBERED = 4_096;

export const covertCensor = define({
  name: 'covert-censor',
  description:
    'as primary, drops every request of `client`, drops the first copy of everybody else’s (they time out and re-send to all replicas) and holds each PRE-PREPARE back `delayMs`: never idle long enough for a timer that restarts on any execution',
  protocols: PBFT,
  params: z
    .object({
      client: z.string().min(1).max(128).default('c0'),
      delayMs: z.number().int().min(0).max(3_600_000).default(150),
    })
    .strict(),
  create: (honest, params: { client: string; delayMs: number }) =>
    wrapPbft(honest, (spy) => {
      const seen = new Set<string>();
      return {
        ...holdPrePrepares(spy, params.delayMs),
        observe(from, message) {
          if (message.kind !== 'REQUEST' || !spy.leading) return true;
          const { timestamp } = message.body as RequestBody;
          if (from === params.client) {
            act(spy.ctx, 'censor', { client: from, timestamp, view: spy.view });
            return false;
          }
          const key = `${from}:${timestamp}`;
          if (seen.has(key)) return true;
          if (seen.size >= MAX_REMEMBERED) seen.clear();
          seen.add(key);
          act(spy.ctx, 'drop-first-copy', { client: from, timestamp, view: spy.view });
          return false;
        },
      };
    }),
});
