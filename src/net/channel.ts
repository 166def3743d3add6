/**
 * The authenticated channel every connection runs after its handshake (./handshake.ts):
 * integrity and authenticity for each frame, so that a message need not be signed for the
 * receiver to know who sent it (DESIGN.md: "sign what must convince a third party;
 * authenticate the rest by the channel").
 *
 *   keys:   each side brings an ephemeral X25519 key pair; its public half (the "share") is
 *           in its hello / challenge and covered by the ed25519 proof it signs, so no one on
 *           the path can substitute a share of its own.
 *           s = X25519(own secret, peer's share)
 *           k_D→A, k_A→D = HKDF-SHA256(ikm = s, salt = SHA-256(transcript),
 *                                      info = "bftkit/1/<cluster>/channel/<direction>")
 *   frame:  payload ‖ HMAC-SHA256(k_direction, counter ‖ payload)   (one binary WebSocket frame)
 *
 * The counter (64 bits, big-endian) counts the frames sent in that direction on this
 * connection and is not on the wire: TCP and WebSocket deliver in order, so both ends know
 * it, and a frame injected, altered, replayed, reordered or dropped by anyone on the path
 * makes a MAC fail. The receiver then closes the connection (the transport counts it); the
 * frame never reaches admission. Fresh keys per connection (fresh nonces and shares) mean a
 * frame recorded on one connection is worthless on any other.
 *
 * Why not TLS 1.3: it would need X.509 certificates bound to the ed25519 identities (made,
 * rotated and checked against the cluster file), a second identity check beside the
 * handshake, and it encrypts, which nothing here needs. The handshake already authenticates
 * both ends with the cluster file's keys; an ephemeral exchange under its signatures adds
 * forward secrecy of the MAC keys for two X25519 operations per connection, and a MAC costs
 * ~3 µs per frame against ~15–40 µs to sign and ~40–70 µs to verify an envelope.
 */
import {
  createHash,
  createHmac,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';
import { canonical } from '../crypto/canonical.js';

/** Bytes of the MAC at the end of every channel frame. */
export const MAC_BYTES = 32;

/** An ephemeral X25519 key pair, one per connection attempt. */
export interface Ephemeral {
  /** Raw public key, lowercase hex (64 characters): the share sent in the handshake. */
  readonly share: string;
  readonly secret: KeyObject;
}

export function freshEphemeral(): Ephemeral {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { share: Buffer.from(jwk.x ?? '', 'base64url').toString('hex'), secret: privateKey };
}

/** Everything both sides agree on once the handshake's proofs have verified. */
export interface ChannelTranscript {
  cluster: string;
  dialer: string;
  acceptor: string;
  dialerNonce: string;
  acceptorNonce: string;
  dialerShare: string;
  acceptorShare: string;
}

/**
 * The channel of one side. Returns null when the peer's share is not a usable X25519 key
 * (malformed, or of small order: the shared secret would be all zeros, known to anyone).
 */
export function openChannel(
  role: 'dialer' | 'acceptor',
  own: Ephemeral,
  transcript: ChannelTranscript,
): Channel | null {
  const peerShare = role === 'dialer' ? transcript.acceptorShare : transcript.dialerShare;
  let secret: Buffer;
  try {
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peerShare, 'hex').toString('base64url') },
      format: 'jwk',
    });
    secret = diffieHellman({ privateKey: own.secret, publicKey });
  } catch {
    return null;
  }
  if (secret.every((b) => b === 0)) return null;
  const salt = createHash('sha256')
    .update(canonical({ ...transcript }))
    .digest();
  const key = (direction: string) =>
    createSecretKey(
      Buffer.from(
        hkdfSync('sha256', secret, salt, `bftkit/1/${transcript.cluster}/channel/${direction}`, 32),
      ),
    );
  const outbound = key('dialer-to-acceptor');
  const inbound = key('acceptor-to-dialer');
  return role === 'dialer' ? new Channel(outbound, inbound) : new Channel(inbound, outbound);
}

/** MACs what one side sends and checks what it receives, each with its own counter. */
export class Channel {
  private sent = 0;
  private received = 0;

  constructor(
    private readonly sendKey: KeyObject,
    private readonly receiveKey: KeyObject,
  ) {}

  /** The frame to send for `text`: its UTF-8 bytes, then their MAC under the next counter. */
  seal(text: string): Buffer {
    const payload = Buffer.from(text, 'utf8');
    const frame = Buffer.allocUnsafe(payload.length + MAC_BYTES);
    payload.copy(frame, 0);
    mac(this.sendKey, this.sent++, payload).copy(frame, payload.length);
    return frame;
  }

  /** The text of a received frame, or null if its MAC is not the next one expected. */
  open(frame: Buffer): string | null {
    if (frame.length < MAC_BYTES) return null;
    const payload = frame.subarray(0, frame.length - MAC_BYTES);
    const expected = mac(this.receiveKey, this.received, payload);
    if (!timingSafeEqual(expected, frame.subarray(frame.length - MAC_BYTES))) return null;
    this.received++;
    return payload.toString('utf8');
  }
}

function mac(key: KeyObject, counter: number, payload: Buffer): Buffer {
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  prefix.writeUInt32BE(counter >>> 0, 4);
  return createHmac('sha256', key).update(prefix).update(payload).digest();
}
