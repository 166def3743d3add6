/** Every lab, in course order (docs/teaching.md follows the same order). */
import { InputError } from '../core/errors.js';
import type { Lab } from './lab.js';
import { leaderDetectorLab } from './leader-detector.js';
import { pbftAttackLab } from './pbft-attack.js';
import { pbftQuorumAttackLab } from './pbft-quorum-attack.js';
import { pbftViewChangeLab } from './pbft-view-change.js';
import { raftAttackLab } from './raft-attack.js';
import { raftCommitLab } from './raft-commit.js';
import { registerAttackLab, registerLab } from './register.js';
import { signaturesLab } from './signatures.js';

/** Crash-tolerant consensus (Raft) before Byzantine consensus (PBFT). */
const labs: readonly Lab[] = [
  registerLab,
  registerAttackLab,
  raftCommitLab,
  raftAttackLab,
  leaderDetectorLab,
  pbftViewChangeLab,
  pbftAttackLab,
  pbftQuorumAttackLab,
  signaturesLab,
];

export function knownLabs(): readonly Lab[] {
  return labs;
}

export function findLab(name: string): Lab {
  const lab = labs.find((l) => l.name === name);
  if (lab === undefined)
    throw new InputError(
      `unknown lab "${name}"; known labs: ${labs.map((l) => l.name).join(', ')}`,
    );
  return lab;
}
