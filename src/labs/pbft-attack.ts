/**
 * Lab "pbft-attack" (attack): the student plays n1, the Byzantine primary of view 1, and
 * writes a NEW-VIEW that loses a batch the others committed. The unsafe variant is PBFT whose
 * backups take O as the new primary sent it (unsafeSkipNewViewCheck, the mutant
 * pbft-new-view-not-recomputed); the safe protocol recomputes O from V (PBFT-45) and must
 * contain the same adversary. The schedule is pbft-bad-new-view's: the primary of view 0 is
 * cut off from 1 s to 2 s, so the others move to view 1, whose primary is the student's.
 */
import { loadScenario } from '../scenario/load.js';
import type { Lab } from './lab.js';
import { attackTest, validateAdversary } from './scenario-test.js';

/** pbft-bad-new-view with n1 the student's, and the backups' NEW-VIEW check on or off. */
function newViewScenario(name: string, unsafeSkipNewViewCheck: boolean) {
  const base = loadScenario('pbft-bad-new-view');
  return {
    ...base,
    name,
    description: `n = 4, f = 1; the primary of view 0 is cut off 1–2 s and n1, the primary of view 1, is yours; backups ${unsafeSkipNewViewCheck ? 'take O as sent (unsafe)' : 'recompute O from V'}`,
    params: { ...base.params, unsafeSkipNewViewCheck },
    // Liveness is not judged in an attack lab (see runAttack).
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
