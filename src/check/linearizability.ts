/**
 * Linearizability checker for key-value histories (get / put / compare-and-swap), in the style
 * of Wing & Gong with Lowe's memoization (the "WGL" algorithm used by Knossos and Porcupine).
 *
 * Every operation touches one key, and linearizability is compositional (Herlihy & Wing), so
 * the history is split by key and each key is checked on its own as a single register with
 * get, put and cas. Per key the checker searches for a linearization: it walks the history's
 * call/return events in time order, tentatively linearizes pending calls whose result the
 * sequential model admits, and backtracks when it reaches the return of an operation it has
 * not linearized yet. Configurations (set of linearized operations, register value) already
 * explored are cached, so each is expanded at most once. See src/check/README.md.
 */

import type { HistoryEntry, Violation } from '../core/kit.js';
import type { Json } from '../crypto/json.js';
import { type KvCommand, type KvResult, kvCommandSchema, kvResultSchema } from '../smr/kv.js';
import { ms } from './format.js';

const CHECKER = 'linearizability';

/** Default bound on search steps per key; exceeding it makes the check inconclusive. */
export const DEFAULT_MAX_STEPS = 5_000_000;

/** Most operations listed in one violation's evidence. */
const EVIDENCE_OPS = 8;

export interface LinearizabilityOptions {
  /** Bound on search steps per key (default DEFAULT_MAX_STEPS). */
  maxSteps?: number;
}

/** A well-formed history entry with its parsed command and result. */
interface RawOp {
  entry: HistoryEntry;
  command: KvCommand;
  /** null: the client never heard back; the op may take effect at any time or never. */
  result: KvResult | null;
}

/** One operation of one key, with the register values it mentions interned as small ints. */
interface KeyOp extends RawOp {
  /** get: -; put: value; cas: from. */
  a: number;
  /** cas: to. */
  b: number;
  /** Result value (completed ops only). */
  r: number;
  /** Completed get or failed cas: wherever it is admitted it leaves the value unchanged. */
  readOnly: boolean;
}

/** Interned register value meaning "absent" (null); other values are 1, 2, … */
const ABSENT = 0;
/** step(): the model does not admit this operation (with this result) in this state. */
const IMPOSSIBLE = -1;

/**
 * The sequential key-value specification, restricted to one key: the state after applying
 * `op` in `state`, or IMPOSSIBLE if the op's recorded result is not what it would return.
 */
function step(op: KeyOp, state: number): number {
  const { command, result } = op;
  switch (command.op) {
    case 'get':
      // Incomplete gets are dropped before the search; a completed one must see `state`.
      return result?.ok && op.r === state ? state : IMPOSSIBLE;
    case 'put':
      // A put returns the value it wrote ({ok: true, value}); any other answer is a reply
      // that no execution of this put can give, whatever the order.
      if (result === null) return op.a;
      return result.ok && op.r === op.a ? op.a : IMPOSSIBLE;
    case 'cas':
      if (result === null) return state === op.a ? op.b : state;
      if (result.ok) return state === op.a && op.r === op.b ? op.b : IMPOSSIBLE;
      return state !== op.a && op.r === state ? state : IMPOSSIBLE;
  }
}

/** The deepest dead end of the search: what a violation reports. */
interface Failure {
  /** Length of the linearized prefix. */
  depth: number;
  /** The op whose return was reached before it could be linearized. */
  blocked: number;
  /** The last few ops of the linearized prefix. */
  order: number[];
  /** Register value after the prefix. */
  state: number;
  /** Unlinearized ops invoked before the blocked op's return (including it). */
  pending: number[];
}

/** A call or return event in the doubly linked event list of the WGL search. */
interface Node {
  op: number;
  call: boolean;
  /** The call's return (null for returns and for calls of incomplete ops). */
  match: Node | null;
  prev: Node | null;
  next: Node | null;
}

function entryEvidence(e: HistoryEntry): Json {
  return {
    client: e.client,
    index: e.index,
    op: e.op,
    result: e.result,
    invokedAt: e.invokedAt,
    respondedAt: e.respondedAt,
  };
}

function formatOp(e: HistoryEntry, command: KvCommand): string {
  const args =
    command.op === 'get'
      ? ''
      : command.op === 'put'
        ? JSON.stringify(command.value)
        : `${JSON.stringify(command.from)} → ${JSON.stringify(command.to)}`;
  const res = e.result === null ? '?' : JSON.stringify(e.result);
  const until = e.respondedAt === null ? '…' : ms(e.respondedAt);
  return `${e.client}#${e.index} ${command.op}(${args}) = ${res} [${ms(e.invokedAt)}, ${until}]`;
}

function isIncomplete(e: HistoryEntry): boolean {
  return e.result === null || e.respondedAt === null;
}

/**
 * Check a key-value history for linearizability. Returns one violation per key that has no
 * linearization (or whose search ran out of budget), plus one per malformed entry.
 */
