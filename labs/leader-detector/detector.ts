/**
 * Lab "leader-detector": the Byzantine eventual leader detector (README.md). Write the parts
 * marked TODO; the labels (LD-n) are those of the pseudocode in README.md.
 * Grade with: npx bftkit lab grade leader-detector .
 */
import type { NodeId } from 'bftkit';

export type Config = { self: NodeId; replicas: readonly NodeId[]; f: number; quorum: number };
export type Hooks = {
  /** Send [COMPLAINT, round] to every other process. */
  complain(round: number): void;
  /** Trust(leader): the indication to the layer above. */
  trust(leader: NodeId, round: number): void;
};

/** LD-13: rounds kept per complainer (its highest). */
const MAX_PENDING_PER_SENDER = 4;

export class Detector {
  private currentRound = 0;
  /** The highest round this process complained about (−1: none). */
  private complainedRound = -1;
  /** complainlist[r] for every kept round r ≥ round. */
  private readonly complaints = new Map<number, Set<NodeId>>();

  constructor(
    private readonly config: Config,
    private readonly hooks: Hooks,
  ) {}

  get round(): number {
    return this.currentRound;
  }

  /** LD-1: leader(round). */
  get leader(): NodeId {
    return this.config.replicas[this.currentRound % this.config.replicas.length] as NodeId;
  }

  private get complained(): boolean {
    return this.complainedRound >= this.currentRound;
  }

  /** LD-4, LD-5: upon Complain(p). */
  complain(p: NodeId): void {
    // TODO LD-5: only about the current leader, once per round; then LD-6 and LD-9.
    throw new Error(`TODO: Detector.complain (LD-4, LD-5) about ${p} in round ${this.round}`);
  }

  /** LD-7, LD-13: upon [COMPLAINT, r] from j. */
  onComplaint(from: NodeId, round: number): void {
    // TODO LD-13: a known sender, r ≥ round, once per sender and round (this.list(r)), at most
    // MAX_PENDING_PER_SENDER rounds per sender (this.boundSender); then LD-9.
    throw new Error(`TODO: Detector.onComplaint (LD-7, LD-13) from ${from} about round ${round}`);
  }

  /** LD-6 */
  protected sendComplaint(round: number): void {
    this.complainedRound = round;
    this.hooks.complain(round);
    this.list(round).add(this.config.self);
  }

  protected list(round: number): Set<NodeId> {
    let list = this.complaints.get(round);
    if (list === undefined) {
      list = new Set();
      this.complaints.set(round, list);
    }
    return list;
  }

  protected boundSender(from: NodeId): void {
    const rounds = [...this.complaints.entries()]
      .filter(([, list]) => list.has(from))
      .map(([r]) => r)
      .sort((a, b) => a - b);
    for (let i = 0; i < rounds.length - MAX_PENDING_PER_SENDER; i++) {
      const list = this.complaints.get(rounds[i] as number);
      list?.delete(from);
    }
  }

  /** LD-9: repeat until nothing changes. */
  protected evaluate(): void {
    // TODO LD-14: depose — the highest r ≥ round with q complaints: round := r + 1, Trust.
    // TODO LD-15: join — if not complained and more than f processes complained about rounds
    // ≥ round: the (f+1)-th highest of their highest rounds, r*; round := r*; complain (LD-6).
    // Repeat both until neither applies. (this.dropBelow forgets the rounds left behind.)
    throw new Error(
      `TODO: Detector.evaluate (LD-9, LD-14, LD-15) in round ${this.currentRound}, complained ${this.complained}`,
    );
  }

  protected dropBelow(round: number): void {
    for (const r of [...this.complaints.keys()]) if (r < round) this.complaints.delete(r);
  }
}

export const detector = (config: Config, hooks: Hooks) => new Detector(config, hooks);
