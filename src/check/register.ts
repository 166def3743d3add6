/**
 * Checkers for single-writer (1,N) register histories (seeds/002 §4.1): regularity and
 * atomicity. Operations are `{op:'write', value}` → `{ok:true}` and `{op:'read'}` →
 * `{value}` (null: the initial value ⊥). Written values are assumed unique, so a read's value
 * names the write it came from. See src/check/README.md.
 */

import { z } from 'zod';
import type { HistoryEntry, Violation } from '../core/kit.js';
import type { Json } from '../crypto/json.js';
import { ms } from './format.js';

/** Most violations reported by one checker; the rest are summed up in a final one. */
const MAX_REPORTED = 20;
/** Most concurrent writes listed in one violation's evidence. */
const EVIDENCE_WRITES = 5;

const registerOpSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('write'), value: z.string() }),
  z.object({ op: z.literal('read') }),
]);
const readResultSchema = z.object({ value: z.string().nullable() });
const writeResultSchema = z.object({ ok: z.literal(true) });

interface Write {
  entry: HistoryEntry;
  value: string;
  /** Position in the writer's sequence (writes ordered by invocation). */
  seq: number;
}

interface Read {
  entry: HistoryEntry;
  respondedAt: number;
  value: string | null;
}

/** o1 precedes o2: o1 completed (strictly) before o2 was invoked. */
function precedes(o1: HistoryEntry, o2: HistoryEntry): boolean {
  return o1.respondedAt !== null && o1.result !== null && o1.respondedAt < o2.invokedAt;
}

function readEvidence(r: Read): Json {
  return {
    client: r.entry.client,
    index: r.entry.index,
    value: r.value,
    invokedAt: r.entry.invokedAt,
    respondedAt: r.respondedAt,
  };
}

function writeEvidence(w: Write | null): Json {
  if (w === null) return null;
  return {
    seq: w.seq,
    client: w.entry.client,
    index: w.entry.index,
    value: w.value,
    invokedAt: w.entry.invokedAt,
    respondedAt: w.entry.respondedAt,
  };
}

function showRead(r: Read): string {
  const v = r.value === null ? '⊥' : JSON.stringify(r.value);
  return `read ${r.entry.client}#${r.entry.index} [${ms(r.entry.invokedAt)}, ${ms(r.respondedAt)}] → ${v}`;
}

function showWrite(w: Write): string {
  const end =
    w.entry.respondedAt === null || w.entry.result === null ? '…' : ms(w.entry.respondedAt);
  return `write #${w.seq} (${JSON.stringify(w.value)}) [${ms(w.entry.invokedAt)}, ${end}]`;
}

interface Parsed {
  writes: Write[];
  reads: Read[];
  byValue: Map<string, Write>;
  problems: { message: string; evidence: Json }[];
}

function parse(history: readonly HistoryEntry[]): Parsed {
  const problems: Parsed['problems'] = [];
  const rawWrites: { entry: HistoryEntry; value: string }[] = [];
  const reads: Read[] = [];
  for (const entry of history) {
    const op = registerOpSchema.safeParse(entry.op);
    const where = `${entry.client}#${entry.index}`;
    if (!op.success) {
      problems.push({ message: `malformed entry ${where}: not a register op`, evidence: entry.op });
      continue;
    }
    const done = entry.result !== null && entry.respondedAt !== null;
    if (done && (entry.respondedAt as number) < entry.invokedAt) {
      problems.push({
        message: `malformed entry ${where}: responded before invoked`,
        evidence: null,
      });
      continue;
    }
    if (op.data.op === 'write') {
      if (done && !writeResultSchema.safeParse(entry.result).success) {
        problems.push({
          message: `malformed entry ${where}: bad write result`,
          evidence: entry.result,
        });
        continue;
      }
      rawWrites.push({ entry, value: op.data.value });
    } else if (done) {
      const result = readResultSchema.safeParse(entry.result);
      if (!result.success) {
        problems.push({
          message: `malformed entry ${where}: bad read result`,
          evidence: entry.result,
        });
        continue;
      }
      reads.push({ entry, respondedAt: entry.respondedAt as number, value: result.data.value });
    }
    // An incomplete read returned nothing and constrains nothing.
  }

  rawWrites.sort((a, b) => a.entry.invokedAt - b.entry.invokedAt);
  const writes = rawWrites.map((w, seq) => ({ ...w, seq }));
  const byValue = new Map<string, Write>();
  for (const w of writes) {
    const other = byValue.get(w.value);
    if (other !== undefined) {
      problems.push({
        message: `written values are not unique: ${showWrite(other)} and ${showWrite(w)}; the checker cannot tell which a read saw`,
        evidence: [writeEvidence(other), writeEvidence(w)],
      });
      continue;
    }
    byValue.set(w.value, w);
  }
  return { writes, reads, byValue, problems };
}

/** For each read, the seq of the last write that precedes it (-1: none). */
function lastPrecedingWrites(writes: readonly Write[], reads: readonly Read[]): number[] {
  // Completed writes sorted by response time, with the running maximum of seq.
  const done = writes
    .filter((w) => w.entry.respondedAt !== null && w.entry.result !== null)
    .sort((a, b) => (a.entry.respondedAt as number) - (b.entry.respondedAt as number));
  const maxSeq: number[] = [];
  for (const w of done) maxSeq.push(Math.max(w.seq, maxSeq[maxSeq.length - 1] ?? -1));
  return reads.map((r) => {
    // Number of completed writes with respondedAt < r.invokedAt.
    let lo = 0;
    let hi = done.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (((done[mid] as Write).entry.respondedAt as number) < r.entry.invokedAt) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? -1 : (maxSeq[lo - 1] as number);
  });
}

