/**
 * Lab "signatures" (attack): RFC 8032 lets ed25519 verifiers differ, and real libraries do
 * (src/crypto/README.md, "Why one verification rule"). The student crafts two (public key,
 * message, signature) triples on which two libraries' rules give different answers — the
 * material of a Byzantine signer who wants half a cluster to count a vote the other half
 * throws away — and the grader then shows that bftkit's one rule gives one answer on every
 * backend it has.
 *
 *   split-cofactor: ZIP-215 (@noble/ed25519's default: lax decoding, the cofactored equation
 *                   [8][S]B = [8]R + [8][k]A) accepts, OpenSSL (node:crypto without bftkit's
 *                   rule: the cofactorless equation compared as bytes) rejects.
 *   split-strict:   OpenSSL accepts, the strict rule (@noble/ed25519 with zip215: false:
 *                   canonical encodings, small-order keys refused, as libsodium) rejects.
 *   one-rule:       every backend of bftkit (signatureBackends) gives the same verdict on both
 *                   triples — counted once both splits are found.
 */
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import { verify as nobleVerify } from '@noble/ed25519';
import { InputError } from '../core/errors.js';
import { signatureBackends } from '../crypto/backends.js';
import { checkVerificationRule } from '../crypto/ed25519.js';
import { fromHex } from '../crypto/hex.js';
import type { Lab, LabTest, RunOutcome, Solution } from './lab.js';

const FILE = 'signatures.ts';
const EXPORTS = ['cofactoredOnly', 'laxOnly'] as const;

interface Triple {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/** DER header of an SPKI Ed25519 public key (RFC 8410 §4): OpenSSL takes keys only so. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The libraries' own rules, without bftkit's; a library that throws on the input rejects. */
const rules = {
  'ZIP-215': (t: Triple) => nobleVerify(t.signature, t.message, t.publicKey),
  OpenSSL: (t: Triple) => {
    const key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, t.publicKey]),
      format: 'der',
      type: 'spki',
    });
    return opensslVerify(null, t.message, key, t.signature);
  },
  strict: (t: Triple) => nobleVerify(t.signature, t.message, t.publicKey, { zip215: false }),
};
type Rule = keyof typeof rules;

function accepts(rule: Rule, t: Triple): boolean {
  try {
    return rules[rule](t);
  } catch {
    return false;
  }
}

/** The student's triple: a function of no arguments returning three hex strings. */
function tripleOf(solution: Solution, name: (typeof EXPORTS)[number]): Triple {
  const value = (solution[name] as () => unknown)();
  const parts = value as Record<string, unknown> | null;
  const hex = (field: string): Uint8Array => {
    const text = parts?.[field];
    if (typeof text !== 'string' || !/^([0-9a-f]{2})*$/i.test(text))
      throw new TypeError(`${name}().${field} must be a string of hex digits`);
    return fromHex(text.toLowerCase());
  };
  return { publicKey: hex('publicKey'), message: hex('message'), signature: hex('signature') };
}

function guarded(body: () => RunOutcome): RunOutcome {
  try {
    return body();
  } catch (e) {
    return { ok: false, detail: `your code threw ${e instanceof Error ? e.message : String(e)}` };
  }
}

function splitTest(
  name: string,
  exported: (typeof EXPORTS)[number],
  accepting: Rule,
  rejecting: Rule,
  points: number,
): LabTest {
  return {
    name,
    description: `${exported}(): ${accepting} accepts it, ${rejecting} rejects it`,
    points,
    required: true,
    // One seed (the triple does not depend on it); 'any' so that the report shows the split.
    mode: 'any',
    traced: false,
    run: (solution) =>
      guarded(() => {
        const t = tripleOf(solution, exported);
        const verdicts = (Object.keys(rules) as Rule[])
          .map((r) => `${r} ${accepts(r, t) ? 'accepts' : 'rejects'}`)
          .join(', ');
        return accepts(accepting, t) && !accepts(rejecting, t)
          ? { ok: true, detail: `split: ${verdicts}` }
          : { ok: false, detail: `no split: ${verdicts}` };
      }),
  };
}

const oneRule: LabTest = {
  name: 'one-rule',
  description: "bftkit's rule: every backend gives one verdict on both triples",
  points: 2,
  required: true,
  // One seed; 'any' so that the report shows each backend's verdict and the rule's reason.
  mode: 'any',
  needs: ['split-cofactor', 'split-strict'],
  traced: false,
  run: (solution) =>
    guarded(() => {
      const seen: string[] = [];
      for (const exported of EXPORTS) {
        const t = tripleOf(solution, exported);
        const verdicts = Object.entries(signatureBackends).map(
          ([name, backend]) => [name, backend.verify(t.publicKey, t.message, t.signature)] as const,
        );
        const rule = checkVerificationRule(t.publicKey, t.signature);
        const why = rule.ok ? 'the equation' : rule.reason;
        if (new Set(verdicts.map(([, v]) => v)).size > 1)
          return {
            ok: false,
            detail: `${exported}(): the backends disagree (${verdicts.map(([n, v]) => `${n} ${v}`).join(', ')})`,
          };
        seen.push(
          `${exported}(): ${verdicts.map(([n]) => n).join(', ')} all ${verdicts[0]?.[1] ? 'accept' : 'reject'} (${why})`,
        );
      }
      return { ok: true, detail: seen.join('; ') };
    }),
};

export const signaturesLab: Lab = {
  name: 'signatures',
  kind: 'attack',
  title: 'Split ed25519 verifiers: one signature, two verdicts',
  topics: ['signatures', 'ed25519', 'Byzantine signers'],
  hours: 3,
  file: FILE,
  // The triples do not depend on a seed: one run per test.
  seeds: { from: 1, to: 1 },
  validate(module) {
    for (const name of EXPORTS)
      if (typeof module[name] !== 'function')
        throw new InputError(
          `${FILE}: expected an exported function "${name}" returning { publicKey, message, signature } in hex`,
        );
    return module;
  },
  tests: [
    splitTest('split-cofactor', 'cofactoredOnly', 'ZIP-215', 'OpenSSL', 4),
    splitTest('split-strict', 'laxOnly', 'OpenSSL', 'strict', 4),
    oneRule,
  ],
};
