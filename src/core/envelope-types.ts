import type { Json } from '../crypto/json.js';
import type { NodeId } from './protocol.js';

/**
 * A message. `sig` is an ed25519 signature by `from` over
 * SHA-256(tag ‖ 0x00 ‖ canonical(body)) with tag = bftkit/1/<cluster>/<protocol>/<kind>
 * (see src/core/envelope.ts). It is kept whole by protocols that need transferable proof.
 * Under auth 'channel' (Raft's default) it is empty: the authenticated link vouches for `from`.
 */
export interface Envelope<K extends string = string, B = Json> {
  readonly kind: K;
  readonly from: NodeId;
  readonly body: B;
  /** 64-byte signature, lowercase hex; '' when the channel authenticates it. */
  readonly sig: string;
}
