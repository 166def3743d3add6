/**
 * The scenarios written to make a mutant visible (src/mutants/catalogue.ts), each on seed 1
 * here (the sweeps over seeds 1–200 are run by hand): safety and liveness hold with the
 * correct code, the adversary did what its description says, and the check of the paper that
 * stops it is the one that fired. That the same scenario fails without the check is shown by
 * `npm run mutants` (a copy of the sources per mutant), not here.
 */
import { describe, expect, it } from 'vitest';
import type { NoteRecord, RunRecord } from '../../src/core/kit.js';
import { loadScenario, validateScenario } from '../../src/scenario/load.js';
import { livenessDeadline, runScenario } from '../../src/scenario/runner.js';

function holds(name: string, seed = 1) {
  const { report, record } = runScenario(loadScenario(name), { seed, trace: 'notes' });
  expect(report.safety.violations.map((v) => v.message).join('\n'), name).toBe('');
  expect(report.liveness.ok, `${name}: ${JSON.stringify(report.liveness)}`).toBe(true);
  return { report, record };
}

const correctNotes = (record: RunRecord, event: string): NoteRecord[] =>
  record.notes.filter(
    (n) => n.event === event && record.replicas.includes(n.node) && !record.byzantine.has(n.node),
  );
const actions = (record: RunRecord, action: string) =>
  record.notes.filter(
    (n) => n.event === 'adversary' && (n.data as { action?: string }).action === action,
  );
/** What correct replicas refused, as `KIND refusal-code` (src/pbft/refusal.ts). */
const refusals = (record: RunRecord) =>
  correctNotes(record, 'reject').map((n) => {
    const { kind, reason } = n.data as { kind: string; reason: string };
    return `${kind} ${reason}`;
  });
const highestView = (record: RunRecord) =>
  Math.max(...correctNotes(record, 'view').map((n) => (n.data as { view: number }).view));

describe('scenarios that make a mutant visible', { timeout: 120_000 }, () => {
  it('pbft-covert-censor: c0 is starved only until its request times out; n0 is deposed', () => {
    const { record, report } = holds('pbft-covert-censor');
    expect(actions(record, 'censor').length).toBeGreaterThan(0);
    expect(actions(record, 'drop-first-copy').length).toBeGreaterThan(0);
    expect(highestView(record)).toBeGreaterThanOrEqual(1);
    expect(report.liveness.perClient?.fewest?.completed).toBeGreaterThanOrEqual(10);
    // and the others still had work when c0 was served: nobody ran out of operations
    for (const client of ['c1', 'c2'])
      expect(record.history.filter((h) => h.client === client).length).toBeLessThan(150);
  });

  it('pbft-digest-liar: the backups given the other batch refuse it (digest mismatch)', () => {
    const { record } = holds('pbft-digest-liar');
    expect(actions(record, 'digest-lie').length).toBeGreaterThan(0);
    expect(refusals(record)).toContain('PRE-PREPARE digest-mismatch');
    expect(highestView(record)).toBeGreaterThanOrEqual(1);
  });

  it('pbft-request-forger: the invented request fails its client signature', () => {
    const { record } = holds('pbft-request-forger');
    expect(actions(record, 'forge-request').length).toBeGreaterThan(0);
    expect(refusals(record)).toContain('PRE-PREPARE bad-signature');
  });

  it('pbft-beyond-watermark: nothing above the high watermark is committed in view 0', () => {
    const { record } = holds('pbft-beyond-watermark');
    expect(actions(record, 'beyond-watermark').length).toBeGreaterThan(0);
    expect(highestView(record)).toBeGreaterThanOrEqual(1);
    const view0 = correctNotes(record, 'commit').filter(
      (n) => (n.data as { view: number }).view === 0,
    );
    expect(view0).toEqual([]);
  });

  it('pbft-short-certificate: the VIEW-CHANGE with no PREPAREs is refused', () => {
    const { record } = holds('pbft-short-certificate');
    expect(actions(record, 'short-certificate').length).toBeGreaterThan(0);
    expect(refusals(record)).toContain('VIEW-CHANGE too-few-votes');
  });

  it('pbft-commit-splitter: the victims never commit the split sequence number in view 0', () => {
    for (const seed of [1, 3]) {
      const { record } = holds('pbft-commit-splitter', seed);
      expect(actions(record, 'split-pre-prepare').length).toBe(1);
      const split = correctNotes(record, 'commit').filter(
        (n) => (n.data as { seq: number; view: number }).seq === 3,
      );
      expect(split.length).toBeGreaterThan(0);
      expect(split.every((n) => (n.data as { view: number }).view >= 1)).toBe(true);
    }
  });

  it('pbft-replaying-primary: replayed requests are answered, not executed again', () => {
    const { record } = holds('pbft-replaying-primary');
    expect(actions(record, 'replay-request').length).toBeGreaterThan(10);
  });

  it('pbft-byzantine-clients: every misdeed happened, the correct clients finished', () => {
    const { record, report } = holds('pbft-byzantine-clients');
    for (const a of ['equivocate-request', 'replay-request', 'impersonate', 'jump-timestamp'])
      expect(actions(record, a).length, a).toBeGreaterThan(0);
    expect(refusals(record)).toContain('REQUEST not-its-client');
    expect(report.liveness.perClient?.fewest?.completed).toBe(15);
  });
});

