/**
 * Hostile input that once hurt a node (issue 14, "What was seen"): each test here failed on
 * the code before its fix.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_COUNTER, nestingDepth } from '../../src/core/bounds.js';
import type { ProtocolDefinition } from '../../src/core/definition.js';
import {
  admitEnvelope,
  KeyRing,
  makeSigner,
  parseFrame,
  signEnvelope,
} from '../../src/core/envelope.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import { fastBackend } from '../../src/crypto/backends.js';
import type { Json } from '../../src/crypto/json.js';
import type { Corpus } from '../../src/fuzz/corpus.js';
import { PROTOTYPE_KEYS } from '../../src/fuzz/mutate.js';
import { Target } from '../../src/fuzz/target.js';
import { pbftKit } from '../../src/pbft/kit.js';
import { raftKit } from '../../src/raft/kit.js';
import { knownKits } from '../../src/scenario/kits.js';
import { simulatedSeed } from '../../src/sim/simulation.js';
import { makeReplica, signed } from '../pbft/helpers.js';

const REPLICAS = ['n0', 'n1', 'n2', 'n3'];
const CLIENTS = ['c0', 'c1'];

/** A four-replica cluster of `kit` with the simulator's keys, for one Target. */
function cluster(definition: ProtocolDefinition, factory: Corpus['factory']): Corpus {
  const clusterId = `hostile-${definition.name}`;
  return {
    name: clusterId,
    clusterId,
    replicas: REPLICAS,
    clients: CLIENTS,
    f: 1,
    definition,
    factory,
    seed: (id) => simulatedSeed(clusterId, id),
    frames: [],
  };
}

function keysOf(corpus: Corpus): KeyRing {
  const keys = new Map<string, Uint8Array>();
  for (const id of [...REPLICAS, ...CLIENTS]) keys.set(id, fastBackend.publicKey(corpus.seed(id)));
  return new KeyRing(keys, fastBackend);
}

const kits = knownKits();
const domainOf = (corpus: Corpus) => ({
  cluster: corpus.clusterId,
  protocol: corpus.definition.name,
});

describe('message kinds named after JavaScript object properties', () => {
  it.each(kits.map((k) => [k.name, k] as const))(
    '%s: admission refuses them as unknown kinds instead of throwing',
    (_name, kit) => {
      const corpus = cluster(kit.definition, (id) => kit.replica(id, {}));
      const keys = keysOf(corpus);
      const signer = makeSigner('n1', corpus.seed('n1'), fastBackend);
      for (const kind of PROTOTYPE_KEYS) {
        const envelope = signEnvelope(domainOf(corpus), signer, kind, { view: 0 });
        const admission = admitEnvelope(envelope, 'n1', kit.definition, domainOf(corpus), keys);
        expect(admission.ok).toBe(false);
        if (!admission.ok) expect(admission.reason).toBe('unknown-kind');
      }
    },
  );

  it('a PBFT replica handed one directly rejects it without throwing', () => {
    const { replica, ctx } = makeReplica('r1');
    for (const kind of PROTOTYPE_KEYS) {
      expect(() => replica.onMessage('r0', signed('r0', kind, { view: 0 }))).not.toThrow();
    }
    expect(ctx.effects.filter((e) => e.type === 'send' || e.type === 'broadcast')).toEqual([]);
  });
});