export function checkLinearizability(
  history: readonly HistoryEntry[],
  options: LinearizabilityOptions = {},
): Violation[] {
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const violations: Violation[] = [];
  const byKey = new Map<string, RawOp[]>();

  for (const entry of history) {
    const command = kvCommandSchema.safeParse(entry.op);
    if (!command.success) {
      violations.push({
        checker: CHECKER,
        message: `malformed history entry ${entry.client}#${entry.index}: op is not a KV command`,
        evidence: entryEvidence(entry),
      });
      continue;
    }
    let result: KvResult | null = null;
    if (!isIncomplete(entry)) {
      const parsed = kvResultSchema.safeParse(entry.result);
      if (!parsed.success || (entry.respondedAt as number) < entry.invokedAt) {
        violations.push({
          checker: CHECKER,
          message: `malformed history entry ${entry.client}#${entry.index}: ${
            parsed.success ? 'responded before invoked' : 'result is not a KV result'
          }`,
          evidence: entryEvidence(entry),
        });
        continue;
      }
      result = parsed.data;
    }
    const key = command.data.key;
    let list = byKey.get(key);
    if (list === undefined) {
      list = [];
      byKey.set(key, list);
    }
    list.push({ entry, command: command.data, result });
  }

  for (const [key, ops] of byKey) {
    const violation = checkKey(key, ops, maxSteps);
    if (violation !== null) violations.push(violation);
  }
  return violations;
}

/** One key's ops with their values interned as small integers (ABSENT = 0), sorted by call. */
function internOps(raw: readonly RawOp[]): {
  ops: KeyOp[];
  valueAt: (state: number) => string | null;
} {
  // An incomplete get has no effect and no result to explain: it constrains nothing.
  const kept = raw
    .filter((o) => !(o.result === null && o.command.op === 'get'))
    .sort((x, y) => x.entry.invokedAt - y.entry.invokedAt);
  const values = new Map<string, number>();
  const intern = (v: string | null): number => {
    if (v === null) return ABSENT;
    let id = values.get(v);
    if (id === undefined) {
      id = values.size + 1;
      values.set(v, id);
    }
    return id;
  };
  const ops: KeyOp[] = kept.map(({ entry, command, result }) => {
    const a =
      command.op === 'put'
        ? intern(command.value)
        : command.op === 'cas'
          ? intern(command.from)
          : 0;
    const b = command.op === 'cas' ? intern(command.to) : 0;
    const r = result === null ? 0 : intern(result.value);
    const readOnly = result !== null && (command.op === 'get' || !result.ok);
    return { entry, command, result, a, b, r, readOnly };
  });
  const names: (string | null)[] = [null];
  for (const [v, id] of values) names[id] = v;
  return { ops, valueAt: (state) => names[state] ?? null };
}

/**
 * The call and return events in time order, as a doubly linked list from which a linearized
 * op's call and return are lifted out (and put back on backtracking) in constant time.
 */
class EventList {
  readonly head: Node = { op: -1, call: false, match: null, prev: null, next: null };

  constructor(ops: readonly KeyOp[]) {
    // At equal times calls come first: an op that responds at t and one invoked at t are
    // concurrent (neither completes strictly before the other is invoked).
    const events: { time: number; call: boolean; op: number }[] = [];
    ops.forEach((op, i) => {
      events.push({ time: op.entry.invokedAt, call: true, op: i });
      if (op.result !== null)
        events.push({ time: op.entry.respondedAt as number, call: false, op: i });
    });
    events.sort((x, y) => x.time - y.time || (x.call === y.call ? x.op - y.op : x.call ? -1 : 1));
    const calls: Node[] = new Array(ops.length);
    let tail = this.head;
    for (const ev of events) {
      const node: Node = { op: ev.op, call: ev.call, match: null, prev: tail, next: null };
      tail.next = node;
      tail = node;
      if (ev.call) calls[ev.op] = node;
      else (calls[ev.op] as Node).match = node;
    }
  }

  lift(n: Node): void {
    (n.prev as Node).next = n.next;
    if (n.next !== null) n.next.prev = n.prev;
    const m = n.match;
    if (m !== null) {
      (m.prev as Node).next = m.next;
      if (m.next !== null) m.next.prev = m.prev;
    }
  }

  unlift(n: Node): void {
    const m = n.match;
    if (m !== null) {
      (m.prev as Node).next = m;
      if (m.next !== null) m.next.prev = m;
    }
    (n.prev as Node).next = n;
    if (n.next !== null) n.next.prev = n;
  }
}

/**
 * The set of linearized ops as a bitset of 16-bit words over ops in invocation order, and the
 * configurations already explored. A configuration's key is the register value and the window
 * of the bitset between the leading all-ones words and the trailing zero words, as UTF-16 code
 * units: with bounded concurrency the window stays a few words long however long the history.
 */
class Configurations {
  private readonly words: Uint16Array;
  private readonly seen = new Set<string>();

  constructor(ops: number) {
    this.words = new Uint16Array(Math.ceil(ops / 16) || 1);
  }

  flip(i: number): void {
    this.words[i >> 4] = (this.words[i >> 4] as number) ^ (1 << (i & 15));
  }

