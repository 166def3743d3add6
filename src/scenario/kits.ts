/** Every protocol the scenario runner knows, by the name a scenario file uses. */

import type { ProtocolKit } from '../core/kit.js';
import { pbftKit } from '../pbft/kit.js';
import { raftKit } from '../raft/kit.js';
import { registerKits } from '../register/kit.js';

const kits: readonly ProtocolKit[] = [...registerKits, raftKit, pbftKit];

export class UnknownNameError extends Error {
  override name = 'UnknownNameError';
}

export function knownKits(): readonly ProtocolKit[] {
  return kits;
}

export function findKit(name: string): ProtocolKit {
  const kit = kits.find((k) => k.name === name);
  if (kit === undefined)
    throw new UnknownNameError(
      `unknown protocol "${name}"; known protocols: ${kits.map((k) => k.name).join(', ')}`,
    );
  return kit;
}
