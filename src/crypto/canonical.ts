/**
 * Canonical encoding: the one deterministic byte form of everything bftkit hashes or signs.
 *
 * It is JSON text with the rules of RFC 8785 (JCS) restricted to what bftkit sends:
 *   - objects: members sorted by key (UTF-16 code units, as JCS), no whitespace;
 *   - strings: JSON string escaping as ECMAScript's JSON.stringify (JCS §3.2.2.2);
 *   - numbers: safe integers only (−2^53+1 … 2^53−1) — no floats, so no float formatting;
 *   - true, false, null, arrays as usual;
 *   - anything else (undefined, NaN, non-integers, bigint, byte arrays, class instances,
 *     cycles) is refused: bytes travel as lowercase hex strings.
 * Being JSON, it is readable in traces and reproducible in any language.
 */
import type { Json } from './json.js';

export class EncodingError extends Error {
  override name = 'EncodingError';
}

export function canonical(value: Json): string {
  return encode(value, 0);
}

const MAX_DEPTH = 64;

// Every signed message repeats the same few member names; their encoded form `"name":` is
// remembered (bounded, and never evicting, so odd keys from a peer cannot churn it).
const encodedKeys = new Map<string, string>();
const ENCODED_KEYS_LIMIT = 4096;
const CACHED_KEY_LENGTH = 64;

function encodedKey(key: string): string {
  let encoded = encodedKeys.get(key);
  if (encoded === undefined) {
    encoded = `${JSON.stringify(key)}:`;
    if (encodedKeys.size < ENCODED_KEYS_LIMIT && key.length <= CACHED_KEY_LENGTH)
      encodedKeys.set(key, encoded);
  }
  return encoded;
}

// Ordered by how often each type occurs in protocol messages: this runs over every byte signed.
function encode(value: unknown, depth: number): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new EncodingError(`not a safe integer: ${value}`);
    return value === 0 ? '0' : String(value); // -0 is 0
  }
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value !== 'object') throw new EncodingError(`cannot encode a ${typeof value}`);
  if (depth > MAX_DEPTH) throw new EncodingError('nesting deeper than 64 levels');
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = `[${encode(value[0], depth + 1)}`;
    for (let i = 1; i < value.length; i++) out += `,${encode(value[i], depth + 1)}`;
    return `${out}]`;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null)
    throw new EncodingError('only plain objects can be encoded');
  return encodeObject(value as Record<string, unknown>, depth);
}

function encodeObject(object: Record<string, unknown>, depth: number): string {
  const keys = Object.keys(object);
  // Sorted by UTF-16 code units (JCS); most objects arrive sorted or nearly so.
  if (!isSorted(keys)) keys.sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const v = object[key];
    if (v === undefined) throw new EncodingError(`member "${key}" is undefined`);
    if (i > 0) out += ',';
    out += encodedKey(key) + encode(v, depth + 1);
  }
  return `${out}}`;
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++)
    if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  return true;
}

const utf8 = new TextEncoder();

export function canonicalBytes(value: Json): Uint8Array {
  return utf8.encode(canonical(value));
}
