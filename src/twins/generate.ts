/**
 * The Twins schedule space (Bano et al., OPODIS 2021; docs/reference/twins.md), for a replicated
 * protocol whose leader rotates through the replicas in order (PBFT: primary(v) = replicas[v
 * mod n]):
 *
 *   instances  the n replicas n0 … n(n−1), then one twin "<id>'" per twinned identity
 *   twins      which f identities are twinned — equivalently, where the twins sit in the
 *              leader rotation (see README.md: this is the schedule's leader choice)
 *   round r    one set-partition of the n+f instances into exactly k non-empty blocks
 *   schedule   (twin set) × partition^R
 *
 * Partitions are enumerated canonically as restricted-growth strings (RGS): a[0] = 0 and
 * a[i] ≤ 1 + max(a[0..i−1]); instance i goes to block a[i]. Each set-partition has exactly one
 * RGS, so relabelling the blocks never yields a second schedule. There are S(n+f, k) of them
 * (Stirling numbers of the second kind).
 *
 * Every schedule has an index in [0, size): mixed radix — the twin set is the most significant
 * digit, then round 1's partition, … round R's. Indices are bigints (the space grows as
 * S(n+f, k)^R), and `sampleIndices` draws M distinct ones uniformly with a seeded Rng (Floyd's
 * algorithm), or takes them all when the space is no larger than M.
 */
import { Rng } from '../core/rng.js';

/** S(n, k): the number of ways to split n labelled items into k non-empty unlabelled blocks. */
export function stirling2(n: number, k: number): bigint {
  if (!Number.isInteger(n) || !Number.isInteger(k) || n < 0 || k < 0) {
    throw new RangeError(`stirling2(${n}, ${k}): expected non-negative integers`);
  }
  if (k > n) return 0n;
  // Row by row: S(i, j) = j·S(i−1, j) + S(i−1, j−1).
  let row: bigint[] = [1n]; // S(0, 0) = 1
  for (let i = 1; i <= n; i++) {
    const next: bigint[] = new Array<bigint>(Math.min(i, k) + 1).fill(0n);
    for (let j = 1; j < next.length; j++) {
      next[j] = BigInt(j) * (row[j] ?? 0n) + (row[j - 1] ?? 0n);
    }
    row = next;
  }
  return row[k] ?? 0n;
}

/** C(n, k) as a bigint. */
export function binomial(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let result = 1n;
  for (let i = 0; i < k; i++) result = (result * BigInt(n - i)) / BigInt(i + 1);
  return result;
}

/**
 * Completions of an RGS prefix: with `used` blocks opened so far and `remaining` items left,
 * how many ways end with exactly k blocks. C(0, j) = [j = k]; C(r, j) = j·C(r−1, j) +
 * C(r−1, j+1). Table indexed [remaining][used].
 */
function completionTable(items: number, k: number): bigint[][] {
  const table: bigint[][] = [];
  for (let r = 0; r <= items; r++) {
    const row: bigint[] = [];
    for (let j = 0; j <= k; j++) {
      if (r === 0) row.push(j === k ? 1n : 0n);
      else {
        const prev = table[r - 1]!;
        row.push(BigInt(j) * prev[j]! + (j < k ? prev[j + 1]! : 0n));
      }
    }
    table.push(row);
  }
  return table;
}

/**
 * Every RGS of length `items` with exactly k blocks, in lexicographic order (which is also the
 * order of `unrankRgs`).
 */
export function* restrictedGrowthStrings(items: number, k: number): Generator<number[]> {
  if (items === 0) {
    if (k === 0) yield [];
    return;
  }
  if (k < 1 || k > items) return;
  const a: number[] = new Array<number>(items).fill(0);
  function* fill(i: number, used: number): Generator<number[]> {
    const remaining = items - i;
    if (remaining === 0) {
      if (used === k) yield a.slice();
      return;
    }
    // Prune: the blocks still to open must fit into the items left.
    if (k - used > remaining) return;
    for (let b = 0; b <= Math.min(used, k - 1); b++) {
      a[i] = b;
      yield* fill(i + 1, b === used ? used + 1 : used);
    }
  }
  a[0] = 0;
  yield* fill(1, 1);
}

/** The rank-th RGS (0-based, lexicographic) of length `items` with exactly k blocks. */
export function unrankRgs(items: number, k: number, rank: bigint): number[] {
  const total = stirling2(items, k);
  if (rank < 0n || rank >= total) {
    throw new RangeError(`RGS rank ${rank} outside [0, ${total})`);
  }
  const table = completionTable(items, k);
  const a: number[] = [0];
  let used = 1;
  let left = rank;
  for (let i = 1; i < items; i++) {
    const remaining = items - i - 1;
    for (let b = 0; b <= Math.min(used, k - 1); b++) {
      const opens = b === used;
      const count = table[remaining]![opens ? used + 1 : used]!;
      if (left < count) {
        a.push(b);
        if (opens) used++;
        break;
      }
      left -= count;
    }
  }
  return a;
}

/** The rank of an RGS with exactly k blocks (inverse of `unrankRgs`). */
export function rankRgs(rgs: readonly number[], k: number): bigint {
  const items = rgs.length;
  const table = completionTable(items, k);
  let rank = 0n;
  let used = 1;
  for (let i = 1; i < items; i++) {
    const remaining = items - i - 1;
    const chosen = rgs[i]!;
    for (let b = 0; b < chosen; b++) {
      rank += table[remaining]![b === used ? used + 1 : used]!;
    }
    if (chosen === used) used++;
  }
  return rank;
}

