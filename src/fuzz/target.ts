/**
 * One node under fuzzing: the real NodeRuntime (links, admission, the protocol core) over an
 * in-memory host with a virtual clock. It records what reached the core, so the fuzzer can
 * tell a frame that was wrongly accepted from one that was rightly so.
 */
import { makeClusterView } from '../core/cluster-view.js';
import { KeyRing, makeSigner } from '../core/envelope.js';
import type { Envelope } from '../core/envelope-types.js';
import type { NodeId } from '../core/protocol.js';
import { fastBackend } from '../crypto/backends.js';
import type { Json } from '../crypto/json.js';
import { NodeRuntime } from '../runtime/runtime.js';
import type { Corpus } from './corpus.js';

export class Target {
  readonly runtime: NodeRuntime;
  now = 0;
  private readonly timers = new Map<string, number>();
  private readonly store = new Map<string, Json>();

  constructor(
    readonly corpus: Corpus,
    readonly self: NodeId,
    incarnation: number,
    /** Called with every message the core receives from another node. */
    onDeliver: (from: NodeId, message: Envelope) => void,
    keys: KeyRing,
  ) {
    const cluster = makeClusterView({
      id: corpus.clusterId,
      protocol: corpus.definition.name,
      model: corpus.definition.model,
      replicas: [...corpus.replicas],
      clients: [...corpus.clients],
      f: corpus.f,
      unsafe: true,
    });
    const factory = corpus.factory(self);
    this.runtime = new NodeRuntime(
      {
        self,
        cluster,
        definition: corpus.definition,
        keys,
        signer: makeSigner(self, corpus.seed(self), fastBackend),
        incarnation,
        // The corpus is signed (corpus.ts): every forgery must fail its signature check.
        auth: 'signed',
      },
      {
        now: () => this.now,
        random: () => 0.5,
        transmit: () => {},
        setTimer: (key, delay) => this.timers.set(key, this.now + Math.max(0, delay)),
        cancelTimer: (key) => this.timers.delete(key),
        persist: (writes) => {
          for (const [k, v] of writes) {
            if (v === null) this.store.delete(k);
            else this.store.set(k, v);
          }
        },
        output: () => {},
        trace: () => {},
      },
      (ctx) => {
        const core = factory(ctx);
        const onMessage = core.onMessage.bind(core);
        core.onMessage = (from, message) => {
          if (from !== self) onDeliver(from, message);
          onMessage(from, message);
        };
        return core;
      },
    );
    this.runtime.start(null);
  }

  /** Advance the clock by `ms` and fire the timers that came due, earliest first. */
  tick(ms: number): void {
    this.now += ms;
    for (;;) {
      let next: [string, number] | null = null;
      for (const entry of this.timers)
        if (entry[1] <= this.now && (!next || entry[1] < next[1])) next = entry;
      if (next === null) return;
      this.timers.delete(next[0]);
      this.runtime.fireTimer(next[0]);
    }
  }
}

/** The key ring of a corpus's cluster (every replica and client). */
export function corpusKeys(corpus: Corpus): KeyRing {
  const keys = new Map<NodeId, Uint8Array>();
  for (const id of [...corpus.replicas, ...corpus.clients])
    keys.set(id, fastBackend.publicKey(corpus.seed(id)));
  return new KeyRing(keys, fastBackend);
}
