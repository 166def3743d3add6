import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ProtocolDefinition } from '../../src/core/definition.js';
import {
  admitEnvelope,
  type Domain,
  envelopeDigest,
  KeyRing,
  makeSigner,
  parseFrame,
  signEnvelope,
} from '../../src/core/envelope.js';
import { signatureBackends } from '../../src/crypto/backends.js';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { toHex } from '../../src/crypto/hex.js';

const seeds = { n0: new Uint8Array(32).fill(1), n1: new Uint8Array(32).fill(2) };
const keys = new Map(Object.entries(seeds).map(([id, seed]) => [id, nodeBackend.publicKey(seed)]));
const pbft: Domain = { cluster: 'alpha', protocol: 'pbft' };
const definition: ProtocolDefinition = {
  name: 'pbft',
  model: 'byzantine',
  messages: {
    PREPARE: z
      .object({ view: z.number().int(), seq: z.number().int(), digest: z.string() })
      .strict(),
    COMMIT: z
      .object({ view: z.number().int(), seq: z.number().int(), digest: z.string() })
      .strict(),
  },
};
const body = { view: 0, seq: 1, digest: 'ab' };
const n0 = makeSigner('n0', seeds.n0, nodeBackend);

describe('signed envelopes', () => {
  it('verify in their own domain with every backend', () => {
    const envelope = signEnvelope(pbft, n0, 'PREPARE', body);
    for (const backend of Object.values(signatureBackends)) {
      expect(new KeyRing(keys, backend).verify(pbft, envelope)).toBe(true);
    }
  });

  it('a signature for one kind, protocol or cluster verifies for no other', () => {
    const ring = new KeyRing(keys, nodeBackend);
    const prepare = signEnvelope(pbft, n0, 'PREPARE', body);
    expect(ring.verify(pbft, { ...prepare, kind: 'COMMIT' })).toBe(false);
    expect(ring.verify({ cluster: 'alpha', protocol: 'raft' }, prepare)).toBe(false);
    expect(ring.verify({ cluster: 'beta', protocol: 'pbft' }, prepare)).toBe(false);
    expect(ring.verify(pbft, { ...prepare, body: { ...body, seq: 2 } })).toBe(false);
    expect(ring.verify(pbft, { ...prepare, from: 'n1' })).toBe(false);
    // The digests differ, so no signature can be reused across domains.
    expect(toHex(envelopeDigest(pbft, 'PREPARE', body))).not.toBe(
      toHex(envelopeDigest({ cluster: 'beta', protocol: 'pbft' }, 'PREPARE', body)),
    );
  });

  it('key order in a body does not change the digest (canonical encoding)', () => {
    const a = envelopeDigest(pbft, 'PREPARE', { view: 0, seq: 1, digest: 'ab' });
    const b = envelopeDigest(pbft, 'PREPARE', { digest: 'ab', seq: 1, view: 0 });
    expect(toHex(a)).toBe(toHex(b));
  });

  it('verifies each signature once: a repeat is a cache hit', () => {
    const ring = new KeyRing(keys, nodeBackend);
    const envelope = signEnvelope(pbft, n0, 'PREPARE', body);
    expect(ring.verify(pbft, envelope)).toBe(true);
    expect(ring.verify(pbft, { ...envelope })).toBe(true);
    expect([ring.verifications, ring.cacheHits]).toEqual([1, 1]);
  });
});

describe('admission of inbound frames', () => {
  const ring = new KeyRing(keys, nodeBackend);
  const good = signEnvelope(pbft, n0, 'PREPARE', body);
  const admit = (raw: unknown, peer = 'n0') => admitEnvelope(raw, peer, definition, pbft, ring);

  it('admits a well-formed, correctly signed message from its sender', () => {
    const result = admit(JSON.parse(JSON.stringify(good)));
    expect(result.ok).toBe(true);
  });

  const cases: [string, unknown, string, string?][] = [
    ['not an object', 42, 'bad-shape'],
    ['missing signature', { kind: 'PREPARE', from: 'n0', body }, 'bad-shape'],
    ['signature not hex', { ...good, sig: 'zz'.repeat(64) }, 'bad-shape'],
    ['extra field', { ...good, extra: 1 }, 'bad-shape'],
    ['unknown kind', { ...good, kind: 'HELLO' }, 'unknown-kind'],
    ['body of the wrong shape', { ...good, body: { view: 'x' } }, 'bad-shape'],
    ['body with an extra member', { ...good, body: { ...body, x: 1 } }, 'bad-shape'],
    ['unknown sender', { ...good, from: 'n9' }, 'unknown-sender'],
    ['sender is not the peer', good, 'sender-mismatch', 'n1'],
    ['tampered body', { ...good, body: { ...body, seq: 7 } }, 'bad-signature'],
    [
      'flipped signature bit',
      { ...good, sig: (good.sig[0] === 'a' ? 'b' : 'a') + good.sig.slice(1) },
      'bad-signature',
    ],
  ];
  it.each(cases)('rejects %s with a typed reason', (_name, raw, reason, peer = 'n0') => {
    const result = admit(raw, peer);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe(reason);
  });

  it('checks size before parsing, and rejects text that is not JSON', () => {
    const big = JSON.stringify({ pad: 'x'.repeat(2000) });
    expect(parseFrame(big, 1000)).toMatchObject({ ok: false, reason: 'too-large' });
    // 400 two-byte characters are 800 bytes: under the limit, but not JSON.
    expect(parseFrame('é'.repeat(400), 1000)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseFrame('"' + 'é'.repeat(600) + '"', 1000)).toMatchObject({
      ok: false,
      reason: 'too-large',
    });
    expect(parseFrame('{"a":', 1000)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseFrame('{"a":1}', 1000)).toEqual({ ok: true, value: { a: 1 } });
  });
});
