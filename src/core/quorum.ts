/**
 * Quorum math — the one place bftkit decides how many replicas are enough.
 *
 * Byzantine model (seeds/002 §6.1.1): n ≥ 3f+1 and quorums of more than (n+f)/2 replicas,
 * q = ⌊(n+f)/2⌋ + 1. Two such quorums share more than (n+f) − n = f replicas, hence at least
 * one correct one; and n − f ≥ q exactly when n > 3f, so the correct replicas alone form a
 * quorum. At n = 3f+1, q = 2f+1. A client trusts a result once f+1 replicas vouch for it.
 *
 * Crash model (Raft, majority registers): n ≥ 2f+1 and majorities ⌈(n+1)/2⌉.
 */
export type FaultModel = 'byzantine' | 'crash';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Strictly more than (n+f)/2. */
export function byzantineQuorum(n: number, f: number): number {
  return Math.floor((n + f) / 2) + 1;
}

/** ⌈(n+1)/2⌉, i.e. strictly more than n/2 — computed without the integer-division trap. */
export function majority(n: number): number {
  return Math.ceil((n + 1) / 2);
}

export function quorumSize(model: FaultModel, n: number, f: number): number {
  return model === 'byzantine' ? byzantineQuorum(n, f) : majority(n);
}

/** How many matching replies a client needs: one correct replica among them. */
export function replyQuorum(model: FaultModel, f: number): number {
  return model === 'byzantine' ? f + 1 : 1;
}

/** The largest f the model tolerates with n replicas. */
export function maxFaults(model: FaultModel, n: number): number {
  return model === 'byzantine' ? Math.floor((n - 1) / 3) : Math.floor((n - 1) / 2);
}

/**
 * Refuse a configuration that breaks the model's bound, unless it is explicitly marked
 * unsafe — which exists so that a course can watch safety break.
 */
export function checkFaultBound(model: FaultModel, n: number, f: number, unsafe = false): void {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new ConfigError(`n must be a positive integer, got ${n}`);
  if (!Number.isSafeInteger(f) || f < 0)
    throw new ConfigError(`f must be a non-negative integer, got ${f}`);
  if (f >= n) throw new ConfigError(`f = ${f} must be smaller than n = ${n}`);
  const bound = model === 'byzantine' ? 3 * f + 1 : 2 * f + 1;
  if (n < bound && !unsafe) {
    const rule = model === 'byzantine' ? 'n ≥ 3f+1' : 'n ≥ 2f+1';
    throw new ConfigError(
      `${model} model needs ${rule}: n = ${n}, f = ${f} needs n ≥ ${bound} (mark the configuration unsafe to run it anyway)`,
    );
  }
}
