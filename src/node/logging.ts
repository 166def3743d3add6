/** How a node process logs: JSON lines through pino, and at which level each core note goes. */
import pino, { type Logger } from 'pino';

/** The JSON-lines logger of a node process (stdout; level from BFTKIT_LOG_LEVEL). */
export function processLogger(): Logger {
  return pino(
    {
      level: process.env.BFTKIT_LOG_LEVEL ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}

/** Notes an operator wants to see at the default level; the rest are debug. */
const INFO_NOTES = new Set([
  'role',
  'became-leader',
  'view',
  'view-change',
  'trust',
  'recovered',
  'start',
  'state',
  'adversary',
]);
/** Notes that mean a Byzantine node was caught, or a replica's state was at risk. */
const WARN_NOTES = new Set(['evidence', 'divergence', 'truncate-committed']);

export function noteLevel(event: string): 'warn' | 'info' | 'debug' {
  return WARN_NOTES.has(event) ? 'warn' : INFO_NOTES.has(event) ? 'info' : 'debug';
}
