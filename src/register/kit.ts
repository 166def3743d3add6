/**
 * Scenario kits for the registers: `byz-register` (Byzantine, signed values), `register`
 * (crash model, regular) and `atomic-register` (crash model, read write-back).
 *
 * Workload: the writer — clients[0], which the scenario runner names c0 — writes the unique
 * values v0, v1, …; every other client reads. The checkers are those of src/check/register.ts
 * over the whole history: all clients are honest, so nothing is left out.
 */
import { checkAtomicity, checkRegularity } from '../check/register.js';
import type { ProtocolKit, RunRecord, Violation } from '../core/kit.js';
import type { NodeId } from '../core/protocol.js';
import type { Rng } from '../core/rng.js';
import type { Json } from '../crypto/json.js';
import { byzantineClient, byzantineReplica } from './byzantine.js';
import { majorityClient, majorityReplica } from './majority.js';
import { atomicRegisterDefinition, byzRegisterDefinition, registerDefinition } from './messages.js';

/** Scenario clients are c0 … c(k−1); the first is the register's single writer. */
export const WRITER: NodeId = 'c0';

function nextOperation(_rng: Rng, client: NodeId, index: number): Json {
  return client === WRITER ? { op: 'write', value: `v${index}` } : { op: 'read' };
}

export const byzantineRegisterKit: ProtocolKit = {
  name: 'byz-register',
  definition: byzRegisterDefinition,
  replica: () => byzantineReplica,
  client: () => byzantineClient,
  nextOperation,
  check: (run: RunRecord): Violation[] => checkRegularity(run.history),
};

export const regularRegisterKit: ProtocolKit = {
  name: 'register',
  definition: registerDefinition,
  replica: () => majorityReplica,
  client: () => majorityClient({ atomic: false }),
  nextOperation,
  check: (run: RunRecord): Violation[] => checkRegularity(run.history),
};

export const atomicRegisterKit: ProtocolKit = {
  name: 'atomic-register',
  definition: atomicRegisterDefinition,
  replica: () => majorityReplica,
  client: () => majorityClient({ atomic: true }),
  nextOperation,
  // Atomicity implies regularity; checkAtomicity reports both kinds of violation.
  check: (run: RunRecord): Violation[] => checkAtomicity(run.history),
};

export const registerKits: readonly ProtocolKit[] = [
  byzantineRegisterKit,
  regularRegisterKit,
  atomicRegisterKit,
];
