/**
 * What a cluster file asks a node to run: the kit of its protocol (or PBFT over the signed
 * ledger for `app: "ledger"`) and an adversary by name. The host receives both already chosen
 * (HostOptions.kit, .adversary): it knows no protocol and no application.
 */
import type { AdversaryDefinition } from '../adversary/api.js';
import type { ClusterFile, ClusterProtocol } from '../core/cluster-file.js';
import { InputError } from '../core/errors.js';
import type { HostedKit, ProtocolKit } from '../core/kit.js';
import { ledgerKit } from '../ledger/kit.js';
import { findAdversary } from '../scenario/adversaries.js';
import { findKit, knownKits, UnknownNameError } from '../scenario/kits.js';

/** Which kit hosts each protocol a cluster file can name. */
export const KIT_FOR_PROTOCOL: Readonly<Record<ClusterProtocol, string>> = {
  raft: 'raft',
  pbft: 'pbft',
  register: 'byz-register',
};

export function kitForProtocol(protocol: ClusterProtocol): ProtocolKit {
  const name = KIT_FOR_PROTOCOL[protocol];
  try {
    return findKit(name);
  } catch (e) {
    if (e instanceof UnknownNameError)
      throw new InputError(
        `protocol "${protocol}" needs the "${name}" kit, which is not available yet (known kits: ${
          knownKits()
            .map((k) => k.name)
            .join(', ') || 'none'
        })`,
      );
    throw e;
  }
}

/**
 * The kit a cluster file's nodes run: its protocol's, or for `app: "ledger"` PBFT over the
 * ledger, whose keys (replicas' and accounts') come from the file.
 */
export function kitForCluster(file: ClusterFile): HostedKit {
  if (file.app === 'ledger') return ledgerKit(file);
  return kitForProtocol(file.protocol);
}

export function adversaryFor(name: string, kit: HostedKit): AdversaryDefinition {
  try {
    return findAdversary(name, kit.name);
  } catch (e) {
    if (e instanceof UnknownNameError) throw new InputError(e.message);
    throw e;
  }
}
