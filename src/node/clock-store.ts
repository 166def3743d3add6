import type { ClusterProtocol } from '../core/cluster-file.js';
import type { Recovered } from '../core/protocol.js';
import type { Store } from './storage.js';

/** Where each protocol's client core keeps its request counter (see its start()). */
export const COUNTER_KEY: Partial<Record<ClusterProtocol, string>> = {
  pbft: 'timestamp',
  raft: 'seq',
};

/** A store that remembers nothing, whose counter starts from the clock (no --data; KvClient). */
export class ClockStore implements Store {
  readonly starts = 1;
  readonly incarnation: number;
  readonly recovered: Recovered;

  constructor(protocol: ClusterProtocol) {
    // Microseconds of the wall clock: larger than any earlier invocation's.
    const now = Date.now() * 1000;
    this.incarnation = now;
    const key = COUNTER_KEY[protocol];
    this.recovered = new Map(key === undefined ? [] : [[key, now]]);
  }

  persist(): void {}
  close(): void {}
}
