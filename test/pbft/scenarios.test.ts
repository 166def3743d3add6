/**
 * The PBFT scenarios (scenarios/pbft-*.json) through the generic scenario runner: each over
 * seeds 1–3 as written (n = 4, f = 1) and over seed 1 with `--set n=7 --set f=2`. Every run
 * must meet the file's expectations (safety holds — agreement, total order, validity,
 * linearizability — and enough operations complete after the last fault), and show that its
 * adversary or schedule did what the description says. The negative control must break
 * agreement on every seed and name both commits. The sweeps over seeds 1–200 are run by hand:
 * `npx bftkit scenario sweep pbft-<name> --seeds 1..200 --jobs 2 [--set n=7 --set f=2]`.
 */
import { describe, expect, it } from 'vitest';
import { KeyRing } from '../../src/core/envelope.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { NoteRecord, RunRecord, Violation } from '../../src/core/kit.js';
import type { NodeId } from '../../src/core/protocol.js';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import type { Json } from '../../src/crypto/json.js';
import { checkEvidence } from '../../src/pbft/evidence.js';
import { pbftKit } from '../../src/pbft/kit.js';
import { loadScenario, validateScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/runner.js';
import type { Scenario } from '../../src/scenario/schema.js';
import { simulatedSeed } from '../../src/sim/simulation.js';

const SEEDS = [1, 2, 3];
const N7 = ['n=7', 'f=2'];

type Run = ReturnType<typeof runScenario>;
const runs = new Map<string, Run>();

/** One run of a built-in scenario (memoised: the checks below look at the same runs). */
function run(name: string, seed: number, sets: readonly string[] = []): Run {
  const key = `${name} ${seed} ${sets.join(' ')}`;
  let r = runs.get(key);
  if (r === undefined) {
    r = runScenario(loadScenario(name, sets), { seed, trace: 'notes' });
    runs.set(key, r);
  }
  return r;
}

function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.checker}: ${v.message}`).join('\n');
}

/** Every run of the scenario as the file expects it: safe, live, every check passed. */
function expectHolds(name: string, seeds: readonly number[], sets: readonly string[] = []): Run[] {
  return seeds.map((seed) => {
    const r = run(name, seed, sets);
    const where = `${name} seed ${seed} ${sets.join(' ')}`;
    expect(r.report.safety.expected).toBe('hold');
    expect(describeViolations(r.report.safety.violations), where).toBe('');
    const { completedAfter, required, after } = r.report.liveness;
    expect(r.report.liveness.ok, `${where}: ${completedAfter} ops after ${after} ms`).toBe(true);
    expect(required).toBeGreaterThan(0);
    return r;
  });
}

function notes(record: RunRecord, event: string, node?: NodeId): NoteRecord[] {
  return record.notes.filter((n) => n.event === event && (node === undefined || n.node === node));
}

function correct(record: RunRecord, event: string): NoteRecord[] {
  return notes(record, event).filter(
    (n) => record.replicas.includes(n.node) && !record.byzantine.has(n.node),
  );
}

function actions(record: RunRecord, action: string): NoteRecord[] {
  return notes(record, 'adversary').filter(
    (n) => (n.data as { action?: string } | null)?.action === action,
  );
}

/** The highest view a correct replica entered. */
function highestView(record: RunRecord): number {
  return Math.max(...correct(record, 'view').map((n) => (n.data as { view: number }).view));
}

/** The refusal codes (src/pbft/refusal.ts) correct replicas gave `from`'s messages of `kind`. */
function refusalCodes(record: RunRecord, kind: string, from: NodeId): Set<string> {
  return correct(record, 'reject')
    .map((n) => n.data as { kind: string; from: string; reason: string })
    .filter((d) => d.kind === kind && d.from === from)
    .reduce((codes, d) => codes.add(d.reason), new Set<string>());
}

/** Checks signatures as anyone holding the simulated cluster's public keys can. */
function verifierFor(scenario: Scenario): (m: Envelope) => boolean {
  const cluster = `sim-${scenario.name}`;
  const ids = [
    ...Array.from({ length: scenario.n }, (_, i) => `n${i}`),
    ...Array.from({ length: scenario.clients }, (_, i) => `c${i}`),
  ];
  const keys = new KeyRing(
    new Map(ids.map((id) => [id, nodeBackend.publicKey(simulatedSeed(cluster, id))])),
    nodeBackend,
  );
  return (m) => keys.verify({ cluster, protocol: 'pbft' }, m);
}

const HOLDING: Record<string, (r: Run) => void> = {
  'pbft-honest': ({ record, report, sim }) => {
    expect(sim.stats.framesLost).toBeGreaterThan(0);
    expect(highestView(record)).toBe(0);
    expect(notes(record, 'evidence')).toEqual([]);
    expect(report.liveness.completed).toBe(record.history.length);
  },
  'pbft-silent-primary': ({ record }) => {
    expect(actions(record, 'withhold').length).toBeGreaterThan(0);
    expect(highestView(record)).toBeGreaterThanOrEqual(1);
    expect(pbftKit.leader?.(record.notes)).not.toBe('n0');
  },
  'pbft-equivocating-primary': ({ record }) => {
    expect(actions(record, 'equivocate').length).toBeGreaterThan(0);
    expect(highestView(record)).toBeGreaterThanOrEqual(1);
  },
  'pbft-censoring-primary': ({ record }) => {
    expect(actions(record, 'censor').length).toBeGreaterThan(0);
    const c0 = record.history.filter((h) => h.client === 'c0' && h.respondedAt !== null);
    expect(c0.length).toBeGreaterThan(10); // c0 is served once n0 is deposed
  },
  'pbft-slow-primary': ({ record }) => {
    expect(actions(record, 'delay').length).toBeGreaterThan(10);
    expect(highestView(record)).toBe(0); // never deposed
    expect(correct(record, 'view-change')).toEqual([]);
  },
  'pbft-forged-votes': ({ record, sim }) => {
    expect(actions(record, 'forge-vote').length).toBeGreaterThan(0);
    expect(sim.rejections('n0')['sender-mismatch']).toBeGreaterThan(0);
    expect(sim.rejections('c0')['sender-mismatch']).toBeGreaterThan(0);
    // n3 fetches state after the heal: n2's forged proofs are refused, an honest STATE installs
    expect(actions(record, 'forge-state').length).toBeGreaterThan(0);
    expect(refusalCodes(record, 'STATE', 'n2')).toEqual(new Set(['bad-signature']));
    expect(notes(record, 'state', 'n3').length).toBeGreaterThan(0);
  },
  'pbft-bad-view-change': ({ record }) => {
    expect(actions(record, 'bad-view-change').length).toBeGreaterThan(0);
    expect(refusalCodes(record, 'VIEW-CHANGE', 'n2')).toEqual(
      new Set(['bad-signature', 'vote-mismatch']),
    );
    expect(highestView(record)).toBeGreaterThanOrEqual(2);
  },
  'pbft-bad-new-view': ({ record }) => {
    expect(actions(record, 'bad-new-view').length).toBeGreaterThan(0);
    const refused = refusalCodes(record, 'NEW-VIEW', 'n1');
    expect(refused.size).toBeGreaterThan(0);
    for (const code of refused) expect(['new-view-mismatch', 'too-few-votes']).toContain(code);
    // no correct replica ever entered view 1; they went on to view 2
    expect(correct(record, 'view').filter((n) => (n.data as { view: number }).view === 1)).toEqual(
      [],
    );
    expect(highestView(record)).toBeGreaterThanOrEqual(2);
  },
  'pbft-replay-old-view': ({ record, sim }) => {
    expect(actions(record, 'replay-old').length).toBeGreaterThan(0);
    expect(actions(record, 'relay-old').length).toBeGreaterThan(0);
    expect(sim.rejections('n0')['sender-mismatch']).toBeGreaterThan(0);
    expect(highestView(record)).toBeGreaterThanOrEqual(2);
  },
  'pbft-flooding-replica': ({ record, sim }) => {
    expect(actions(record, 'flood').length).toBeGreaterThan(100);
    for (const replica of ['n0', 'n1', 'n2']) {
      const rejected = sim.rejections(replica);
      for (const reason of [
        'unknown-kind',
        'bad-shape',
        'bad-signature',
        'sender-mismatch',
        'unknown-sender',
      ]) {
        expect(rejected[reason as keyof typeof rejected], `${replica} ${reason}`).toBeGreaterThan(
          50,
        );
      }
    }
    expect(
      correct(record, 'reject').some(
        (n) => (n.data as { reason: string }).reason === 'not-its-client',
      ),
    ).toBe(true);
  },
  'pbft-twins': ({ record }) => {
    const instances = new Set(notes(record, 'commit', 'n0').map((n) => n.instance));
    expect(instances).toEqual(new Set(['n0', "n0'"]));
    expect(highestView(record)).toBeGreaterThanOrEqual(1);
  },
  'pbft-lagging-replica': ({ record }) => {
    const installed = notes(record, 'state', 'n3');
    expect(installed.length).toBeGreaterThan(0);
    const at = installed[0]?.time ?? 0;
    expect(at).toBeGreaterThanOrEqual(3000); // after the heal
    expect(notes(record, 'execute', 'n3').some((n) => n.time > at)).toBe(true);
  },
  'pbft-crash-restart': ({ record }) => {
    const restarted = notes(record, 'start', 'n0').filter(
      (n) => (n.data as { recovered: boolean }).recovered,
    );
    expect(restarted).toHaveLength(1);
    expect(notes(record, 'state', 'n0').length).toBeGreaterThan(0);
    expect(highestView(record)).toBeGreaterThanOrEqual(2);
  },
};

describe('PBFT scenarios that keep safety and liveness', { timeout: 120_000 }, () => {
  for (const [name, check] of Object.entries(HOLDING)) {
    it(`${name}: seeds 1–3 at n = 4`, () => {
      for (const r of expectHolds(name, SEEDS)) check(r);
    });
    it(`${name}: seed 1 at n = 7, f = 2`, () => {
      const [r] = expectHolds(name, [1], N7);
      expect(r?.sim.cluster.quorum).toBe(5);
      if (r !== undefined) check(r);
    });
  }
});

describe('the evidence in pbft-equivocating-primary', () => {
  it('a correct replica notes two PRE-PREPAREs signed by n0 for one slot, which anyone can check', () => {
    for (const seed of SEEDS) {
      const { record } = run('pbft-equivocating-primary', seed);
      const verify = verifierFor(loadScenario('pbft-equivocating-primary'));
      const evidence = correct(record, 'evidence');
      expect(evidence.length).toBeGreaterThan(0);
      for (const n of evidence) {
        const e = n.data as unknown as { replica: string; a: Envelope; b: Envelope };
        expect(e.replica).toBe('n0');
        expect(e.a.kind).toBe('PRE-PREPARE');
        expect(checkEvidence(e, verify)).toBe(true);
      }
      // and a tampered copy is not evidence
      const [first] = evidence;
      const e = first?.data as unknown as { a: Envelope; b: Envelope } & Record<string, Json>;
      expect(checkEvidence({ ...e, b: { ...e.b, body: e.a.body } }, verify)).toBe(false);
    }
  });
});

describe('pbft-twins: schedules may name a twin instance', () => {
  it('"n0\'" is a node when n0 has a twin, and only then', () => {
    const scenario = loadScenario('pbft-twins');
    expect(
      scenario.faults.some((f) => f.action === 'partition' && f.blocks.flat().includes("n0'")),
    ).toBe(true);
    expect(() => validateScenario({ ...scenario, twins: [] }, 'no twins')).toThrow(/no node "n0'"/);
  });
});

describe('the adversaries have teeth', { timeout: 120_000 }, () => {
  it('without the recomputation of O from V, bad-new-view makes correct replicas disagree', () => {
    let violated = 0;
    for (const seed of SEEDS) {
      const { report } = runScenario(
        loadScenario('pbft-bad-new-view', ['params.unsafeSkipNewViewCheck=true']),
        { seed, trace: 'notes' },
      );
      if (report.safety.violations.some((v) => v.checker === 'pbft.agreement')) violated++;
    }
    expect(violated).toBeGreaterThan(0);
  });
});

describe('negative control: pbft-too-many-byzantine', { timeout: 120_000 }, () => {
  it('two colluders in every quorum intersection break agreement at seq 1 on every seed, naming both commits', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const { report } = run('pbft-too-many-byzantine', seed);
      expect(report.safety.expected).toBe('violated');
      expect(report.ok, `seed ${seed}`).toBe(true);
      const first = report.safety.violations[0];
      expect(first?.checker).toBe('pbft.agreement');
      expect(first?.message).toMatch(
        /^conflicting commits at seq 1: n[23] committed [0-9a-f]{64} in view 0; n[23] committed [0-9a-f]{64} in view 0$/,
      );
      const [a, b] = (first?.evidence ?? []) as {
        node: string;
        data: { seq: number; digest: string };
      }[];
      expect(new Set([a?.node, b?.node])).toEqual(new Set(['n2', 'n3']));
      expect(a?.data.seq).toBe(1);
      expect(a?.data.digest).not.toBe(b?.data.digest);
      expect(first?.message).toContain(a?.data.digest);
      expect(first?.message).toContain(b?.data.digest);
    }
  });

  it('with one splitter only (f = 1) the same attack fails: safety holds', () => {
    const scenario = loadScenario('pbft-too-many-byzantine');
    const one = { ...scenario, adversaries: scenario.adversaries.slice(0, 1) };
    for (const seed of SEEDS) {
      const { report, record } = runScenario(one, { seed, trace: 'notes' });
      expect(describeViolations(report.safety.violations)).toBe('');
      expect(actions(record, 'split-pre-prepare').length).toBeGreaterThan(0);
      expect(report.liveness.ok).toBe(true);
    }
  });
});
