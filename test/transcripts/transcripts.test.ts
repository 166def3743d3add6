/**
 * Golden transcripts (docs/transcripts.md): every test/transcripts/*.txt is replayed against
 * the cores and must come out byte for byte as written. `npm run transcripts:rewrite`
 * (BFTKIT_REWRITE=1) writes what the cores do now instead — for a reviewer to read in the
 * diff — and refuses to when CI is set, where a transcript can only be checked.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Context } from '../../src/core/protocol.js';
import { TranscriptCluster, type Wrap } from './cluster.js';
import { firstDifference, parseTranscript, printTranscript, show } from './format.js';

const dir = import.meta.dirname;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();
const rewrite = process.env.BFTKIT_REWRITE === '1';

/** Replay a transcript file: the same commands, and what they cause now. */
function replay(file: string, wrap?: Wrap): { expected: string; actual: string } {
  const expected = readFileSync(join(dir, file), 'utf8');
  const cluster = new TranscriptCluster(wrap);
  const cases = parseTranscript(expected, file).map((c) => {
    try {
      return { ...c, output: cluster.run(c.command) };
    } catch (e) {
      throw new Error(`${file}:${c.line}: ${c.command}: ${(e as Error).message}`, { cause: e });
    }
  });
  return { expected, actual: printTranscript(cases) };
}

describe('golden transcripts', () => {
  it('there are transcripts to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.skipIf(!rewrite)('rewriting is refused under CI', () => {
    expect(process.env.CI, 'BFTKIT_REWRITE=1 with CI set: transcripts are only checked in CI').toBe(
      undefined,
    );
  });

  for (const file of files) {
    it(file, () => {
      const { expected, actual } = replay(file);
      if (rewrite && process.env.CI === undefined) {
        if (actual !== expected) writeFileSync(join(dir, file), actual);
        return;
      }
      const difference = firstDifference(expected, actual);
      expect(
        actual,
        `${file} differs at ${difference}\n(BFTKIT_REWRITE=1 npx vitest run test/transcripts rewrites it)`,
      ).toBe(expected);
    });
  }
});

describe('a transcript catches a changed core', () => {
  it('a PBFT replica that forgets to persist its votes no longer matches the normal case', () => {
    // n1 sends its PREPARE and COMMIT without writing them first: the cluster still commits,
    // so only the transcript's persist lines show what is wrong.
    const forgetful: Wrap = (id, factory) =>
      id !== 'n1' ? factory : (ctx) => factory({ ...ctx, persist: () => {} } as Context);
    const { expected, actual } = replay('pbft-normal-case.txt', forgetful);
    const difference = firstDifference(expected, actual);
    expect(difference).not.toBeNull();
    expect(difference).toMatch(/- expected: +n1 persist /);
  });

  it('the file format reads back what it prints, and a difference names its line', () => {
    const text = 'cluster raft replicas=3\n----\nsetup\n\n# a comment\nstart\n----\n';
    expect(printTranscript(parseTranscript(text, 'x.txt'))).toBe(text);
    expect(firstDifference('a\nb\nc\n', 'a\nB\nc\n')).toBe('line 2:\n- expected: b\n+ actual:   B');
    expect(() => parseTranscript('start\nno separator\n', 'x.txt')).toThrow(/x.txt:2/);
  });

  it('shows a value unambiguously: a string that reads as JSON is quoted, long hex is cut', () => {
    const envelope = { kind: 'PING', from: 'n1', body: { n: 1 }, sig: 'ab'.repeat(64) };
    expect(show({ b: '1', a: 1, c: 'two words', d: 'null', e: 'k0', f: 'ab'.repeat(16) })).toBe(
      '{a:1 b:"1" c:"two words" d:"null" e:k0 f:abababab…}',
    );
    expect(show([envelope, null])).toBe('[⟨PING n1 {n:1}⟩ null]');
  });
});
