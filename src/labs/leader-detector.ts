/**
 * Lab "leader-detector" (build): the Byzantine eventual leader detector of PBFT (Cachin,
 * Guerraoui & Rodrigues, Alg. 2.10, with bftkit's catch-up rules LD-13…LD-15) — the reference
 * solution is src/pbft/leader-detector.ts. The lab keeps the pseudocode's `trigger` as hooks
 * the student calls (complain, trust); bftkit's detector returns the same decisions to its
 * replica instead, which acts on them between steps. The student's detector is judged as a
 * module, as it is used: n detectors, f of the processes Byzantine (the harness sends their
 * complaints to whom it likes, about any round), complaints delivered in a random order chosen
 * by the seed, and BLD1–BLD3 checked on the outcome.
 */
import { InputError } from '../core/errors.js';
import type { NodeId } from '../core/protocol.js';
import { Rng } from '../core/rng.js';
import type { Lab, LabTest, RunOutcome, Solution } from './lab.js';

/** What the student's `detector(config, hooks)` returns. */
interface Detector {
  complain(p: NodeId): unknown;
  onComplaint(from: NodeId, round: number): unknown;
  readonly round: number;
  readonly leader: NodeId;
}
type MakeDetector = (
  config: { self: NodeId; replicas: readonly NodeId[]; f: number; quorum: number },
  hooks: { complain(round: number): void; trust(leader: NodeId, round: number): void },
) => Detector;

/** Steps after which a run that has not gone quiet counts as a livelock. */
const MAX_STEPS = 20_000;

interface World {
  n: number;
  f: number;
  replicas: NodeId[];
  correct: NodeId[];
  byzantine: NodeId[];
  detectors: Map<NodeId, Detector>;
  /** Complaints in flight: delivered one at a time, in an order the seed chooses. */
  pending: { from: NodeId; to: NodeId; round: number }[];
  /** What each correct process received, for the relay of deposing complaints. */
  received: Map<NodeId, { from: NodeId; round: number }[]>;
  /** Rounds some correct process complained about (BLD2's witnesses). */
  correctComplaints: Set<number>;
  /** The first BLD2 violation seen. */
  putsch: string | null;
  rng: Rng;
}

function leaderOf(replicas: readonly NodeId[], round: number): NodeId {
  return replicas[round % replicas.length] as NodeId;
}

function build(make: MakeDetector, seed: number): World {
  const rng = new Rng(seed, 0x1ead);
  const f = seed % 2 === 0 ? 2 : 1;
  const n = 3 * f + 1;
  const replicas = Array.from({ length: n }, (_, i) => `n${i}`);
  // The Byzantine processes are drawn by the seed; they never include every candidate leader.
  const byzantine = [...replicas].sort(() => rng.next() - 0.5).slice(0, f);
  const correct = replicas.filter((p) => !byzantine.includes(p));
  const world: World = {
    n,
    f,
    replicas,
    correct,
    byzantine,
    detectors: new Map(),
    pending: [],
    received: new Map(correct.map((p) => [p, []])),
    correctComplaints: new Set(),
    putsch: null,
    rng,
  };
  const quorum = Math.floor((n + f) / 2) + 1;
  for (const self of correct) {
    const detector = make(
      { self, replicas, f, quorum },
      {
        complain: (round) => {
          world.correctComplaints.add(round);
          for (const to of replicas) if (to !== self) world.pending.push({ from: self, to, round });
        },
        trust: (leader, round) => {
          // BLD2: a new leader only after a correct process complained about the previous one.
          if (world.putsch === null && !world.correctComplaints.has(round - 1))
            world.putsch = `BLD2 putsch: ${self} trusts ${leader} (round ${round}) though no correct process complained about round ${round - 1}`;
          if (world.putsch === null && leader !== leaderOf(replicas, round))
            world.putsch = `${self} trusts ${leader} in round ${round}, but leader(${round}) = ${leaderOf(replicas, round)}`;
          // As PBFT's NEW-VIEW does (LD-16), the complaints that deposed the previous leader
          // reach every correct process: Byzantine complaints sent to one process alone
          // cannot leave the others behind.
          for (const m of world.received.get(self) ?? [])
            if (m.round === round - 1)
              for (const to of correct) if (to !== self) world.pending.push({ ...m, to });
        },
      },
    );
    world.detectors.set(self, detector);
  }
  return world;
}

/** Deliver one complaint in flight, chosen by the seed. */
function deliverOne(world: World): boolean {
  if (world.pending.length === 0) return false;
  const i = world.rng.int(0, world.pending.length - 1);
  const [message] = world.pending.splice(i, 1);
  if (message === undefined) return false;
  const target = world.detectors.get(message.to);
  world.received.get(message.to)?.push({ from: message.from, round: message.round });
  target?.onComplaint(message.from, message.round);
  return true;
}

