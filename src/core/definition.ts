import type { z } from 'zod';
import { own } from './own.js';
import type { FaultModel } from './quorum.js';

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
}

/** The protocol name a kind of message is signed under. */
export function signingProtocol(definition: ProtocolDefinition, kind: string): string {
  return own(definition.domains, kind) ?? definition.name;
}
