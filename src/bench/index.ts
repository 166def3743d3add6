/** The benchmarks `npm run bench` knows, by name. */
import { benchCrypto } from './crypto.js';
import { benchSimulator } from './sim.js';

export const benchmarks: Record<string, () => Promise<void>> = {
  crypto: benchCrypto,
  sim: benchSimulator,
};
