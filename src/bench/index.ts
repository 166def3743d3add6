/** The benchmarks `npm run bench` knows, by name. */
import { benchCrypto } from './crypto.js';
import { benchPeers } from './peers.js';
import { benchSimulator } from './sim.js';
import { benchRaftSoak } from './soak.js';
import { benchStartup } from './startup.js';

export const benchmarks: Record<string, () => Promise<void>> = {
  crypto: benchCrypto,
  sim: benchSimulator,
  'raft-soak': benchRaftSoak,
  peers: benchPeers,
  startup: benchStartup,
};

/**
 * Long runs, only on request (`npm run bench -- raft-soak`), not in a plain `npm run bench`;
 * `peers` also needs etcd installed.
 */
export const onRequestOnly: ReadonlySet<string> = new Set(['raft-soak', 'peers']);