describe('scenario files: who an adversary may replace, and the watermark rule', () => {
  const base = {
    name: 'x',
    description: '',
    protocol: 'pbft',
    n: 4,
    f: 1,
    clients: 2,
  };
  it('a client adversary replaces a client, a replica adversary a replica', () => {
    expect(() =>
      validateScenario({ ...base, adversaries: [{ node: 'c1', name: 'replaying-client' }] }, 't'),
    ).not.toThrow();
    expect(() =>
      validateScenario({ ...base, adversaries: [{ node: 'n1', name: 'replaying-client' }] }, 't'),
    ).toThrow(/replaces a client, and "n1" is not one/);
    expect(() =>
      validateScenario({ ...base, adversaries: [{ node: 'c1', name: 'silent' }] }, 't'),
    ).toThrow(/replaces a replica, and "c1" is not one/);
    expect(() =>
      validateScenario({ ...base, adversaries: [{ node: 'c9', name: 'silent' }] }, 't'),
    ).toThrow(/no replica or client "c9"/);
  });

  it('a watermark window under twice the checkpoint interval is refused, with the reason', () => {
    const raw = { ...base, params: { checkpointInterval: 8, watermarkWindow: 8 } };
    const scenario = validateScenario(raw, 't');
    expect(() => runScenario(scenario)).toThrow(/at least twice checkpointInterval/);
  });
});

describe('the liveness deadline scales with the network', () => {
  const scenario = (network: object, faults: object[] = []) =>
    validateScenario(
      {
        name: 'x',
        description: '',
        protocol: 'pbft',
        n: 4,
        f: 1,
        duration: 1000,
        network,
        faults,
        expect: { liveness: { minOps: 1 } },
      },
      't',
    );
  it('is the duration on the reference network, longer with loss, duplication or latency', () => {
    expect(livenessDeadline(scenario({}))).toBe(1000);
    expect(livenessDeadline(scenario({ latency: { min: 1, max: 20 } }))).toBe(1000);
    expect(livenessDeadline(scenario({ loss: 0.1 }))).toBe(3000);
    expect(livenessDeadline(scenario({ duplicate: 0.1 }))).toBe(1500);
    expect(livenessDeadline(scenario({ latency: { min: 1, max: 40 } }))).toBe(2000);
    // the slowest network the schedule sets counts
    expect(
      livenessDeadline(scenario({}, [{ at: 10, action: 'network', network: { loss: 0.05 } }])),
    ).toBe(2000);
  });
});
