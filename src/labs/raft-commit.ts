/**
 * Lab "raft-commit" (build): Raft's log rules — the follower's consistency check (slide 6/9),
 * the repair of its log on a conflict (slide 7/9, the paper's Figure 2) and the leader's
 * commit rule with its term condition (slide 9/9, Figure 8). The reference solution is
 * src/raft/rules.ts. Every replica of each scenario runs bftkit's RaftNode with the student's
 * three functions as its `rules` option; the checkers (election safety, state-machine safety,
 * leader completeness, linearizability) and the liveness bound judge the run.
 */
import { InputError } from '../core/errors.js';
import { replicaOptions } from '../raft/kit.js';
import { RaftNode } from '../raft/raft.js';
import type { RaftRules } from '../raft/rules.js';
import { replicaIds } from '../scenario/runner.js';
import type { Scenario } from '../scenario/schema.js';
import type { Lab, Solution } from './lab.js';
import { buildTests, type Wrap } from './scenario-test.js';

const FILE = 'rules.ts';
const RULES = ['logOk', 'truncateTo', 'commitLogEntries'] as const;

/** Every replica runs RaftNode with the student's rules; clients keep bftkit's. */
function studentRules(scenario: Scenario, solution: Solution): Wrap {
  const rules = solution as unknown as RaftRules;
  const replicas = new Set(replicaIds(scenario.n));
  return (id, factory) =>
    replicas.has(id)
      ? (ctx) => new RaftNode(ctx, { ...replicaOptions(scenario.params, id), rules })
      : factory;
}

const scenarioTest = buildTests(studentRules);

export const raftCommitLab: Lab = {
  name: 'raft-commit',
  kind: 'build',
  title: "Build Raft's commit rule and log repair (Figure 8)",
  topics: ['consensus', 'state machine replication', 'Raft'],
  hours: 3,
  file: FILE,
  seeds: { from: 1, to: 3 },
  validate(module) {
    for (const name of RULES)
      if (typeof module[name] !== 'function')
        throw new InputError(`${FILE}: expected an exported function "${name}"`);
    return module;
  },
  tests: [
    scenarioTest('honest', 'raft-honest', 2, 'n=5, no fault: entries commit, logs agree'),
    scenarioTest('lossy', 'raft-lossy-network', 1, 'loss and duplicates: stale LogRequests'),
    scenarioTest('leader-crash', 'raft-leader-crash', 2, 'the leader crashes and restarts'),
    scenarioTest(
      'stale-leader',
      'raft-partition-minority-leader',
      2,
      "a partitioned leader's uncommitted entries are overwritten",
    ),
    scenarioTest('figure8', 'raft-figure8', 3, "the Raft paper's Figure 8, scripted"),
  ],
};
