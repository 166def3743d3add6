/**
 * The signatures lab: the untouched skeleton scores zero; the reference triples split
 * ZIP-215 from OpenSSL and OpenSSL from the strict rule, and bftkit's backends give each one
 * verdict; an honest signature splits nothing.
 */
import { describe, expect, it } from 'vitest';
import { labUnderTest } from './grading.js';

const { lab, reference, load, gradeSource } = labUnderTest('signatures', 'signatures.ts');

describe('lab signatures', () => {
  it('gives the untouched skeleton zero points', async () => {
    const report = await gradeSource();
    expect(report.score).toBe(0);
    expect(report.tests[0]?.failures[0]?.detail).toMatch(/TODO/);
  });

  it('gives the reference triples full marks, and names each verdict', async () => {
    const report = await gradeSource(reference);
    expect(report.tests.map((t) => [t.test, t.ok, t.points])).toEqual([
      ['split-cofactor', true, 4],
      ['split-strict', true, 4],
      ['one-rule', true, 2],
    ]);
    expect(report.score).toBe(10);
    expect(report.tests.map((t) => t.found?.detail)).toEqual([
      // noble's strict mode refuses small-order keys, not a small-order R: it is cofactored too.
      'split: ZIP-215 accepts, OpenSSL rejects, strict accepts',
      // The identity key passes the cofactored equation as well: only the key check refuses it.
      'split: ZIP-215 accepts, OpenSSL accepts, strict rejects',
      expect.stringMatching(/all reject \(R has small order\)$/),
    ]);
  });

  it("shows bftkit's rule refusing both triples on every backend, with its reason", async () => {
    const solution = lab.validate((await load(reference)).module);
    const outcome = lab.tests.find((t) => t.name === 'one-rule')?.run(solution, 1, false);
    expect(outcome?.ok).toBe(true);
    expect(outcome?.detail).toMatch(
      /^cofactoredOnly\(\): noble, node(, sodium)? all reject \(R has small order\); laxOnly\(\): noble, node(, sodium)? all reject \(R has small order\)$/,
    );
  });

  it('finds no split in an honest signature', async () => {
    // An honest ed25519 signature from node:crypto, returned by both functions.
    const source = `import { createPrivateKey, sign } from 'node:crypto';
const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 9)]), format: 'der', type: 'pkcs8' });
const A = key.export({ format: 'jwk' }).x as string;
const message = Buffer.from('hello');
const triple = () => ({ publicKey: Buffer.from(A, 'base64url').toString('hex'), message: message.toString('hex'), signature: sign(null, message, key).toString('hex') });
export const cofactoredOnly = triple;
export const laxOnly = triple;
`;
    const report = await gradeSource(source);
    expect(report.tests.map((t) => t.ok)).toEqual([false, false, true]);
    expect(report.tests[0]?.failures[0]?.detail).toMatch(
      /no split: ZIP-215 accepts, OpenSSL accepts, strict accepts/,
    );
    expect(report.score).toBe(0);
  });
});
