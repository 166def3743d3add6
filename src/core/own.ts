/**
 * `record[key]` when `key` is the record's own property, else undefined. A key that arrives
 * from outside ("constructor", "toString", "__proto__" are valid message kinds to an
 * attacker) must never find a property every object inherits (DESIGN.md, untrusted keys).
 */
export function own<T>(
  record: Readonly<Record<string, T>> | undefined,
  key: string,
): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
