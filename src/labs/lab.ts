/**
 * A lab: a handout and a skeleton a student starts from (labs/<name>/ in the package), and the
 * tests `bftkit lab grade` runs against the student's file. A build lab's file writes protocol
 * code (graded on safety and liveness under the adversary library); an attack lab's file writes
 * an adversary (graded on whether the checkers find a violation of an unsafe variant, and find
 * none when the same adversary meets the safe protocol).
 */
import type { Simulation } from '../sim/simulation.js';

/** What one run of one test found. */
export interface RunOutcome {
  ok: boolean;
  /** Why it failed (or, for an attack, what it broke), in one line. */
  detail: string;
  /** The simulation, when the test ran one (for a --html trace). */
  sim?: Simulation;
}

/** The student's module, validated by the lab. */
export type Solution = Record<string, unknown>;

export interface LabTest {
  name: string;
  /** One line: what the test checks. */
  description: string;
  points: number;
  /** Exit 0 needs every required test to pass. */
  required: boolean;
  /**
   * How seeds count: `all` passes when every seed passes (a protocol must be correct on every
   * schedule); `any` when one does (an attack needs one schedule it breaks).
   */
  mode: 'all' | 'any';
  /** Points only if these tests passed too (containment counts only for a real attack). */
  needs?: readonly string[];
  /** Whether a run has a simulation whose trace --html can write. */
  traced: boolean;
  run(solution: Solution, seed: number, trace: boolean): RunOutcome;
}

export interface Lab {
  name: string;
  kind: 'build' | 'attack';
  title: string;
  /** Lecture topics it fits (docs/teaching.md lists labs in course order). */
  topics: readonly string[];
  /** Expected time for a student, in hours. */
  hours: number;
  /** The file the student writes, relative to the workspace. */
  file: string;
  /** The seeds `grade` runs by default. */
  seeds: { from: number; to: number };
  /** Check the module's exports; throws an InputError naming what is missing. */
  validate(module: Solution): Solution;
  tests: readonly LabTest[];
}
