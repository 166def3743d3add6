/**
 * Signed envelopes: domain separation, signing, verification once per signature, and the
 * admission pipeline every inbound message goes through (DESIGN.md principle 5):
 *
 *   size limit → decode → shape (schema) → sender is the authenticated peer → signature
 *
 * A cluster whose protocol may rely on its authenticated channels (auth 'channel',
 * definition.ts) sends envelopes with an empty `sig`: they stop after "sender is the
 * authenticated peer". An unsigned envelope is refused in a cluster that signs.
 *
 * What is signed is SHA-256(tag ‖ 0x00 ‖ canonical(body)) with
 *   tag = "bftkit/1/<cluster id>/<protocol>/<kind>",
 * so a signature made for one kind of message, protocol or cluster verifies for no other.
 */
import { z } from 'zod';
import { canonical } from '../crypto/canonical.js';
import type { SignatureBackend } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash-node.js';
import { fromHex, toHex } from '../crypto/hex.js';
import type { Json } from '../crypto/json.js';
import { MAX_NESTING, nestingDepth } from './bounds.js';
import { type AuthMode, type ProtocolDefinition, signingProtocol } from './definition.js';
import type { Envelope } from './envelope-types.js';
import { own } from './own.js';
import type { NodeId } from './protocol.js';

export type { Envelope } from './envelope-types.js';

const utf8 = new TextEncoder();

export interface Domain {
  readonly cluster: string;
  readonly protocol: string;
}

export function domainTag(domain: Domain, kind: string): string {
  return `bftkit/1/${domain.cluster}/${domain.protocol}/${kind}`;
}

/** The 32 bytes that get signed: H(tag ‖ 0x00 ‖ canonical(body)). */
export function envelopeDigest(domain: Domain, kind: string, body: Json): Uint8Array {
  const tag = utf8.encode(domainTag(domain, kind));
  const encoded = utf8.encode(canonical(body));
  const input = new Uint8Array(tag.length + 1 + encoded.length);
  input.set(tag, 0);
  input.set(encoded, tag.length + 1);
  return sha256(input);
}

/** A node's signing capability; the seed never leaves it (and never reaches a trace). */
export interface Signer {
  readonly id: NodeId;
  sign(digest: Uint8Array): Uint8Array;
}

export function makeSigner(id: NodeId, secretSeed: Uint8Array, backend: SignatureBackend): Signer {
  const seed = secretSeed.slice();
  return Object.freeze({ id, sign: (digest: Uint8Array) => backend.sign(seed, digest) });
}

export function signEnvelope<K extends string, B extends Json>(
  domain: Domain,
  signer: Signer,
  kind: K,
  body: B,
): Envelope<K, B> {
  const sig = toHex(signer.sign(envelopeDigest(domain, kind, body)));
  return { kind, from: signer.id, body, sig };
}

/** An envelope for auth 'channel': the link's authenticated peer vouches for `from`. */
export function unsignedEnvelope<K extends string, B extends Json>(
  from: NodeId,
  kind: K,
  body: B,
): Envelope<K, B> {
  return { kind, from, body, sig: UNSIGNED };
}

/** The `sig` of an envelope sent under auth 'channel'. */
export const UNSIGNED = '';

/**
 * The public keys of a cluster, with a bounded cache of verdicts keyed by
 * (signer, digest, signature): a certificate seen again inside a later message costs a
 * hash, not a second ed25519 verification.
 */
export class KeyRing {
  /** ed25519 verifications actually performed (cache misses). */
  verifications = 0;
  cacheHits = 0;

  /**
   * `cache` may be shared by key rings over the same keys (the simulator's nodes share one):
   * a verdict is a pure function of signer key, digest and signature.
   */
  constructor(
    private readonly keys: ReadonlyMap<NodeId, Uint8Array>,
    private readonly backend: SignatureBackend,
    private readonly cacheSize = 65_536,
    private readonly cache = new Map<string, boolean>(),
  ) {}

  has(id: NodeId): boolean {
    return this.keys.has(id);
  }

  publicKey(id: NodeId): Uint8Array | undefined {
    return this.keys.get(id);
  }

