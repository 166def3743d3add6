/**
 * Why a replica refused a message. `code` is stable — tests, the trace viewer and anyone
 * counting refusals key on it; `detail` is for people and may name replicas and numbers. The
 * runtime's admission refusals have the same shape (src/runtime/runtime.ts RejectReason).
 */
export type RefusalCode =
  // who sent or signed it
  | 'wrong-kind'
  | 'not-a-replica'
  | 'not-a-client'
  | 'not-its-client'
  | 'not-from-primary'
  | 'vote-from-primary'
  | 'sender-mismatch'
  | 'bad-signature'
  | 'duplicate-signer'
  // what it says
  | 'unknown-kind'
  | 'bad-shape'
  | 'not-for-replicas'
  | 'digest-mismatch'
  | 'batch-too-heavy'
  | 'vote-mismatch'
  | 'too-few-votes'
  | 'contradicts-own-vote'
  | 'not-a-checkpoint-seq'
  | 'snapshot-mismatch'
  | 'bad-evidence'
  // view change
  | 'bad-checkpoint-proof'
  | 'certificate-not-below-view'
  | 'certificate-outside-window'
  | 'duplicate-certificate'
  | 'wrong-view'
  | 'new-view-mismatch'
  | 'view-not-reached'
  // a check plugged in from outside (the pbft-view-change lab) gave only prose
  | 'invalid-view-change';

export interface Refusal {
  readonly code: RefusalCode;
  readonly detail: string;
}

export function refuse(code: RefusalCode, detail: string): Refusal {
  return { code, detail };
}

/** The same refusal, its detail saying where in a larger message it was found. */
export function within(where: string, refusal: Refusal): Refusal {
  return { code: refusal.code, detail: `${where}: ${refusal.detail}` };
}
