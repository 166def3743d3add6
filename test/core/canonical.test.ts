import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonical, EncodingError } from '../../src/crypto/canonical.js';
import type { Json } from '../../src/crypto/json.js';

const jsonArb: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.string({ unit: 'grapheme' }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Rebuild an object with its keys inserted in reverse order. */
function reorder(value: Json): Json {
  if (Array.isArray(value)) return value.map(reorder);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const key of Object.keys(value).reverse()) out[key] = reorder(value[key]!);
    return out;
  }
  return value;
}

describe('canonical encoding', () => {
  it('sorts keys, drops whitespace, and is plain JSON', () => {
    expect(canonical({ b: 1, a: [true, null, 'x'], c: { z: 0, y: -5 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"c":{"y":-5,"z":0}}',
    );
    expect(canonical('é\u0000"')).toBe('"é\\u0000\\""');
  });

  it('is independent of key insertion order and round-trips through JSON.parse', () => {
    fc.assert(
      fc.property(jsonArb, (value) => {
        const text = canonical(value);
        expect(canonical(reorder(value))).toBe(text);
        expect(canonical(JSON.parse(text))).toBe(text);
      }),
    );
  });

  it('refuses what has no single encoding', () => {
    for (const bad of [
      1.5,
      Number.NaN,
      2 ** 53,
      undefined,
      () => 0,
      new Uint8Array(2),
      new Date(0),
      10n,
    ]) {
      expect(() => canonical(bad as unknown as Json)).toThrow(EncodingError);
    }
    expect(() => canonical({ a: undefined } as unknown as Json)).toThrow(/"a" is undefined/);
    expect(canonical(-0)).toBe('0');
  });
});