  verify(domain: Domain, envelope: Envelope): boolean {
    const key = this.keys.get(envelope.from);
    if (key === undefined || typeof envelope.sig !== 'string' || envelope.sig.length !== 128)
      return false;
    let digest: Uint8Array;
    let sig: Uint8Array;
    try {
      digest = envelopeDigest(domain, envelope.kind, envelope.body);
      sig = fromHex(envelope.sig);
    } catch {
      return false;
    }
    const cacheKey = `${envelope.from}|${toHex(digest)}|${envelope.sig}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) {
      this.cacheHits++;
      return cached;
    }
    this.verifications++;
    const verdict = this.backend.verify(key, digest, sig);
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(cacheKey, verdict);
    return verdict;
  }
}

/** Why an inbound message was refused; counted per reason by every host. */
export type RejectReason =
  | 'too-large'
  | 'too-deep'
  | 'malformed'
  | 'bad-shape'
  | 'unknown-kind'
  | 'unknown-sender'
  | 'sender-mismatch'
  | 'bad-signature';

export type Admission =
  | { ok: true; envelope: Envelope }
  | { ok: false; reason: RejectReason; detail: string };

export const envelopeSchema = z
  .object({
    kind: z.string().min(1).max(64),
    from: z.string().min(1).max(64),
    body: z.unknown(),
    /** 64 bytes in hex, or UNSIGNED (auth 'channel'). */
    sig: z.string().regex(/^(?:[0-9a-f]{128})?$/),
  })
  .strict();

/**
 * Admit an envelope that arrived from `peer` over an authenticated link: its shape, its kind
 * and body against the protocol's schemas, its claimed sender against the peer, then its
 * signature — or, unsigned under auth 'channel', the link's authentication alone. Returns a
 * typed rejection instead of throwing.
 */
export function admitEnvelope(
  raw: unknown,
  peer: NodeId,
  definition: ProtocolDefinition,
  domain: Domain,
  keys: KeyRing,
  auth: AuthMode = 'signed',
): Admission {
  const shape = envelopeSchema.safeParse(raw);
  if (!shape.success) return reject('bad-shape', describe(shape.error));
  const { kind, from, sig } = shape.data;
  const schema = own(definition.messages, kind);
  if (schema === undefined)
    return reject('unknown-kind', `no message kind "${kind}" in ${definition.name}`);
  const body = schema.safeParse(shape.data.body);
  if (!body.success) return reject('bad-shape', `${kind}: ${describe(body.error)}`);
  if (!keys.has(from)) return reject('unknown-sender', `no public key for "${from}"`);
  if (from !== peer) return reject('sender-mismatch', `"${from}" arrived from peer "${peer}"`);
  const envelope: Envelope = { kind, from, body: body.data as Json, sig };
  if (sig === UNSIGNED) {
    if (auth !== 'channel') return reject('bad-signature', `${kind} from ${from} is unsigned`);
    admitted.add(envelope);
    return { ok: true, envelope };
  }
  const signedAs = signingProtocol(definition, kind);
  const kindDomain = signedAs === domain.protocol ? domain : { ...domain, protocol: signedAs };
  if (!keys.verify(kindDomain, envelope)) return reject('bad-signature', `${kind} from ${from}`);
  admitted.add(envelope);
  return { ok: true, envelope };
}

/** Envelopes that passed admitEnvelope: their bodies match the definition's schemas. */
const admitted = new WeakSet<Envelope>();

/**
 * Did this very object pass admission? A core that re-checks bodies (defence in depth, for
 * callers that hand it messages directly) may skip the re-check: a PRE-PREPARE's batch is the
 * largest body there is, and checking it twice costs a few µs per request it carries.
 */
export function wasAdmitted(envelope: Envelope): boolean {
  return admitted.has(envelope);
}

/**
 * Parse a frame's text with a size limit and a nesting limit first (bounds.ts), so a huge or
 * deeply nested frame costs one scan of its characters, not a parse.
 */
export function parseFrame(
  frame: string,
  maxBytes: number,
): { ok: true; value: unknown } | { ok: false; reason: RejectReason; detail: string } {
  // A JS string of length L encodes to at most 3L UTF-8 bytes; check cheaply first.
  if (
    frame.length > maxBytes ||
    (frame.length * 3 > maxBytes && utf8.encode(frame).length > maxBytes)
  )
    return reject('too-large', `frame exceeds ${maxBytes} bytes`);
  if (nestingDepth(frame) > MAX_NESTING)
    return reject('too-deep', `frame nests deeper than ${MAX_NESTING} levels`);
  try {
    return { ok: true, value: JSON.parse(frame) };
  } catch {
    return reject('malformed', 'frame is not JSON');
  }
}

function reject(
  reason: RejectReason,
  detail: string,
): { ok: false; reason: RejectReason; detail: string } {
  return { ok: false, reason, detail };
}

export function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  return `${path}: ${issue.message}`;
}
