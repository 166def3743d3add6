/**
 * Byzantine eventual leader detector (docs/reference/leader-detector.md; Cachin, Guerraoui &
 * Rodrigues, Alg. 2.10 "Rotating Byzantine Leader Detection"), as a sans-IO module:
 *
 *   request    ⟨bld, Complain | p⟩  → complain(p)
 *   [COMPLAINT, r] from q            → onComplaint(q, r, payload)
 *   send [COMPLAINT, r] to all       → returned: { kind: 'complain', round }  (the caller
 *                                      multicasts it, then hands it back: countOwn)
 *   indication ⟨bld, Trust | p⟩     → returned: { kind: 'trust', leader: p, round }
 *
 * The detector never calls its caller. An input records what happened and returns the first
 * decision it leads to; the caller acts on it and asks for the next one (`next`) until there
 * is none — the textbook's "repeat until nothing changes" (LD-9), one step at a time, so that
 * the caller sees the detector exactly as it was when each decision was taken.
 *
 * Rounds start at `initialRound` (0 for PBFT: round = view), leader(r) = replicas[r mod N].
 * A complaint is opaque to the detector (`C`): PBFT's complaint about round v is its signed
 * VIEW-CHANGE for view v+1, so the complaints that move the detector to round v+1 are exactly
 * the q VIEW-CHANGEs the new primary puts into its NEW-VIEW.
 *
 * Two generalisations of the textbook algorithm, both from PBFT (docs/reference/pbft.md):
 * - Complaints about rounds above the current one are kept (a lagging process catches up):
 *   q complaints about any round r ≥ round move it to r+1, and f+1 processes complaining about
 *   rounds ≥ round make it complain too, about the smallest round of such an f+1 set.
 * - New leader at `quorum` complaints (q = ⌊(n+f)/2⌋+1, which is 2f+1 at n = 3f+1).
 * Timeouts double with every round that passes without progress (see `timeoutMs`), and stay
 * longer for a while after a round change that progress followed (`backoff`).
 */
import type { NodeId } from '../core/protocol.js';

export interface LeaderDetectorConfig {
  readonly self: NodeId;
  /** Processes in rank order: leader(r) = replicas[r mod N]. */
  readonly replicas: readonly NodeId[];
  readonly f: number;
  /** Complaints that depose a leader: the cluster's Byzantine quorum. */
  readonly quorum: number;
  /** Timeout of a round that follows progress; doubles with each round without progress. */
  readonly baseTimeoutMs: number;
  /** Cap on the doubling (2^maxBackoff × base). */
  readonly maxBackoff?: number;
  /** Progress reports in one round that take one doubling of `backoff` off again (default 32). */
  readonly backoffDecay?: number;
  /** Highest rounds kept per complainer (bounds what a Byzantine complainer can make us hold). */
  readonly maxPendingPerSender?: number;
}

/**
 * What the detector decided; the caller acts on it before asking for the next one.
 * - `complain`: send [COMPLAINT, round] to all, and hand the complaint back (`countOwn`): it
 *   counts at once (it is not delivered back to us).
 * - `trust`: Trust(leader), `leader` = leader(round), is now the trusted leader.
 */
export type Decision =
  | { readonly kind: 'complain'; readonly round: number }
  | { readonly kind: 'trust'; readonly leader: NodeId; readonly round: number };

export type ComplaintOutcome = 'recorded' | 'stale' | 'duplicate' | 'unknown-sender';

export class LeaderDetector<C = null> {
  private currentRound: number;
  /** The highest round this process complained about (−1: none). */
  private complainedRound = -1;
  /** complainlist, per round ≥ current round: who complained, with the complaint. */
  private readonly complaints = new Map<number, Map<NodeId, C>>();
  /** The complaints that deposed the previous leader (about round − 1): the new leader's proof. */
  private deposing: ReadonlyMap<NodeId, C> = new Map();
  /** The last round in which the caller reported progress (resets the timeout). */
  private progressRound: number;
  /**
   * Doublings kept after progress resumed in a new round. A round change that progress follows
   * may be a leader that was only slow — a starved machine: each backup's timer fires before
   * the busy primary gets to its request, and a base timeout after every view change makes a
   * storm of them. So each such round change adds one doubling, and every `backoffDecay`
   * progress reports within one round take one off: the timeout follows the cluster's pace.
   */
  private backoff = 0;
  private progressSinceBackoff = 0;