/** The k-subsets of {0 … n−1} in lexicographic order; rank-th of them. */
export function unrankSubset(n: number, k: number, rank: bigint): number[] {
  const out: number[] = [];
  let left = rank;
  let next = 0;
  for (let slot = 0; slot < k; slot++) {
    for (let x = next; x < n; x++) {
      const count = binomial(n - x - 1, k - slot - 1);
      if (left < count) {
        out.push(x);
        next = x + 1;
        break;
      }
      left -= count;
    }
  }
  return out;
}

export interface SpaceConfig {
  /** Replicas n0 … n(n−1); the leader of round r (view r−1) is n((r−1) mod n). */
  n: number;
  /** Twinned identities. */
  f: number;
  rounds: number;
  /** Blocks per round's partition (exactly this many, all non-empty). */
  partitions: number;
}

export interface Schedule {
  /** Position in the schedule space (decimal string of a bigint). */
  index: string;
  /** Twinned identities, e.g. ["n1"]; their twins are the instances "n1'". */
  twins: string[];
  /** All instances, in the order the RGS of each round refers to. */
  instances: string[];
  /** Leader of each round: the primary of view r−1 (a twinned one leads in both blocks). */
  leaders: string[];
  /** For each round, its blocks of instance ids (block b = the b-th block of the RGS). */
  rounds: string[][][];
}

export function replicaNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `n${i}`);
}

export function checkSpace(config: SpaceConfig): void {
  const { n, f, rounds, partitions } = config;
  const ok = (x: number, min: number) => Number.isInteger(x) && x >= min;
  if (!ok(n, 1) || !ok(f, 0) || f > n) throw new RangeError(`twins: need 0 ≤ f ≤ n, n ≥ 1`);
  if (!ok(rounds, 1)) throw new RangeError('twins: rounds must be at least 1');
  if (!ok(partitions, 1) || partitions > n + f) {
    throw new RangeError(`twins: partitions must be 1 … ${n + f} (the number of instances)`);
  }
}

/** Partitions of one round: S(n+f, k). */
export function partitionsPerRound(config: SpaceConfig): bigint {
  return stirling2(config.n + config.f, config.partitions);
}

/** Twin sets: C(n, f). */
export function twinChoices(config: SpaceConfig): bigint {
  return binomial(config.n, config.f);
}

/** The exact size of the schedule space: C(n, f) · S(n+f, k)^R. */
export function spaceSize(config: SpaceConfig): bigint {
  checkSpace(config);
  return twinChoices(config) * partitionsPerRound(config) ** BigInt(config.rounds);
}

/** The schedule at `index` (0 ≤ index < spaceSize). */
export function scheduleAt(config: SpaceConfig, index: bigint): Schedule {
  const size = spaceSize(config);
  if (index < 0n || index >= size) throw new RangeError(`schedule ${index} outside [0, ${size})`);
  const perRound = partitionsPerRound(config);
  const replicas = replicaNames(config.n);
  const ranks: bigint[] = [];
  let rest = index;
  for (let r = 0; r < config.rounds; r++) {
    ranks.unshift(rest % perRound);
    rest /= perRound;
  }
  const twins = unrankSubset(config.n, config.f, rest).map((i) => replicas[i]!);
  const instances = [...replicas, ...twins.map((id) => `${id}'`)];
  const items = instances.length;
  const rounds = ranks.map((rank) => {
    const rgs = unrankRgs(items, config.partitions, rank);
    const blocks: string[][] = Array.from({ length: config.partitions }, () => []);
    rgs.forEach((b, i) => {
      blocks[b]!.push(instances[i]!);
    });
    return blocks;
  });
  const leaders = Array.from({ length: config.rounds }, (_, r) => replicas[r % config.n]!);
  return { index: index.toString(), twins, instances, leaders, rounds };
}

/** Uniform bigint in [0, bound) from 32-bit draws, by rejection. */
export function randomBelow(rng: Rng, bound: bigint): bigint {
  if (bound <= 0n) throw new RangeError('randomBelow: empty range');
  const bits = bound.toString(2).length;
  const words = Math.ceil(bits / 32);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    let x = 0n;
    for (let w = 0; w < words; w++) {
      x = (x << 32n) | BigInt(Math.floor(rng.next() * 4294967296));
    }
    x &= mask;
    if (x < bound) return x;
  }
}

/**
 * M distinct schedule indices, uniformly at random for a seed (Floyd's algorithm: exactly M
 * draws, every M-subset equally likely), in increasing order; all of them when size ≤ M.
 */
export function sampleIndices(size: bigint, sample: number, seed: number): bigint[] {
  if (!Number.isInteger(sample) || sample < 0) throw new RangeError('sample must be ≥ 0');
  if (size <= BigInt(sample)) {
    const all: bigint[] = [];
    for (let i = 0n; i < size; i++) all.push(i);
    return all;
  }
  const rng = new Rng(seed, 0x7e1a5);
  const chosen = new Set<bigint>();
  const m = BigInt(sample);
  for (let j = size - m; j < size; j++) {
    const t = randomBelow(rng, j + 1n);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A schedule in one line: "twins n1 | r1 n0 {n0 n2} {n1 n1' n3} | r2 n1* {…} {…}" — per round
 * its leader (* when twinned: it leads in both copies) and its blocks of instances.
 */
export function describeSchedule(s: Schedule): string {
  const rounds = s.rounds.map((blocks, r) => {
    const leader = s.leaders[r]!;
    const mark = s.twins.includes(leader) ? '*' : '';
    return `r${r + 1} ${leader}${mark} ${blocks.map((b) => `{${b.join(' ')}}`).join(' ')}`;
  });
  return [`twins ${s.twins.join(',') || '-'}`, ...rounds].join(' | ');
}