interface Verdict {
  /** Reads that satisfy regularity, with the seq of the write they saw (-1: ⊥). */
  regular: { read: Read; seq: number }[];
  violations: { message: string; evidence: Json }[];
}

function regularity(p: Parsed): Verdict {
  const last = lastPrecedingWrites(p.writes, p.reads);
  const regular: Verdict['regular'] = [];
  const violations: Verdict['violations'] = [];
  p.reads.forEach((read, i) => {
    const lastSeq = last[i] as number;
    const lastWrite = lastSeq < 0 ? null : (p.writes[lastSeq] as Write);
    const concurrent = (w: Write): boolean =>
      !precedes(w.entry, read.entry) && !precedes(read.entry, w.entry);
    const source = read.value === null ? null : (p.byValue.get(read.value) ?? null);
    let problem: string | null = null;
    if (read.value === null) {
      if (lastWrite !== null) {
        problem = `${showRead(read)} returned the initial value ⊥ although ${showWrite(lastWrite)} completed before it`;
      }
    } else if (source === null) {
      problem = `${showRead(read)} returned a value that was never written`;
    } else if (source.seq !== lastSeq && !concurrent(source)) {
      problem =
        source.seq < lastSeq
          ? `${showRead(read)} is stale: it returned the value of ${showWrite(source)}, but ${showWrite(lastWrite as Write)} completed before the read was invoked`
          : `${showRead(read)} returned the value of ${showWrite(source)}, which was invoked only after the read responded`;
    }
    if (problem === null) {
      regular.push({ read, seq: source === null ? -1 : source.seq });
      return;
    }
    const concurrentWrites = p.writes
      .slice(Math.max(lastSeq + 1, 0))
      .filter(concurrent)
      .slice(0, EVIDENCE_WRITES)
      .map(writeEvidence);
    violations.push({
      message: problem,
      evidence: {
        read: readEvidence(read),
        returnedWrite: writeEvidence(source),
        lastPrecedingWrite: writeEvidence(lastWrite),
        concurrentWrites,
      },
    });
  });
  return { regular, violations };
}

/** New/old inversions among regular reads: r1 precedes r2 but r2 saw an older write. */
function inversions(p: Parsed, regular: Verdict['regular']): Verdict['violations'] {
  const byResponse = [...regular].sort((a, b) => a.read.respondedAt - b.read.respondedAt);
  // Running "freshest read so far" by response time.
  const freshest: { read: Read; seq: number }[] = [];
  for (const r of byResponse) {
    const prev = freshest[freshest.length - 1];
    freshest.push(prev !== undefined && prev.seq >= r.seq ? prev : r);
  }
  const violations: Verdict['violations'] = [];
  for (const r2 of regular) {
    let lo = 0;
    let hi = byResponse.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((byResponse[mid] as { read: Read }).read.respondedAt < r2.read.entry.invokedAt)
        lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) continue;
    const r1 = freshest[lo - 1] as { read: Read; seq: number };
    if (r1.seq <= r2.seq) continue;
    const w1 = p.writes[r1.seq] as Write;
    const w2 = r2.seq < 0 ? null : (p.writes[r2.seq] as Write);
    violations.push({
      message:
        `new/old inversion: ${showRead(r1.read)} saw ${showWrite(w1)}, but the later ` +
        `${showRead(r2.read)} saw ${w2 === null ? 'the initial value ⊥' : `the older ${showWrite(w2)}`}`,
      evidence: {
        earlierRead: readEvidence(r1.read),
        laterRead: readEvidence(r2.read),
        newerWrite: writeEvidence(w1),
        olderWrite: writeEvidence(w2),
      },
    });
  }
  return violations;
}

function report(
  checker: string,
  found: readonly { message: string; evidence: Json }[],
): Violation[] {
  const out: Violation[] = found
    .slice(0, MAX_REPORTED)
    .map(({ message, evidence }) => ({ checker, message, evidence }));
  if (found.length > MAX_REPORTED) {
    out.push({
      checker,
      message: `… and ${found.length - MAX_REPORTED} more violations not listed`,
    });
  }
  return out;
}

/**
 * Regularity of a single-writer register: every read returns the value of the last write
 * that precedes it or of a write concurrent with it, and ⊥ only if no write precedes it.
 */
export function checkRegularity(history: readonly HistoryEntry[]): Violation[] {
  const p = parse(history);
  return report('regularity', [...p.problems, ...regularity(p).violations]);
}

/**
 * Atomicity of a single-writer register: regularity, and no new/old inversion — if read r1
 * precedes read r2 and r1 saw write wi, r2 does not see a write wj with j < i (nor ⊥).
 */
export function checkAtomicity(history: readonly HistoryEntry[]): Violation[] {
  const p = parse(history);
  const { regular, violations } = regularity(p);
  return report('atomicity', [...p.problems, ...violations, ...inversions(p, regular)]);
}
