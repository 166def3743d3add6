import { InputError } from '../core/errors.js';
import type { Params } from '../core/kit.js';
import type { Json } from '../crypto/json.js';

/** `--params JSON`: a protocol's parameters, a JSON object (checked by the kit later). */
export function parseParams(text: string | undefined): Params {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(`--params: not valid JSON: ${text}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InputError('--params: expected a JSON object');
  return value as Record<string, Json>;
}
