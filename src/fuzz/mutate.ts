/**
 * Mutations of a real frame, as a Byzantine peer or a broken network would make them. Each
 * returns the frame's new text; tree mutations may also be re-signed by the sender (validly
 * signed junk), text mutations never can.
 */
import type { Rng } from '../core/rng.js';

export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'prototype',
  '__defineGetter__',
] as const;

export const OPERATORS = [
  'bit-flip',
  'truncate',
  'type-confusion',
  'prototype-key',
  'huge-number',
  'deep-nesting',
  'giant-array',
  'invalid-utf8',
  'duplicate-key',
  'swap-kind',
  'drop-field',
] as const;
export type Operator = (typeof OPERATORS)[number];

const HUGE = [
  2 ** 53 - 1,
  2 ** 53,
  2 ** 52 + 1,
  1e308,
  -1,
  -(2 ** 53),
  1.5,
  -0,
  2 ** 32,
  2 ** 40,
  1e-7,
];
const CONFUSED: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  '',
  'x',
  [],
  {},
  1.5,
  '0x10',
  [[]],
  { a: 1 },
];
const HOLE = '\u0000FUZZ\u0000';
const HOLE_JSON = JSON.stringify(HOLE);

type Path = (string | number)[];

/** Every path into `value` (objects and arrays included), at most `limit` of them. */
function paths(value: unknown, limit = 2_000): Path[] {
  const out: Path[] = [];
  const walk = (v: unknown, path: Path) => {
    if (out.length >= limit) return;
    out.push(path);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], [...path, i]);
    } else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(value, []);
  return out;
}

function get(root: unknown, path: Path): unknown {
  let v = root;
  for (const p of path) v = (v as Record<string | number, unknown>)[p];
  return v;
}

/** Replace the value at `path` (the root itself when the path is empty). */
function set(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = get(root, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1] as string | number] = value;
  return root;
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(0, items.length - 1)] as T;
}

/** Put `raw` (any text, valid JSON or not) where `path` points, and serialize. */
function splice(root: unknown, path: Path, raw: string): string {
  return JSON.stringify(set(root, path, HOLE)).replace(HOLE_JSON, () => raw);
}

export interface Mutant {
  op: Operator;
  /** The mutated frame as a value, when it is still JSON (re-signable); else null. */
  tree: unknown;
  /** Its text, when the mutation works on text (tree is then null). */
  text: string | null;
}

/** Where a mutation applies: the frame, its text, and a path into it picked at random. */
interface Site {
  rng: Rng;
  frame: unknown;
  text: string;
  kinds: readonly string[];
  /** Every path into the frame, and one of them. */
  all: Path[];
  path: Path;
}

function bitFlip({ rng, text }: Site): Mutant {
  const op = 'bit-flip';
  const t = text.length === 0 ? ' ' : text;
  const i = rng.int(0, t.length - 1);
  const flipped = String.fromCharCode(t.charCodeAt(i) ^ (1 << rng.int(0, 7)));
  return { op, tree: null, text: t.slice(0, i) + flipped + t.slice(i + 1) };
}

function truncate({ rng, text }: Site): Mutant {
  const op = 'truncate';
  return { op, tree: null, text: text.slice(0, rng.int(0, Math.max(0, text.length - 1))) };
}

function typeConfusion({ rng, frame, path }: Site): Mutant {
  const op = 'type-confusion';
  return { op, tree: set(frame, path, structuredClone(pick(rng, CONFUSED))), text: null };
}

function prototypeKey({ rng, frame, all }: Site): Mutant {
  const op = 'prototype-key';
  const key = pick(rng, PROTOTYPE_KEYS);
  const m = (frame as { m?: unknown }).m;
  if (rng.chance(0.5) && m !== null && typeof m === 'object' && !Array.isArray(m)) {
    (m as Record<string, unknown>).kind = key;
    return { op, tree: frame, text: null };
  }
  // An own "__proto__" key only survives as text (JSON.parse makes it an own property).
  const objects = all.filter((p) => {
    const v = get(frame, p);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  });
  const target = objects.length > 0 ? pick(rng, objects) : [];
  const value = get(frame, target);
  const inner = JSON.stringify(value);
  const extra = `${JSON.stringify(key)}:${JSON.stringify(pick(rng, CONFUSED))}`;
  const raw = inner === '{}' ? `{${extra}}` : `{${extra},${inner.slice(1)}`;
  return { op, tree: null, text: splice(frame, target, raw) };
}

