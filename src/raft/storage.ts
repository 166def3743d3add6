/**
 * The keys a Raft node writes through ctx.persist (slide 1/9's stable storage, and the
 * snapshot of thesis §5.1). The log is stored entry by entry, `log/<index>`, with its
 * absolute length under `log.length`, so an append writes one entry, not the whole log.
 */

export const KEY_TERM = 'currentTerm';
export const KEY_VOTED_FOR = 'votedFor';
export const KEY_COMMIT = 'commitLength';
export const KEY_LOG_LENGTH = 'log.length';
export const KEY_SNAPSHOT = 'snapshot';
export const logKey = (index: number): string => `log/${index}`;
