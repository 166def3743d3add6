/**
 * Lab "pbft-quorum-attack" (attack): PBFT at n ≤ 3f. The student controls n0 (the primary)
 * and n1 of a cluster built for f = 1 (n = 4, quorums of 3) — one Byzantine replica more than
 * it was built for — and writes an adversary that makes two correct replicas commit different
 * batches at one sequence number. The unsafe variant is the project's negative control
 * pbft-too-many-byzantine, built as register-attack builds the register for f = 1 facing two
 * colluders; the same adversary on n0 and n1 of a cluster built for f = 2 (n = 7, quorums
 * of 5) must be contained.
 */
import { loadScenario } from '../scenario/load.js';
import type { Lab } from './lab.js';
import { attackTest, validateAdversary } from './scenario-test.js';

/**
 * pbft-too-many-byzantine grown to n = 7 > 3·2: the attacker holds n0 (the primary of view 0)
 * and n1, within f. The grader runs the student's adversary on them instead of the splitter.
 */
function safeAgainstTwo() {
  const base = loadScenario('pbft-too-many-byzantine');
  return {
    ...base,
    name: 'lab-pbft-quorum-attack-contained',
    description: 'n = 7, f = 2: the attacker controls n0 and n1, within f',
    n: 7,
    f: 2,
    unsafe: false,
    expect: { safety: 'hold' },
  };
}

export const pbftQuorumAttackLab: Lab = {
  name: 'pbft-quorum-attack',
  kind: 'attack',
  title: 'Break PBFT at n ≤ 3f: two colluders in every quorum intersection',
  topics: ['system models', 'Byzantine quorums', 'PBFT'],
  hours: 2,
  file: 'attack.ts',
  seeds: { from: 1, to: 5 },
  validate: validateAdversary,
  tests: [
    attackTest(
      'breaks',
      'pbft-too-many-byzantine',
      'breaks',
      3,
      'n=4 built for f=1, your adversary on n0 and n1: two correct replicas must commit different batches',
    ),
    attackTest(
      'contained',
      safeAgainstTwo(),
      'contained',
      2,
      'n=7, f=2, the same adversary on n0 and n1: agreement must hold',
    ),
  ],
};