  /** Marks the current set with register value `state` explored; false if it already was. */
  firstVisit(state: number): boolean {
    const { words } = this;
    let lo = 0;
    while (lo < words.length && words[lo] === 0xffff) lo++;
    let hi = words.length;
    while (hi > lo && words[hi - 1] === 0) hi--;
    let key = `${lo.toString(36)}:${state.toString(36)}:`;
    for (let i = lo; i < hi; i += 4096) {
      key += String.fromCharCode(...words.subarray(i, Math.min(hi, i + 4096)));
    }
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }
}

/** The deepest dead end so far, which explains a violation best. */
function deeper(
  best: Failure | null,
  head: Node,
  blocked: Node,
  stack: readonly Frame[],
  state: number,
) {
  if (best !== null && stack.length <= best.depth) return best;
  const pending: number[] = [];
  for (let n = head.next; n !== null && n !== blocked; n = n.next) if (n.call) pending.push(n.op);
  return {
    depth: stack.length,
    blocked: blocked.op,
    order: stack.slice(-3).map((s) => s.node.op),
    state,
    pending,
  };
}

/** A linearized op's call, and the register value before it. */
interface Frame {
  node: Node;
  state: number;
}

/** WGL search for one key. */
function checkKey(key: string, raw: readonly RawOp[], maxSteps: number): Violation | null {
  const { ops, valueAt } = internOps(raw);
  const list = new EventList(ops);
  const linearized = new Configurations(ops.length);
  let remaining = ops.filter((o) => o.result !== null).length;
  let state = ABSENT;
  const stack: Frame[] = [];
  let steps = 0;
  let best: Failure | null = null;

  let entry = list.head.next;
  while (remaining > 0) {
    if (++steps > maxSteps) return inconclusive(key, ops.length, maxSteps);
    if (entry === null) break; // unreachable: a completed op's return is still in the list
    if (entry.call) {
      const op = ops[entry.op] as KeyOp;
      const next = step(op, state);
      // An incomplete op that would change nothing here is never worth linearizing here.
      if (next !== IMPOSSIBLE && !(op.result === null && next === state)) {
        linearized.flip(entry.op);
        if (linearized.firstVisit(next)) {
          stack.push({ node: entry, state });
          state = next;
          list.lift(entry);
          if (op.result !== null) remaining--;
          entry = list.head.next;
          continue;
        }
        linearized.flip(entry.op);
      }
      entry = entry.next;
      continue;
    }
    // The return of an op not yet linearized: this branch is dead, backtrack.
    best = deeper(best, list.head, entry, stack, state);
    // Undo the last linearization and try the next candidate after it. A read-only op that
    // was admitted could equally have gone first in any linearization of the configuration it
    // extended, so that configuration is dead too: keep undoing past it.
    let top = stack.pop();
    while (top !== undefined) {
      state = top.state;
      linearized.flip(top.node.op);
      list.unlift(top.node);
      const undone = ops[top.node.op] as KeyOp;
      if (undone.result !== null) remaining++;
      if (!undone.readOnly) break;
      top = stack.pop();
    }
    if (top === undefined) break;
    entry = top.node.next;
  }
  if (remaining === 0) return null;
  return explain(key, ops, best, valueAt);
}

function inconclusive(key: string, ops: number, maxSteps: number): Violation {
  return {
    checker: CHECKER,
    message:
      `key ${JSON.stringify(key)}: linearizability check inconclusive — search exceeded ` +
      `${maxSteps} steps (${ops} ops); raise maxSteps or shorten the run`,
    evidence: { key, ops, steps: maxSteps },
  };
}

function explain(
  key: string,
  ops: readonly KeyOp[],
  best: Failure | null,
  valueAt: (state: number) => string | null,
): Violation {
  if (best === null) {
    return {
      checker: CHECKER,
      message: `key ${JSON.stringify(key)}: not linearizable`,
      evidence: { key },
    };
  }
  const blocked = ops[best.blocked] as KeyOp;
  const lastOps = best.order.map((i) => entryEvidence((ops[i] as KeyOp).entry));
  const others = best.pending.filter((i) => i !== best.blocked);
  const pending = others.slice(0, EVIDENCE_OPS).map((i) => entryEvidence((ops[i] as KeyOp).entry));
  return {
    checker: CHECKER,
    message:
      `key ${JSON.stringify(key)}: not linearizable — ${formatOp(blocked.entry, blocked.command)} ` +
      `cannot take effect before it responds: the longest linearizable prefix has ` +
      `${best.depth} ops and leaves the value ${JSON.stringify(valueAt(best.state))}` +
      (others.length === 0 ? '' : `, and no order of the ${others.length} other pending ops helps`),
    evidence: {
      key,
      blocked: entryEvidence(blocked.entry),
      valueBefore: valueAt(best.state),
      linearizedCount: best.depth,
      lastLinearized: lastOps,
      pending,
      ...(others.length > EVIDENCE_OPS ? { pendingOmitted: others.length - EVIDENCE_OPS } : {}),
    },
  };
}
