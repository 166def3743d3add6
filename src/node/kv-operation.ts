import { InputError } from '../core/errors.js';
import { type KvCommand, kvCommandSchema } from '../smr/kv.js';

/** FROM of `cas` meaning "the key is absent". */
export const ABSENT = '-';

/** Parse `put KEY VALUE | get KEY | cas KEY FROM TO` into a KV command; InputError if bad. */
export function parseOperation(op: string, args: readonly string[]): KvCommand {
  const want = { put: 2, get: 1, cas: 3 }[op];
  if (want === undefined)
    throw new InputError(`unknown operation "${op}" (expected put, get or cas)`);
  if (args.length !== want) {
    const usage = { put: 'put KEY VALUE', get: 'get KEY', cas: 'cas KEY FROM TO' }[op];
    throw new InputError(`${op} takes ${want} argument(s): ${usage}`);
  }
  const [key, a, b] = args as [string, string, string];
  const raw =
    op === 'put'
      ? { op, key, value: a }
      : op === 'get'
        ? { op, key }
        : { op, key, from: a === ABSENT ? null : a, to: b };
  const parsed = kvCommandSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      `${op}: ${issue?.path.map(String).join('.') || 'arguments'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
