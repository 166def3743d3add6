import type { z } from 'zod';
import { own } from './own.js';
import { ConfigError, type FaultModel } from './quorum.js';

/**
 * What a host needs to know of a protocol to admit its messages: the name that goes into
 * every signature's domain tag, its fault model, and a schema for the body of every message
 * kind it accepts (replica and client messages alike). A frame whose kind is not listed here,
 * or whose body does not match, never reaches the protocol.
 */
export interface ProtocolDefinition {
  readonly name: string;
  readonly model: FaultModel;
  readonly messages: Readonly<Record<string, z.ZodType>>;
  /**
   * Kinds signed under another protocol's name than `name` (kind → protocol). The ledger's
   * BLOCK votes travel in PBFT but are signed as "bftkit/1/<cluster>/ledger/BLOCK", so that a
   * vote on the wire is, byte for byte, an entry of a block's certificate.
   */
  readonly domains?: Readonly<Record<string, string>>;
  /**
   * True when no message of the protocol is ever forwarded as proof to a third node, so that
   * the authenticated channel may vouch for its sender instead of a signature (DESIGN.md:
   * "sign what must convince a third party; authenticate the rest by the channel"). Such a
   * protocol runs with `auth: 'channel'` unless configured otherwise. Raft only: PBFT's
   * votes, the register's values and the ledger's certificates must convince third parties.
   */
  readonly channelAuth?: boolean;
}

/**
 * How the messages of a cluster are authenticated. 'signed': every envelope carries an
 * ed25519 signature, checked on admission. 'channel': envelopes go unsigned and are admitted
 * because they arrive from the link's authenticated peer (src/net/channel.ts; the simulator's
 * network knows the true sender) — after the same size, depth and schema checks.
 */
export type AuthMode = 'signed' | 'channel';

/** The auth mode a protocol runs with: the one asked for, else its default; never unsafe. */
export function resolveAuth(definition: ProtocolDefinition, requested?: AuthMode): AuthMode {
  const mode = requested ?? (definition.channelAuth === true ? 'channel' : 'signed');
  if (mode === 'channel' && definition.channelAuth !== true)
    throw new ConfigError(
      `auth 'channel' is refused for ${definition.name}: its messages must convince third ` +
        `parties (certificates, evidence), so every one is signed`,
    );
  return mode;
}

/** The protocol name a kind of message is signed under. */
export function signingProtocol(definition: ProtocolDefinition, kind: string): string {
  return own(definition.domains, kind) ?? definition.name;
}
