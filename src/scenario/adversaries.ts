/** Every adversary a scenario can name, with the protocols each applies to. */
import type { AdversaryDefinition } from '../adversary/api.js';
import { pbftAdversaries } from '../adversary/pbft.js';
import { registerAdversaries } from '../adversary/register.js';
import { sleeper } from '../adversary/sleeper.js';
import { UnknownNameError } from './kits.js';

// biome-ignore lint/suspicious/noExplicitAny: each adversary has its own parameter type
const adversaries: readonly AdversaryDefinition<any>[] = [
  ...registerAdversaries,
  sleeper,
  ...pbftAdversaries,
];

// biome-ignore lint/suspicious/noExplicitAny: see above
export function findAdversary(name: string, protocol: string): AdversaryDefinition<any> {
  const usable = adversaries.filter((a) => a.protocols.includes(protocol));
  const adversary = usable.find((a) => a.name === name);
  if (adversary === undefined)
    throw new UnknownNameError(
      `unknown adversary "${name}" for protocol ${protocol}; known adversaries: ${usable.map((a) => a.name).join(', ') || '(none)'}`,
    );
  return adversary;
}
