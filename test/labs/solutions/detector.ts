/**
 * Reference solution of lab "leader-detector": the skeleton (labs/leader-detector/detector.ts)
 * filled in from the project's own core, src/pbft/leader-detector.ts (LD-1…LD-15).
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
  private evaluating = false;

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
    if (p !== this.leader || this.complained) return;
    this.sendComplaint(this.currentRound);
    this.evaluate();
  }

  /** LD-7, LD-13: upon [COMPLAINT, r] from j. */
  onComplaint(from: NodeId, round: number): void {
    if (!this.config.replicas.includes(from) || round < this.currentRound) return;
    const list = this.list(round);
    if (list.has(from)) return;
    list.add(from);
    this.boundSender(from);
    this.evaluate();
  }

  /** LD-6 */
  private sendComplaint(round: number): void {
    this.complainedRound = round;
    this.hooks.complain(round);
    this.list(round).add(this.config.self);
  }

  private list(round: number): Set<NodeId> {
    let list = this.complaints.get(round);
    if (list === undefined) {
      list = new Set();
      this.complaints.set(round, list);
    }
    return list;
  }

  private boundSender(from: NodeId): void {
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
  private evaluate(): void {
    if (this.evaluating) return;
    this.evaluating = true;
    try {
      for (;;) {
        // LD-14: depose at the highest r ≥ round with q complaints.
        let deposed = -1;
        for (const [r, list] of this.complaints)
          if (r >= this.currentRound && list.size >= this.config.quorum && r > deposed) deposed = r;
        if (deposed >= 0) {
          this.dropBelow(deposed + 1);
          this.currentRound = deposed + 1;
          this.hooks.trust(this.leader, this.currentRound);
          continue;
        }
        // LD-15: join more than f complainers, at the (f+1)-th highest of their rounds.
        if (!this.complained) {
          const highest = new Map<NodeId, number>();
          for (const [r, list] of this.complaints) {
            if (r < this.currentRound) continue;
            for (const p of list) highest.set(p, Math.max(r, highest.get(p) ?? -1));
          }
          const target = [...highest.values()].sort((a, b) => b - a)[this.config.f];
          if (target !== undefined) {
            this.dropBelow(target);
            this.currentRound = target;
            this.sendComplaint(target);
            continue;
          }
        }
        return;
      }
    } finally {
      this.evaluating = false;
    }
  }

  private dropBelow(round: number): void {
    for (const r of [...this.complaints.keys()]) if (r < round) this.complaints.delete(r);
  }
}

export const detector = (config: Config, hooks: Hooks) => new Detector(config, hooks);
