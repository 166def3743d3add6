/**
 * Lab "raft-attack" (attack): Raft assumes no Byzantine node, so its adversary is the
 * network and the crashes — a schedule. The student writes one (faults, and which replica
 * times out first) that makes a leader of Raft without slide 9/9's term condition
 * (unsafeCommitAnyTerm) commit an entry of an earlier term that a later leader then
 * overwrites: the Raft paper's Figure 8. The same schedule against the real rule must be
 * contained. The cluster is raft-figure8's: n = 5, three clients, one entry per LogRequest,
 * PreVote and CheckQuorum off, election timeouts of 3–3.3 s unless the schedule says otherwise.
 */
import { InputError } from '../core/errors.js';
import { parseRaftParams } from '../raft/kit.js';
import { validateScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/schema.js';
import type { Lab, LabTest, Solution } from './lab.js';
import { runAttack } from './scenario-test.js';

const FILE = 'schedule.ts';

/** The cluster and workload are fixed; the schedule (faults, who times out first) is yours. */
function scenarioOf(solution: Solution, unsafeCommitAnyTerm: boolean): Scenario {
  const raw = {
    name: unsafeCommitAnyTerm ? 'lab-raft-attack-unsafe' : 'lab-raft-attack-safe',
    description: `n = 5, your schedule; leaders ${unsafeCommitAnyTerm ? 'commit earlier-term entries by counting (unsafe)' : 'commit by counting only entries of their own term'}`,
    protocol: 'raft',
    n: 5,
    f: 2,
    clients: 3,
    duration: 12000,
    params: {
      maxSuffix: 1,
      preVote: false,
      checkQuorum: false,
      electionTimeoutMs: [3000, 3300],
      electionTimeoutMsByNode: solution.electionTimeoutMsByNode,
      unsafeCommitAnyTerm,
    },
    network: { latency: { min: 1, max: 10 } },
    faults: solution.faults,
    workload: { operations: 150, start: 100, interval: 10 },
    expect: { safety: 'hold' },
  };
  const scenario = validateScenario(raw, FILE);
  try {
    parseRaftParams(scenario.params);
  } catch {
    throw new InputError(
      `${FILE}: electionTimeoutMsByNode: expected { node: [min, max] } with 0 < min ≤ max`,
    );
  }
  return scenario;
}

function attackTest(want: 'breaks' | 'contained', points: number, description: string): LabTest {
  return {
    name: want,
    description,
    points,
    required: true,
    mode: want === 'breaks' ? 'any' : 'all',
    ...(want === 'contained' ? { needs: ['breaks'] } : {}),
    traced: true,
    run: (solution, seed, trace) =>
      runAttack(scenarioOf(solution, want === 'breaks'), (_id, f) => f, seed, trace, want),
  };
}

export const raftAttackLab: Lab = {
  name: 'raft-attack',
  kind: 'attack',
  title: "Break Raft without Figure 8's commit rule: a schedule",
  topics: ['consensus', 'Raft', 'failure models'],
  hours: 2,
  file: FILE,
  seeds: { from: 1, to: 3 },
  validate(module) {
    if (!Array.isArray(module.faults))
      throw new InputError(`${FILE}: expected an exported array "faults" (the schedule)`);
    if (
      typeof module.electionTimeoutMsByNode !== 'object' ||
      module.electionTimeoutMsByNode === null
    )
      throw new InputError(`${FILE}: expected an exported object "electionTimeoutMsByNode"`);
    // Both variants must build: a bad fault or timeout is the student's input error.
    scenarioOf(module, true);
    return module;
  },
  tests: [
    attackTest(
      'breaks',
      3,
      'leaders commit earlier-term entries by counting: the checkers must find a violation',
    ),
    attackTest(
      'contained',
      2,
      "Raft's own rule (slide 9/9, Figure 8), the same schedule: no violation",
    ),
  ],
};
