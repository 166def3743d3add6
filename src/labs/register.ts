/**
 * The register labs. `register` (build): the Byzantine (1,N) regular register's read and write
 * with quorums of more than (n+f)/2 and writer-signed values — the reference solution is
 * src/register/byzantine.ts. `register-attack` (attack): an adversary for f+1 colluding
 * replicas that breaks the register at n ≤ 3f and is contained at n > 3f.
 */

import { InputError } from '../core/errors.js';
import type { ProtocolFactory } from '../core/protocol.js';
import type { Scenario } from '../scenario/schema.js';
import type { Lab, Solution } from './lab.js';
import {
  attackTest,
  buildTests,
  byzantineNodes,
  validateAdversary,
  type Wrap,
} from './scenario-test.js';

function factory(module: Solution, name: string, file: string): ProtocolFactory {
  const value = module[name];
  if (typeof value !== 'function')
    throw new InputError(`${file}: expected an exported function "${name}" (a ProtocolFactory)`);
  return value as ProtocolFactory;
}

/** Correct nodes run the student's replica and client; Byzantine ones keep their adversary. */
function studentCores(scenario: Scenario, solution: Solution): Wrap {
  const byzantine = byzantineNodes(scenario);
  const replica = solution.replica as ProtocolFactory;
  const client = solution.client as ProtocolFactory;
  return (id, honest) =>
    byzantine.has(id) ? honest : scenario.clients > 0 && id.startsWith('c') ? client : replica;
}

/**
 * n = 7, f = 2, two colluders (within f). The writer reaches only n0…n4 until t = 3000 ms,
 * then the readers reach every replica but n2. A quorum of a majority (4) lets a write
 * complete at {n0, n1, n2, n3} and a read at {n0, n1, n5, n6}: they share only the two
 * colluders, and the read returns a stale value. Quorums of more than (n+f)/2 = 4.5 always
 * share a correct replica.
 */
const quorumIntersection = {
  name: 'lab-register-quorum-intersection',
  description:
    'n = 7, f = 2: two colluding replicas and a schedule under which majority quorums meet only in them',
  protocol: 'byz-register',
  n: 7,
  f: 2,
  clients: 3,
  duration: 20000,
  network: { latency: { min: 1, max: 30 } },
  adversaries: [
    { node: 'n0', name: 'colluding', params: { answer: 'oldest' } },
    { node: 'n1', name: 'colluding', params: { answer: 'oldest' } },
  ],
  faults: [
    { at: 0, action: 'partition', blocks: [['c1', 'c2', 'n5', 'n6']] },
    { at: 3000, action: 'partition', blocks: [['c0', 'n2', 'n3', 'n4']] },
    { at: 9000, action: 'heal' },
  ],
  workload: { operations: 20, start: 100, interval: 10 },
  expect: { safety: 'hold', liveness: { minOps: 60 } },
};

const scenarioTest = buildTests(studentCores);

export const registerLab: Lab = {
  name: 'register',
  kind: 'build',
  title: 'Build the Byzantine (1,N) regular register',
  topics: ['registers', 'Byzantine quorums', 'signatures'],
  hours: 3,
  file: 'register.ts',
  seeds: { from: 1, to: 3 },
  validate(module) {
    factory(module, 'replica', 'register.ts');
    factory(module, 'client', 'register.ts');
    return module;
  },
  tests: [
    scenarioTest(
      'honest',
      'register-honest',
      2,
      'every replica correct; lossy, duplicating network',
    ),
    scenarioTest('stale', 'register-stale-replica', 1, 'a replica answers with its first value'),
    scenarioTest('forging', 'register-forging-replica', 2, 'a replica forges WRITEs: check σ'),
    scenarioTest('equivocating', 'register-equivocating-replica', 1, 'two answers to one read'),
    scenarioTest('replaying', 'register-replaying-replica', 1, 'answers to old reads, old ACKs'),
    scenarioTest('silent', 'register-silent-replicas', 1, 'n=7, f=2 silent: n−f must suffice'),
    scenarioTest(
      'quorum-intersection',
      quorumIntersection,
      2,
      'n=7, f=2 colluders: quorums must exceed (n+f)/2',
    ),
  ],
};

/** The unsafe variant: the register built for f = 1 (n = 4) facing two colluders. */
const tooManyByzantine = 'register-too-many-byzantine';

/**
 * The safe protocol under the same attack: n = 7 > 3·2, two Byzantine replicas, the same kind
 * of schedule (the writer cut off from some replicas, then the readers from others).
 */
const safeAgainstTwo = {
  name: 'lab-register-attack-contained',
  description: 'n = 7, f = 2: the attacker controls n0 and n1, within f',
  protocol: 'byz-register',
  n: 7,
  f: 2,
  clients: 3,
  duration: 20000,
  adversaries: [
    { node: 'n0', name: 'colluding', params: { answer: 'oldest' } },
    { node: 'n1', name: 'colluding', params: { answer: 'oldest' } },
  ],
  faults: [
    { at: 0, action: 'partition', blocks: [['c1', 'c2', 'n5', 'n6']] },
    { at: 3000, action: 'partition', blocks: [['c0', 'n2']] },
  ],
  workload: { operations: 30, start: 100, interval: 10 },
  expect: { safety: 'hold' },
};

export const registerAttackLab: Lab = {
  name: 'register-attack',
  kind: 'attack',
  title: 'Break the Byzantine register at n ≤ 3f',
  topics: ['system models', 'Byzantine quorums', 'registers'],
  hours: 2,
  file: 'attack.ts',
  seeds: { from: 1, to: 5 },
  validate: validateAdversary,
  tests: [
    attackTest(
      'breaks',
      tooManyByzantine,
      'breaks',
      3,
      'n=4 built for f=1, your adversary on n0 and n1: a read must return a stale value',
    ),
    attackTest(
      'contained',
      safeAgainstTwo,
      'contained',
      2,
      'n=7, f=2, the same adversary on n0 and n1: regularity must hold',
    ),
  ],
};
