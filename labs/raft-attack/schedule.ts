/**
 * Lab "raft-attack": a schedule of crashes, restarts, partitions and network changes that
 * makes Raft without slide 9/9's term condition lose a committed entry (README.md).
 * Grade with: npx bftkit lab grade raft-attack .
 */
import type { ScenarioInput } from 'bftkit';

/**
 * Per replica, its election timeout range [min, max) in ms; replicas not listed draw theirs
 * from [3000, 3300). The shortest timeout stands first, so this chooses who leads next.
 */
export const electionTimeoutMsByNode: Record<string, [number, number]> = {
  // TODO: who should win the first election, and who the later ones?
};

/**
 * The schedule, as in a scenario file: { at, action, … } with action crash / restart /
 * partition / heal / network (see bftkit's scenarios/raft-leader-crash.json and
 * scenario.schema.json). Nodes n0…n4, clients c0…c2; the run lasts 12 s.
 */
export const faults: NonNullable<ScenarioInput['faults']> = [
  // TODO: e.g. { at: 1500, action: 'crash', node: 'leader' },
];
