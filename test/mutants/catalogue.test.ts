/**
 * The mutant catalogue (src/mutants/catalogue.ts) stays applicable as the sources change:
 * every search text occurs exactly once in its file, and the scenarios it names exist. This
 * does not run the mutants — `npm run mutants` does, a scenario sweep per mutant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Mutant, mutants } from '../../src/mutants/catalogue.js';
import { applyMutant, occurrences, ROOT, scenarioOrder } from '../../src/mutants/run.js';
import { builtinNames } from '../../src/scenario/load.js';

const source = (m: Mutant) => readFileSync(join(ROOT, m.file), 'utf8');

describe('the mutant catalogue', () => {
  it('has at least 20 mutants with distinct names, across pbft, raft and register', () => {
    expect(mutants.length).toBeGreaterThanOrEqual(20);
    expect(new Set(mutants.map((m) => m.name)).size).toBe(mutants.length);
    for (const protocol of ['pbft', 'raft', 'register'] as const)
      expect(mutants.filter((m) => m.protocol === protocol).length).toBeGreaterThanOrEqual(5);
  });

  for (const m of mutants) {
    it(`${m.name} applies cleanly and changes ${m.file}`, () => {
      const text = source(m);
      expect(occurrences(text, m.search), `${m.name}: search text in ${m.file}`).toBe(1);
      const mutated = applyMutant(text, m);
      expect(mutated).not.toBe(text);
      expect(mutated.length).toBe(text.length - m.search.length + m.replace.length);
      expect(m.breaks.length).toBeGreaterThan(20);
      const names = builtinNames();
      for (const s of m.scenarios) expect(names, `${m.name}: scenario ${s}`).toContain(s);
      expect(m.scenarios.every((s) => s.startsWith(`${m.protocol}-`))).toBe(true);
    });
  }

  it('refuses a mutant whose search text is missing or ambiguous', () => {
    const m = mutants[0] as Mutant;
    expect(() => applyMutant('nothing here', m)).toThrow(/occurs 0 times/);
    expect(() => applyMutant(`${m.search}\n${m.search}`, m)).toThrow(/occurs 2 times/);
  });

  it('tries the mutant’s own scenarios first, then every other one of its protocol', () => {
    const m = mutants.find((x) => x.name === 'pbft-timer-restarts-on-any-execution') as Mutant;
    const order = scenarioOrder(m, ['pbft-a', 'pbft-covert-censor', 'raft-b', 'pbft-c']);
    expect(order).toEqual(['pbft-covert-censor', 'pbft-a', 'pbft-c']);
  });
});
