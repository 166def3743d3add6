/**
 * Transferable evidence of misbehaviour (DESIGN.md "Replay and equivocation"): two messages
 * signed by one replica that no correct replica would both sign — two different proposals or
 * votes for one slot, two different VIEW-CHANGEs for one view, two different checkpoints for
 * one sequence number. Anyone holding the public keys can check it with `checkEvidence`.
 */
import type { Envelope } from '../core/envelope-types.js';
import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import { canonicalJson } from './digest.js';
import { pbftMessages, SLOTTED_KINDS } from './messages.js';

export interface EquivocationEvidence {
  readonly kind: 'equivocation';
  readonly replica: NodeId;
  readonly a: Envelope;
  readonly b: Envelope;
}

export type Evidence = EquivocationEvidence;

function field(body: Json, name: string): Json | undefined {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? body[name] : undefined;
}

/** The slot a signed message speaks for: (view, seq) for proposals and votes, etc. */
function slotOf(message: Envelope): string | null {
  const b = message.body;
  switch (message.kind) {
    case 'PRE-PREPARE':
    case 'PREPARE':
    case 'COMMIT':
      return `${field(b, 'view')}/${field(b, 'seq')}`;
    case 'CHECKPOINT':
      return `${field(b, 'seq')}`;
    case 'VIEW-CHANGE':
      return `${field(b, 'newView')}`;
    case 'NEW-VIEW':
      return `${field(b, 'view')}`;
    default:
      return null;
  }
}

/**
 * Whether a and b are two different signed statements of one replica for one slot (their
 * signatures are not checked here — see checkEvidence).
 */
export function conflicting(a: Envelope, b: Envelope): boolean {
  if (a.kind !== b.kind || a.from !== b.from || !SLOTTED_KINDS.has(a.kind)) return false;
  const slot = slotOf(a);
  if (slot === null || slot !== slotOf(b)) return false;
  switch (a.kind) {
    case 'PRE-PREPARE':
    case 'PREPARE':
    case 'COMMIT':
      return field(a.body, 'digest') !== field(b.body, 'digest');
    case 'CHECKPOINT':
      return field(a.body, 'stateDigest') !== field(b.body, 'stateDigest');
    default:
      return canonicalJson(a.body) !== canonicalJson(b.body);
  }
}

export function equivocation(a: Envelope, b: Envelope): EquivocationEvidence {
  return { kind: 'equivocation', replica: a.from, a, b };
}

export function evidenceJson(evidence: Evidence): Json {
  return evidence as unknown as Json;
}

function isEnvelope(value: unknown): value is Envelope {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.kind === 'string' &&
    typeof v.from === 'string' &&
    typeof v.sig === 'string' &&
    'body' in v
  );
}

/**
 * Checks a piece of evidence with nothing but a signature check (the public keys): both
 * messages are well formed, both are validly signed by the accused replica, and they conflict.
 */
export function checkEvidence(evidence: unknown, verify: (message: Envelope) => boolean): boolean {
  if (evidence === null || typeof evidence !== 'object') return false;
  const e = evidence as Record<string, unknown>;
  if (e.kind !== 'equivocation' || typeof e.replica !== 'string') return false;
  const { a, b } = e;
  if (!isEnvelope(a) || !isEnvelope(b)) return false;
  if (a.from !== e.replica || b.from !== e.replica || a.kind !== b.kind) return false;
  const schema = (pbftMessages as Record<string, (typeof pbftMessages)[keyof typeof pbftMessages]>)[
    a.kind
  ];
  if (schema === undefined) return false;
  if (!schema.safeParse(a.body).success || !schema.safeParse(b.body).success) return false;
  return conflicting(a, b) && verify(a) && verify(b);
}
