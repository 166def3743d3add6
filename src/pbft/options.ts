/**
 * The options of a PBFT replica, and the rule that ties the checkpoint interval K to the
 * watermark window L (docs/reference/pbft.md PBFT-13, PBFT-19, PBFT-31).
 */
import type { AppDefinition } from '../smr/app.js';
import { kvApp } from '../smr/kv.js';
import { type ViewChangeRules, viewChangeRules } from './view-change.js';

export interface PbftOptions {
  /** Most requests per PRE-PREPARE. */
  readonly batchSize: number;
  /** How long the primary waits for a batch to fill (0: propose at once). */
  readonly batchTimeoutMs: number;
  /**
   * Propose a partial batch at once while fewer than this many of the primary's batches are
   * proposed but not executed (0: off — a batch waits until it is full or its timer fires).
   * Requests that arrive while the pipeline is busy accumulate into the next batch, so a
   * lone request is not held back by the batch timer and a busy primary still batches.
   */
  readonly maxInFlight: number;
  /** K: a checkpoint every K sequence numbers. */
  readonly checkpointInterval: number;
  /** L: sequence numbers s with h < s ≤ h + L are accepted. */
  readonly watermarkWindow: number;
  /** Base of the request / view-change timeout (doubles with every view change in a row). */
  readonly viewChangeTimeoutMs: number;
  /** Deliberately unsafe: accept a NEW-VIEW's O without recomputing it from V. */
  readonly unsafeSkipNewViewCheck: boolean;
  /**
   * Which VIEW-CHANGEs to accept and how O follows from V (src/pbft/view-change.ts): the
   * project's own unless the lab `pbft-view-change` plugs in a student's.
   */
  readonly viewChangeRules: ViewChangeRules;
  /**
   * Deliberately unsafe (a negative control): keep the state in memory only — no snapshot and
   * no committed batch on disk — and after a restart take the initial state for the state at
   * the stable checkpoint, as a replica that never made its state durable would.
   */
  readonly unsafeVolatileState: boolean;
  /** The replicated application (smr/app.ts). */
  readonly app: AppDefinition;
}

export const DEFAULT_PBFT_OPTIONS: PbftOptions = {
  batchSize: 8,
  batchTimeoutMs: 5,
  maxInFlight: 0,
  checkpointInterval: 16,
  watermarkWindow: 64,
  viewChangeTimeoutMs: 500,
  unsafeSkipNewViewCheck: false,
  viewChangeRules,
  unsafeVolatileState: false,
  app: kvApp,
};

/**
 * Why a checkpoint interval K and watermark window L do not go together (null: they do).
 * L ≥ 2K: a backup takes sequence numbers up to h + L, and the primary, whose checkpoint at
 * h + K became stable a little earlier, proposes up to h + K + L. With L = K the primary's
 * next PRE-PREPARE is above the window of every backup that has not yet collected q
 * CHECKPOINTs for h + K, is dropped there, and nearly every checkpoint costs a view change;
 * with L ≥ 2K the primary must first propose K more batches, time in which the CHECKPOINTs
 * arrive.
 */
export function watermarkProblem(
  checkpointInterval: number,
  watermarkWindow: number,
): string | null {
  if (watermarkWindow >= 2 * checkpointInterval) return null;
  return `watermarkWindow (L = ${watermarkWindow}) must be at least twice checkpointInterval (K = ${checkpointInterval}): with L < 2K a backup that has not yet seen the checkpoint at h + K become stable drops the primary's next PRE-PREPARE, and a view change follows at nearly every checkpoint`;
}

/** The replica's timers, by the name the host hands back to `onTimer`. */
export const TIMER = {
  /** PBFT-35: a backup waits this long for the request it awaits. */
  request: 'request',
  /** PBFT-47: a backup that trusts a new primary waits this long for its NEW-VIEW. */
  viewChange: 'view-change',
  /** PBFT-13: the primary's batch timer. */
  batch: 'batch',
  /** PBFT-49: FETCH-STATE is retried while nothing arrives. */
  fetch: 'fetch',
} as const;
