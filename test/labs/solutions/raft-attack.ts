/**
 * Reference solution of lab "raft-attack": the schedule of the project's scenario
 * raft-figure8 (scenarios/raft-figure8.json, whose description tells it step by step). n0
 * leads term 1 and gets entries A to n1 only; n4 wins term 2 with n2 and n3 and appends B
 * alone; n0 wins term 3 and copies A to n2 and n3 — a majority — and, counting replicas,
 * commits it; n4 wins term 4 (its last term, 2, beats their 1) and overwrites A with B.
 */
import type { ScenarioInput } from 'bftkit';

/** n0 stands first, n4 second; the others wait 3 s. */
export const electionTimeoutMsByNode: Record<string, [number, number]> = {
  n0: [300, 305],
  n4: [500, 505],
};

export const faults: NonNullable<ScenarioInput['faults']> = [
  // (a) every log equal, then A reaches n0 and n1 only.
  { at: 1100, action: 'partition', blocks: [['c0', 'c1', 'c2']] },
  { at: 1300, action: 'crash', node: 'n2' },
  { at: 1300, action: 'crash', node: 'n3' },
  { at: 1300, action: 'crash', node: 'n4' },
  { at: 1300, action: 'heal' },
  { at: 1600, action: 'crash', node: 'n0' },
  { at: 1600, action: 'crash', node: 'n1' },
  // Slow messages make the timing below exact.
  { at: 1600, action: 'network', network: { latency: { min: 100, max: 105 } } },
  // (b) n4 wins term 2 with n2, n3; its no-op B stays on n4 alone.
  { at: 1700, action: 'restart', node: 'n2' },
  { at: 1700, action: 'restart', node: 'n3' },
  { at: 1700, action: 'restart', node: 'n4' },
  { at: 2457, action: 'partition', blocks: [['n4']] },
  { at: 2500, action: 'crash', node: 'n4' },
  // (c) n0 wins term 3 and copies A to n2, n3.
  { at: 2600, action: 'restart', node: 'n0' },
  { at: 2600, action: 'restart', node: 'n1' },
  // (d) before C reaches a majority n0 crashes; n4 wins term 4 and overwrites A.
  { at: 4060, action: 'crash', node: 'n0' },
  { at: 4060, action: 'heal' },
  { at: 4060, action: 'restart', node: 'n4' },
  { at: 5600, action: 'network', network: { latency: { min: 1, max: 10 } } },
  { at: 5800, action: 'restart', node: 'n0' },
];
