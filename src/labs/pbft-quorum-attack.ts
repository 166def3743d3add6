/**
 * Lab "pbft-quorum-attack" (attack): PBFT at n ≤ 3f. The student controls n0 (the primary)
 * and n1 of a cluster built for f = 1 (n = 4, quorums of 3) — one Byzantine replica more than
 * it was built for — and writes an adversary that makes two correct replicas commit different
 * batches at one sequence number. The unsafe variant is the project's negative control
 * pbft-too-many-byzantine, built as register-attack builds the register for f = 1 facing two
 * colluders; the same adversary on n0 and n1 of a cluster built for f = 2 (n = 7, quorums
 * of 5) must be contained.
 */
import type { Lab } from './lab.js';
import { attackTest, validateAdversary } from './scenario-test.js';

/** n = 7 > 3·2: the attacker holds n0 (the primary of view 0) and n1, within f. */
const safeAgainstTwo = {
  name: 'lab-pbft-quorum-attack-contained',
  description: 'n = 7, f = 2: the attacker controls n0 and n1, within f',
  protocol: 'pbft',
  n: 7,
  f: 2,
  clients: 3,
  duration: 2000,
  params: {
    batchSize: 4,
    batchTimeoutMs: 2,
    checkpointInterval: 8,
    watermarkWindow: 32,
    viewChangeTimeoutMs: 300,
    requestTimeoutMs: 300,
  },
  network: { latency: { min: 1, max: 20 } },
  // Marks n0 and n1 Byzantine; the grader runs the student's adversary there instead.
  adversaries: [
    { node: 'n0', name: 'quorum-splitter' },
    { node: 'n1', name: 'quorum-splitter' },
  ],
  workload: { operations: 15, start: 100, interval: 10 },
  expect: { safety: 'hold' },
};

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
      safeAgainstTwo,
      'contained',
      2,
      'n=7, f=2, the same adversary on n0 and n1: agreement must hold',
    ),
  ],
};