  constructor(
    private readonly config: LeaderDetectorConfig,
    initialRound = 0,
  ) {
    if (config.replicas.length === 0) throw new Error('leader detector needs processes');
    this.currentRound = initialRound;
    this.progressRound = initialRound;
  }

  get round(): number {
    return this.currentRound;
  }

  /** LD-3, LD-11: the trusted leader, leader(round). */
  get leader(): NodeId {
    return this.leaderOf(this.currentRound);
  }

  /** LD-1 leader(r) := replicas[r mod N] */
  leaderOf(round: number): NodeId {
    const { replicas } = this.config;
    return replicas[round % replicas.length] as NodeId;
  }

  /** LD-2, LD-6 complained: about the current round's leader. */
  get complained(): boolean {
    return this.complainedRound >= this.currentRound;
  }

  /**
   * LD-17 complaintsFor(round − 1) = deposing: the q complaints that started the current round
   *       — the new leader's proof that it was chosen. Other rounds: the complaints held.
   */
  complaintsFor(round: number): ReadonlyMap<NodeId, C> {
    if (round === this.currentRound - 1) return this.deposing;
    return this.complaints.get(round) ?? new Map();
  }

  /**
   * LD-4  upon Complain(p):
   * LD-5    if p = leader(round) and not complained:
   * LD-6      complained := true; send [COMPLAINT, round] to all
   * Returns that decision (null: no complaint); the caller sends it, counts it (`countOwn`),
   * then follows `next` (LD-9).
   */
  complain(p: NodeId): Decision | null {
    if (p !== this.leader || this.complained) return null;
    return this.sendComplaint(this.currentRound);
  }

  /** LD-6 "add self to complainlist[round]": the complaint the caller sent for `round`. */
  countOwn(round: number, complaint: C): void {
    this.list(round).set(this.config.self, complaint);
  }

  /**
   * LD-7  upon [COMPLAINT, r] from process j:
   * LD-8    if r = round: add j to complainlist[round]   (LD-13: r ≥ round kept, bounded)
   * When `recorded`, the caller follows `next` (LD-9).
   */
  onComplaint(from: NodeId, round: number, complaint: C): ComplaintOutcome {
    return this.record(from, round, complaint);
  }

  /**
   * LD-16 a batch of complaints (the V of a NEW-VIEW) is recorded whole, then LD-14 / LD-15
   *       run once: a process that catches up this way moves straight to the new round.
   * Returns whether any was recorded (then the caller follows `next`).
   */
  onComplaints(list: Iterable<readonly [NodeId, number, C]>): boolean {
    let any = false;
    for (const [from, round, complaint] of list) {
      if (this.record(from, round, complaint) === 'recorded') any = true;
    }
    return any;
  }

  /** LD-18 progress(): progressRound := round (the caller made progress under this leader). */
  progress(): void {
    const cap = this.config.maxBackoff ?? 10;
    if (this.progressRound < this.currentRound) {
      this.backoff = Math.min(cap, this.backoff + 1);
      this.progressSinceBackoff = 0;
    } else if (
      this.backoff > 0 &&
      ++this.progressSinceBackoff >= (this.config.backoffDecay ?? 32)
    ) {
      this.backoff--;
      this.progressSinceBackoff = 0;
    }
    this.progressRound = this.currentRound;
  }

  /** LD-18 timeout := base · 2^min(round − progressRound, maxBackoff) (plus `backoff`). */
  timeoutMs(): number {
    const exponent = Math.min(
      Math.max(0, this.currentRound - this.progressRound) + this.backoff,
      this.config.maxBackoff ?? 10,
    );
    return this.config.baseTimeoutMs * 2 ** exponent;
  }

