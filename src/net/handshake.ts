/**
 * The mutually authenticated handshake that opens every connection (src/node/README.md has
 * the message-by-message walk-through). D is the side that dialed, A the side that accepted.
 *
 *   D → A  hello      {cluster, from: D, to: A, key: pk_D, nonce: n_D, share: x_D}
 *   A → D  challenge  {from: A, key: pk_A, nonce: n_A, share: x_A, sig: sign_A(proof('acceptor'))}
 *   D → A  auth       {sig: sign_D(proof('dialer'))}
 *   A → D  welcome    {}
 *
 *   proof(role) = SHA-256("bftkit/1/<cluster>/handshake" ‖ 0x00 ‖
 *                   canonical({role, cluster, dialer: D, acceptor: A, dialerNonce: n_D,
 *                              acceptorNonce: n_A, dialerShare: x_D, acceptorShare: x_A}))
 *
 * Each side signs the other's fresh random nonce, so an old signature is useless (no replay);
 * the role is signed, so a signature cannot be reflected back at its maker; both ids are
 * signed, so it cannot be presented to a third node. Keys come only from the cluster file:
 * the key a peer presents must be the one listed for its id, and its signature must verify
 * under that listed key.
 *
 * x_D and x_A are ephemeral X25519 public keys. Both are signed by both sides, so the MAC keys
 * derived from them (./channel.ts) are shared by D and A and no one else: every frame after
 * the welcome carries a MAC under them, and the authenticated peer is the sender of each.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { canonical } from '../crypto/canonical.js';
import { sha256 } from '../crypto/hash-node.js';
import { toHex } from '../crypto/hex.js';

/** 2: the X25519 shares and the MAC channel after the welcome. */
export const HANDSHAKE_VERSION = 2;
/** Handshake messages are small; anything bigger before authentication is refused. */
export const MAX_HANDSHAKE_BYTES = 4096;

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const hex64 = z.string().regex(/^[0-9a-f]{128}$/);
const id = z.string().min(1).max(64);

export const helloSchema = z
  .object({
    t: z.literal('hello'),
    v: z.literal(HANDSHAKE_VERSION),
    cluster: z.string().min(1).max(64),
    from: id,
    to: id,
    key: hex32,
    nonce: hex32,
    share: hex32,
  })
  .strict();
export const challengeSchema = z
  .object({
    t: z.literal('challenge'),
    from: id,
    key: hex32,
    nonce: hex32,
    share: hex32,
    sig: hex64,
  })
  .strict();
export const authSchema = z.object({ t: z.literal('auth'), sig: hex64 }).strict();
export const welcomeSchema = z.object({ t: z.literal('welcome') }).strict();

export type Hello = z.infer<typeof helloSchema>;
export type Challenge = z.infer<typeof challengeSchema>;
export type Auth = z.infer<typeof authSchema>;

/** Why a handshake was refused; counted per reason and logged. */
export type RefusalReason =
  | 'malformed'
  | 'too-large'
  | 'wrong-version'
  | 'wrong-cluster'
  | 'wrong-target'
  | 'unknown-peer'
  | 'key-mismatch'
  | 'bad-signature'
  | 'wrong-direction'
  | 'wrong-peer'
  | 'bad-share'
  | 'timeout'
  | 'too-many-pending'
  | 'banned'
  | 'closed';

export interface ProofInput {
  role: 'dialer' | 'acceptor';
  cluster: string;
  dialer: string;
  acceptor: string;
  dialerNonce: string;
  acceptorNonce: string;
  dialerShare: string;
  acceptorShare: string;
}

const utf8 = new TextEncoder();

export function handshakeTag(cluster: string): string {
  return `bftkit/1/${cluster}/handshake`;
}

/** The 32 bytes a side signs to prove it holds its key in this handshake. */
export function proofDigest(input: ProofInput): Uint8Array {
  const tag = utf8.encode(handshakeTag(input.cluster));
  const body = utf8.encode(
    canonical({
      role: input.role,
      cluster: input.cluster,
      dialer: input.dialer,
      acceptor: input.acceptor,
      dialerNonce: input.dialerNonce,
      acceptorNonce: input.acceptorNonce,
      dialerShare: input.dialerShare,
      acceptorShare: input.acceptorShare,
    }),
  );
  const bytes = new Uint8Array(tag.length + 1 + body.length);
  bytes.set(tag, 0);
  bytes.set(body, tag.length + 1);
  return sha256(bytes);
}

export function freshNonce(): string {
  return toHex(new Uint8Array(randomBytes(32)));
}

/** Parse one handshake message; null if it is not valid JSON of the expected shape. */
export function parseHandshake<T>(text: string, schema: z.ZodType<T>): T | null {
  if (text.length > MAX_HANDSHAKE_BYTES) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}
