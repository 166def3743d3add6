/**
 * The transcript file format (docs/transcripts.md), in the style of etcd-raft's datadriven
 * tests: cases separated by a blank line, each a command, a `----` line, and what the command
 * caused, one effect per line. Lines starting with '#' before a command are comments and are
 * kept as they are when a file is rewritten.
 */

export interface Case {
  /** The comment lines before the command, '#' included. */
  comments: string[];
  command: string;
  /** 1-based line of the command in its file, for error messages. */
  line: number;
  output: string[];
}

export const SEPARATOR = '----';

export function parseTranscript(text: string, file: string): Case[] {
  const cases: Case[] = [];
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length) {
    const comments: string[] = [];
    while (i < lines.length && (lines[i] === '' || lines[i]!.startsWith('#'))) {
      if (lines[i] !== '') comments.push(lines[i]!);
      i++;
    }
    if (i >= lines.length) {
      if (comments.length > 0) throw new Error(`${file}: comments after the last case`);
      break;
    }
    const line = i + 1;
    const command = lines[i++]!;
    if (lines[i] !== SEPARATOR)
      throw new Error(`${file}:${line + 1}: expected '${SEPARATOR}' after "${command}"`);
    i++;
    const output: string[] = [];
    while (i < lines.length && lines[i] !== '') output.push(lines[i++]!);
    cases.push({ comments, command, line, output });
  }
  return cases;
}

export function printTranscript(cases: readonly Case[]): string {
  return cases
    .map((c) => [...c.comments, c.command, SEPARATOR, ...c.output].join('\n'))
    .join('\n\n')
    .concat('\n');
}

/** Where two texts first differ, as "line N: expected … / actual …" (null when equal). */
export function firstDifference(expected: string, actual: string): string | null {
  if (expected === actual) return null;
  const a = expected.split('\n');
  const b = actual.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `line ${i + 1}:\n- expected: ${a[i] ?? '(end of file)'}\n+ actual:   ${b[i] ?? '(end of file)'}`;
}

const LONG_HEX = /^[0-9a-f]{32,}$/;
const BARE = /^[\w./:@+-]+$/;
/** Strings that, bare, would read as a number, a boolean or null. */
const LOOKS_LIKE_JSON = /^(?:-?\d[\d.e+-]*|true|false|null)$/;

/**
 * A value in one line, for people: keys sorted, strings bare where that is unambiguous,
 * digests, keys and signatures cut to their first 8 hex digits, and a signed envelope
 * embedded in a body as ⟨KIND from body⟩ (its signature is checked by the receiver; the
 * transcript shows what it says).
 */
export function show(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    if (LONG_HEX.test(value)) return `${value.slice(0, 8)}…`;
    return BARE.test(value) && !LOOKS_LIKE_JSON.test(value) ? value : JSON.stringify(value);
  }
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `[${value.map(show).join(' ')}]`;
  const record = value as Record<string, unknown>;
  if (isEnvelope(record)) return `⟨${record.kind} ${record.from} ${show(record.body)}⟩`;
  const fields = Object.keys(record)
    .sort()
    .map((k) => `${k}:${show(record[k])}`);
  return `{${fields.join(' ')}}`;
}

function isEnvelope(record: Record<string, unknown>): boolean {
  const keys = Object.keys(record).sort().join(',');
  return keys === 'body,from,kind,sig' && typeof record.kind === 'string';
}
