/**
 * Lab "pbft-attack" (attack): the student plays n1, the Byzantine primary of view 1, and
 * writes a NEW-VIEW that loses a batch the others committed. The unsafe variant is PBFT whose
 * backups take O as the new primary sent it (unsafeSkipNewViewCheck, the mutant
 * pbft-new-view-not-recomputed); the safe protocol recomputes O from V (PBFT-45) and must
 * contain the same adversary. The schedule is pbft-bad-new-view's: the primary of view 0 is
 * cut off from 1 s to 2 s, so the others move to view 1, whose primary is the student's.
 */
import type { Lab } from './lab.js';
import { attackTest, validateAdversary } from './scenario-test.js';

/** pbft-bad-new-view's cluster, schedule and workload; n1 is the student's. */
function newViewScenario(name: string, unsafeSkipNewViewCheck: boolean) {
  return {
    name,
    description: `n = 4, f = 1; the primary of view 0 is cut off 1–2 s and n1, the primary of view 1, is yours; backups ${unsafeSkipNewViewCheck ? 'take O as sent (unsafe)' : 'recompute O from V'}`,
    protocol: 'pbft',
    n: 4,
    f: 1,
    clients: 3,
    duration: 4000,
    params: {
      batchSize: 4,
      batchTimeoutMs: 2,
      checkpointInterval: 8,
      watermarkWindow: 32,
      viewChangeTimeoutMs: 300,
      requestTimeoutMs: 300,
      unsafeSkipNewViewCheck,
    },
    network: { latency: { min: 1, max: 20 } },
    faults: [
      { at: 1000, action: 'partition', blocks: [['primary']] },
      { at: 2000, action: 'heal' },
    ],
    // Marks n1 Byzantine; the grader runs the student's adversary there instead.
    adversaries: [{ node: 'n1', name: 'bad-new-view' }],
    workload: { operations: 45, start: 100, interval: 20 },
    expect: { safety: 'hold' },
  };
}

export const pbftAttackLab: Lab = {
  name: 'pbft-attack',
  kind: 'attack',
  title: 'Break PBFT whose backups do not recompute NEW-VIEW',
  topics: ['Byzantine consensus', 'PBFT', 'view change'],
  hours: 2,
  file: 'attack.ts',
  seeds: { from: 1, to: 5 },
  validate: validateAdversary,
  tests: [
    attackTest(
      'breaks',
      newViewScenario('lab-pbft-attack-unsafe', true),
      'breaks',
      3,
      'backups take O as sent: your NEW-VIEW must make correct replicas disagree',
    ),
    attackTest(
      'contained',
      newViewScenario('lab-pbft-attack-safe', false),
      'contained',
      2,
      'backups recompute O from V (PBFT-45): agreement must hold',
    ),
  ],
};
