/**
 * The register attack lab: the untouched skeleton (the honest replica) breaks nothing and
 * scores zero; the reference adversary (the project's `colluding`, written against the public
 * API) breaks the register at n = 4 with two Byzantine replicas and is contained at n = 7.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolFactory } from '../../src/core/protocol.js';
import { runAttack, scenarioOf } from '../../src/labs/scenario-test.js';
import { labUnderTest } from './grading.js';

const { reference, load, gradeSource } = labUnderTest('register-attack', 'register-attack.ts');

describe('lab register-attack', () => {
  it('gives the untouched skeleton zero: it breaks nothing, and containment alone earns nothing', async () => {
    const report = await gradeSource();
    expect(report.score).toBe(0);
    expect(report.ok).toBe(false);
    const [breaks, contained] = report.tests;
    expect(breaks?.ok).toBe(false);
    expect(breaks?.passed).toBe(0);
    expect(contained?.ok).toBe(true);
    expect(contained?.points).toBe(0);
    expect(contained?.failures[0]?.detail).toMatch(/no points until breaks passes/);
  });

  it('gives the reference adversary full marks: it breaks n = 4 and is contained at n = 7', async () => {
    const report = await gradeSource(reference);
    expect(report.tests.map((t) => [t.test, t.ok, t.points])).toEqual([
      ['breaks', true, 3],
      ['contained', true, 2],
    ]);
    expect(report.score).toBe(report.max);
    expect(report.ok).toBe(true);
  });

  it('judges "contained" false when the checkers do find a violation', async () => {
    const { adversary } = (await load(reference)).module as {
      adversary: (h: ProtocolFactory) => ProtocolFactory;
    };
    // The unsafe configuration, judged as if it were the safe one: the verdict must be "broken".
    const unsafe = scenarioOf('register-too-many-byzantine');
    const byzantine = new Set(['n0', 'n1']);
    const outcome = runAttack(
      unsafe,
      (id, factory) => (byzantine.has(id) ? adversary(factory) : factory),
      1,
      false,
      'contained',
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toMatch(/regularity/);
  });
});