/** Byzantine complaints: about rounds near the lowest correct round, to a random subset. */
function byzantineNoise(world: World, spread: number): void {
  const low = Math.min(...world.correct.map((p) => world.detectors.get(p)?.round ?? 0));
  for (const from of world.byzantine) {
    const round = low + world.rng.int(0, spread);
    for (const to of world.correct)
      if (world.rng.chance(0.5)) world.pending.push({ from, to, round });
  }
}

/** Run `actions` interleaved with deliveries until nothing is left; then judge. */
function run(world: World, actions: (() => void)[]): string | null {
  let steps = 0;
  while (actions.length > 0 || world.pending.length > 0) {
    if (++steps > MAX_STEPS)
      return `no quiescence after ${MAX_STEPS} steps (complaints keep flowing)`;
    if (actions.length > 0 && (world.pending.length === 0 || world.rng.chance(0.2)))
      actions.shift()?.();
    else deliverOne(world);
  }
  return world.putsch;
}

function roundsOf(world: World): string {
  return world.correct.map((p) => `${p}:${world.detectors.get(p)?.round}`).join(' ');
}

function outcome(problem: string | null, ok: string): RunOutcome {
  return problem === null ? { ok: true, detail: ok } : { ok: false, detail: problem };
}

function guarded(body: () => RunOutcome): RunOutcome {
  try {
    return body();
  } catch (e) {
    return {
      ok: false,
      detail: `your code threw ${e instanceof Error ? `${e.name}: ${e.message}` : e}`,
    };
  }
}

const tests: LabTest[] = [
  {
    name: 'putsch',
    description: 'BLD2: f Byzantine processes complain about every round; no correct one moves',
    points: 3,
    required: true,
    mode: 'all',
    traced: false,
    run: (solution, seed) =>
      guarded(() => {
        const world = build(solution.detector as MakeDetector, seed);
        const actions = Array.from({ length: 10 }, () => () => byzantineNoise(world, 3));
        // Every correct process answers the flood for itself too: a complaint about anyone
        // but its leader must change nothing.
        for (const p of world.correct)
          actions.push(() => {
            const d = world.detectors.get(p);
            const other = world.replicas.find((r) => r !== d?.leader) as NodeId;
            d?.complain(other);
          });
        const problem = run(world, actions);
        const moved = world.correct.filter((p) => world.detectors.get(p)?.round !== 0);
        return outcome(
          problem ??
            (moved.length > 0
              ? `BLD2: ${moved.join(', ')} left round 0 (${roundsOf(world)})`
              : null),
          'no correct process moved',
        );
      }),
  },
  {
    name: 'succession',
    description:
      'BLD1: f+1 correct processes complain about leader(0), the Byzantine stay silent; all move on',
    points: 3,
    required: true,
    mode: 'all',
    traced: false,
    run: (solution, seed) =>
      guarded(() => {
        const world = build(solution.detector as MakeDetector, seed);
        const leader0 = leaderOf(world.replicas, 0);
        const complainers = world.correct.slice(0, world.f + 1);
        const actions: (() => void)[] = complainers.map(
          (p) => () => world.detectors.get(p)?.complain(leader0),
        );
        // The Byzantine processes stay silent: the correct complainers must carry it alone.
        const problem = run(world, actions);
        const stuck = world.correct.filter((p) => world.detectors.get(p)?.leader === leader0);
        return outcome(
          problem ??
            (stuck.length > 0
              ? `BLD1: ${complainers.join(', ')} complained about ${leader0}, yet ${stuck.join(', ')} still trust it (${roundsOf(world)})`
              : null),
          'every correct process moved on',
        );
      }),
  },
  {
    name: 'agreement',
    description:
      'BLD3: random complaints, Byzantine noise; once quiet, every correct process agrees',
    points: 4,
    required: true,
    mode: 'all',
    traced: false,
    run: (solution, seed) =>
      guarded(() => {
        const world = build(solution.detector as MakeDetector, seed);
        const actions: (() => void)[] = [];
        for (let i = 0; i < 12; i++) {
          actions.push(() => {
            const p = world.rng.pick(world.correct);
            const d = world.detectors.get(p);
            d?.complain(d.leader);
          });
          if (i % 3 === 0) actions.push(() => byzantineNoise(world, 2));
        }
        const problem = run(world, actions);
        const rounds = new Set(world.correct.map((p) => world.detectors.get(p)?.round));
        return outcome(
          problem ??
            (rounds.size > 1
              ? `BLD3: correct processes disagree once quiet (${roundsOf(world)})`
              : null),
          `all in round ${[...rounds][0]}`,
        );
      }),
  },
];

export const leaderDetectorLab: Lab = {
  name: 'leader-detector',
  kind: 'build',
  title: 'Build the Byzantine eventual leader detector',
  topics: ['leader election', 'Byzantine quorums', 'consensus'],
  hours: 3,
  file: 'detector.ts',
  seeds: { from: 1, to: 40 },
  validate(module: Solution) {
    if (typeof module.detector !== 'function')
      throw new InputError(
        'detector.ts: expected an exported function "detector" (config, hooks) → Detector',
      );
    return module;
  },
  tests,
};