function hugeNumber({ rng, frame, all, path }: Site): Mutant {
  const op = 'huge-number';
  const numbers = all.filter((p) => typeof get(frame, p) === 'number');
  const target = numbers.length > 0 ? pick(rng, numbers) : path;
  const n = pick(rng, HUGE);
  return { op, tree: set(frame, target, n), text: null };
}

function deepNesting({ rng, frame, path }: Site): Mutant {
  const op = 'deep-nesting';
  const depth = pick(rng, [65, 1_000, 100_000, 400_000]);
  return { op, tree: null, text: splice(frame, path, '['.repeat(depth) + ']'.repeat(depth)) };
}

function giantArray({ rng, frame, path }: Site): Mutant {
  const op = 'giant-array';
  const length = pick(rng, [1_000, 10_000, 60_000]);
  const element = pick(rng, ['0', '"x"', '{}', '[]', 'null']);
  return {
    op,
    tree: null,
    text: splice(frame, path, `[${element}${`,${element}`.repeat(length - 1)}]`),
  };
}

function invalidUtf8({ rng, frame, all, path }: Site): Mutant {
  const op = 'invalid-utf8';
  // The transport decodes bytes as UTF-8, so an invalid sequence arrives as U+FFFD; lone
  // surrogates are what a JS string can carry that UTF-8 cannot.
  const strings = all.filter((p) => typeof get(frame, p) === 'string');
  const target = strings.length > 0 ? pick(rng, strings) : path;
  const s = String(get(frame, target) ?? '');
  const junk = pick(rng, ['\ud800', '\udfff', '\ufffd', '\u0000', '\ud83d']);
  const at = rng.int(0, s.length);
  return { op, tree: set(frame, target, s.slice(0, at) + junk + s.slice(at)), text: null };
}

function duplicateKey({ rng, frame, all }: Site): Mutant {
  const op = 'duplicate-key';
  const objects = all.filter((p) => {
    const v = get(frame, p);
    return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0;
  });
  if (objects.length === 0) return { op, tree: frame, text: null };
  const target = pick(rng, objects);
  const value = get(frame, target) as Record<string, unknown>;
  const key = pick(rng, Object.keys(value));
  const inner = JSON.stringify(value);
  const dup = `${JSON.stringify(key)}:${JSON.stringify(pick(rng, CONFUSED))}`;
  const raw = rng.chance(0.5) ? `{${dup},${inner.slice(1)}` : `${inner.slice(0, -1)},${dup}}`;
  return { op, tree: null, text: splice(frame, target, raw) };
}

function swapKind({ rng, frame, kinds }: Site): Mutant {
  const op = 'swap-kind';
  const m = (frame as { m?: unknown }).m;
  if (m !== null && typeof m === 'object' && !Array.isArray(m) && kinds.length > 0)
    (m as Record<string, unknown>).kind = pick(rng, kinds);
  return { op, tree: frame, text: null };
}

function dropField({ frame, path }: Site): Mutant {
  const op = 'drop-field';
  if (path.length === 0) return { op, tree: {}, text: null };
  const parent = get(frame, path.slice(0, -1));
  const last = path[path.length - 1] as string | number;
  if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete (parent as Record<string | number, unknown>)[last];
  return { op, tree: frame, text: null };
}

const OPERATIONS: Record<Operator, (site: Site) => Mutant> = {
  'bit-flip': bitFlip,
  truncate: truncate,
  'type-confusion': typeConfusion,
  'prototype-key': prototypeKey,
  'huge-number': hugeNumber,
  'deep-nesting': deepNesting,
  'giant-array': giantArray,
  'invalid-utf8': invalidUtf8,
  'duplicate-key': duplicateKey,
  'swap-kind': swapKind,
  'drop-field': dropField,
};

/**
 * Mutate `frame` (a parsed link frame; modified in place). `kinds` are the message kinds the
 * protocol knows, for swapping a message's kind.
 */
export function mutate(rng: Rng, frame: unknown, text: string, kinds: readonly string[]): Mutant {
  const op = pick(rng, OPERATORS);
  const all = paths(frame);
  const path = pick(rng, all);
  return OPERATIONS[op]({ rng, frame, text, kinds, all, path });
}
