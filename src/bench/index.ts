/** The benchmarks `npm run bench` knows, by name. */
import { benchCrypto } from './crypto.js';
import { benchSimulator } from './sim.js';
import { benchStartup } from './startup.js';

export const benchmarks: Record<string, () => Promise<void>> = {
  crypto: benchCrypto,
  sim: benchSimulator,
  startup: benchStartup,
};