describe('arbitrary JSON never makes admission or a core throw (fast-check)', () => {
  const kinds = fc.oneof(
    fc.constantFrom(...PROTOTYPE_KEYS),
    fc.constantFrom(...kits.flatMap((k) => Object.keys(k.definition.messages))),
    fc.string({ maxLength: 12 }),
  );
  const envelopes = fc.record({
    kind: kinds,
    from: fc.constantFrom('n0', 'n1', 'c0', '__proto__'),
    body: fc.jsonValue({ maxDepth: 4 }),
    sig: fc.oneof(fc.constant('ab'.repeat(64)), fc.string()),
  });

  it.each(kits.map((k) => [k.name, k] as const))('%s: replica and client', (_name, kit) => {
    for (const role of ['replica', 'client'] as const) {
      const corpus = cluster(kit.definition, (id) =>
        role === 'replica' ? kit.replica(id, {}) : kit.client(id, {}),
      );
      const self = role === 'replica' ? 'n0' : 'c0';
      const target = new Target(corpus, self, 1, () => {}, keysOf(corpus));
      let seq = 0;
      fc.assert(
        fc.property(fc.oneof(envelopes, fc.jsonValue({ maxDepth: 5 })), (m) => {
          expect(() =>
            admitEnvelope(m, 'n1', kit.definition, domainOf(corpus), keysOf(corpus)),
          ).not.toThrow();
          seq++;
          const frame = JSON.stringify({ t: 'd', i: 1, s: seq, b: seq, m });
          expect(() => target.runtime.receive('n1', frame)).not.toThrow();
          expect(() => target.runtime.receive('n1', JSON.stringify(m))).not.toThrow();
        }),
        { numRuns: 150, seed: 14 },
      );
    }
  });
});

describe('deeply nested frames', () => {
  it('are refused before JSON.parse, by a scan that ignores brackets in strings', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const parsed = parseFrame(deep, 1 << 20);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toBe('too-deep');
    expect(nestingDepth('{"a":"[[[[[[","b":[{"c":"\\"]]]"}]}')).toBe(3);
    expect(parseFrame(JSON.stringify({ a: '['.repeat(10_000) }), 1 << 20).ok).toBe(true);
  });
});

describe('counters far beyond any real run', () => {
  it('a Raft term of 2^53 − 1 is refused at admission, and the next election still works', () => {
    const corpus = cluster(raftKit.definition, (id) => raftKit.replica(id, {}));
    const delivered: Envelope[] = [];
    const target = new Target(corpus, 'n0', 1, (_from, m) => delivered.push(m), keysOf(corpus));
    const n1 = makeSigner('n1', corpus.seed('n1'), fastBackend);
    const huge = Number.MAX_SAFE_INTEGER;
    const vote = signEnvelope(domainOf(corpus), n1, 'VoteRequest', {
      term: huge,
      logLength: 0,
      lastTerm: 0,
    });
    target.runtime.receive('n1', JSON.stringify({ t: 'd', i: 1, s: 1, b: 1, m: vote }));
    expect(delivered).toEqual([]);
    expect(target.runtime.rejections['bad-shape']).toBe(1);
    // Elections go on (the old code adopted the term and threw here: 2^53 is not signable).
    expect(() => target.tick(60_000)).not.toThrow();
    const ok = signEnvelope(domainOf(corpus), n1, 'VoteRequest', {
      term: MAX_COUNTER,
      logLength: 0,
      lastTerm: 0,
    });
    target.runtime.receive('n1', JSON.stringify({ t: 'd', i: 1, s: 2, b: 2, m: ok }));
    expect(delivered.map((m) => m.kind)).toEqual(['VoteRequest']);
  });

  it('PBFT views and link sequence numbers above MAX_COUNTER are refused too', () => {
    const corpus = cluster(pbftKit.definition, (id) => pbftKit.replica(id, {}));
    const target = new Target(corpus, 'n0', 1, () => {}, keysOf(corpus));
    const n1 = makeSigner('n1', corpus.seed('n1'), fastBackend);
    const vc = signEnvelope(domainOf(corpus), n1, 'CHECKPOINT', {
      seq: MAX_COUNTER + 1,
      stateDigest: '0'.repeat(64),
    } as Json);
    target.runtime.receive('n1', JSON.stringify({ t: 'd', i: 1, s: 1, b: 1, m: vc }));
    target.runtime.receive('n1', JSON.stringify({ t: 'd', i: 1, s: 2 ** 53 - 1, b: 1, m: vc }));
    expect(target.runtime.rejections['bad-shape']).toBe(2);
  });
});