  /**
   * LD-19 restore(r, own) after a restart: round := r; progressRound := r; no complaints kept;
   *       if own is the process's persisted complaint about r, it counts as complained.
   */
  restore(round: number, own: C | null): void {
    this.currentRound = round;
    this.progressRound = round;
    this.backoff = 0;
    this.progressSinceBackoff = 0;
    this.complaints.clear();
    this.deposing = new Map();
    if (own !== null) {
      this.complainedRound = round;
      this.list(round).set(this.config.self, own);
    }
  }

  /** LD-6 complained := true; send [COMPLAINT, round] to all (returned to the caller). */
  private sendComplaint(round: number): Decision {
    this.complainedRound = round;
    return { kind: 'complain', round };
  }

  private list(round: number): Map<NodeId, C> {
    let list = this.complaints.get(round);
    if (list === undefined) {
      list = new Map();
      this.complaints.set(round, list);
    }
    return list;
  }

  /** LD-13 a complaint about r < round is stale; one about r ≥ round is kept in complainlist[r]. */
  private record(from: NodeId, round: number, complaint: C): ComplaintOutcome {
    if (!this.config.replicas.includes(from)) return 'unknown-sender';
    if (round < this.currentRound) return 'stale';
    const list = this.list(round);
    if (list.has(from)) return 'duplicate';
    list.set(from, complaint);
    this.boundSender(from);
    return 'recorded';
  }

  /** LD-13 each complainer keeps at most 4 rounds (its highest). */
  private boundSender(from: NodeId): void {
    const limit = this.config.maxPendingPerSender ?? 4;
    const rounds = [...this.complaints.entries()]
      .filter(([, list]) => list.has(from))
      .map(([r]) => r)
      .sort((a, b) => a - b);
    for (let i = 0; i < rounds.length - limit; i++) {
      const r = rounds[i] as number;
      const list = this.complaints.get(r);
      list?.delete(from);
      if (list?.size === 0) this.complaints.delete(r);
    }
  }

  /**
   * LD-9   after LD-6 or LD-8, repeat until nothing changes:   (the caller repeats `next`)
   * LD-14  depose: if some r ≥ round has |complainlist[r]| ≥ q, take the highest such r;
   *        round := r+1; complained := false; Trust(leader(round)).
   * LD-15  join: else, if not complained and more than f processes complained about rounds
   *        ≥ round: round := r*; complain about r* (LD-6).
   * One step: the next decision, or null once nothing changes.
   */
  next(): Decision | null {
    let deposed = -1;
    for (const [r, list] of this.complaints) {
      if (r >= this.currentRound && list.size >= this.config.quorum && r > deposed) deposed = r;
    }
    if (deposed >= 0) return this.advance(deposed + 1);
    if (this.complained) return null;
    const target = this.amplificationRound();
    if (target === null) return null;
    if (target > this.currentRound) {
      this.dropBelow(target);
      this.deposing = new Map();
    }
    this.currentRound = target;
    return this.sendComplaint(target);
  }

  /**
   * LD-15 r*: the (f+1)-th highest of each process's highest complaint round ≥ round — the
   *       highest round such that f+1 processes complained about it or a later one (or null).
   */
  private amplificationRound(): number | null {
    const highest = new Map<NodeId, number>();
    for (const [r, list] of this.complaints) {
      if (r < this.currentRound) continue;
      for (const p of list.keys()) highest.set(p, Math.max(r, highest.get(p) ?? -1));
    }
    const rounds = [...highest.values()].sort((a, b) => b - a);
    const r = rounds[this.config.f];
    return r === undefined ? null : r;
  }

  /** LD-11, LD-14 round := r+1; complained := false; Trust(leader(round)). */
  private advance(round: number): Decision {
    this.deposing = this.complaints.get(round - 1) ?? new Map();
    this.dropBelow(round);
    this.currentRound = round;
    return { kind: 'trust', leader: this.leaderOf(round), round };
  }

  private dropBelow(round: number): void {
    for (const r of [...this.complaints.keys()]) if (r < round) this.complaints.delete(r);
  }
}
