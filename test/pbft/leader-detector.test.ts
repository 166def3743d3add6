/**
 * The Byzantine eventual leader detector alone, over a tiny in-test network with adversarial
 * delivery order: BLD1 eventual succession, BLD2 putsch resistance, BLD3 eventual agreement
 * (docs/reference/leader-detector.md).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byzantineQuorum } from '../../src/core/quorum.js';
import {
  type ComplaintOutcome,
  type Decision,
  LeaderDetector,
} from '../../src/pbft/leader-detector.js';

interface Complaint {
  readonly from: string;
  readonly to: string;
  readonly round: number;
}

/**
 * A detector with its caller's side, as the PBFT replica drives it: each input is followed by
 * the decisions it leads to, one at a time (LD-9), each acted on before the next is asked for.
 */
class DrivenDetector {
  constructor(
    private readonly d: LeaderDetector<null>,
    private readonly send: (round: number) => void,
    private readonly trust: (leader: string, round: number) => void,
  ) {}

  private follow(first: Decision | null): void {
    for (let x = first; x !== null; x = this.d.next()) {
      if (x.kind === 'complain') {
        this.send(x.round);
        this.d.countOwn(x.round, null);
      } else {
        this.trust(x.leader, x.round);
      }
    }
  }

  complain(p: string): boolean {
    const decision = this.d.complain(p);
    if (decision === null) return false;
    this.follow(decision);
    return true;
  }

  onComplaint(from: string, round: number, complaint: null): ComplaintOutcome {
    const outcome = this.d.onComplaint(from, round, complaint);
    if (outcome === 'recorded') this.follow(this.d.next());
    return outcome;
  }

  onComplaints(list: Iterable<readonly [string, number, null]>): void {
    if (this.d.onComplaints(list)) this.follow(this.d.next());
  }

  get round(): number {
    return this.d.round;
  }
  get leader(): string {
    return this.d.leader;
  }
  get complained(): boolean {
    return this.d.complained;
  }
  complaintsFor(round: number): ReadonlyMap<string, null> {
    return this.d.complaintsFor(round);
  }
  timeoutMs(): number {
    return this.d.timeoutMs();
  }
  progress(): void {
    this.d.progress();
  }
}

/**
 * n processes p0…p(n−1); the Byzantine ones run no detector — the test speaks for them.
 * `picks` chooses which queued message is delivered next (any order, as in an asynchronous
 * network with reliable links).
 */
class Network {
  readonly ids: string[];
  readonly detectors = new Map<string, DrivenDetector>();
  readonly trusts = new Map<string, { leader: string; round: number }[]>();
  readonly queue: Complaint[] = [];
  private step = 0;

  constructor(
    readonly n: number,
    readonly f: number,
    readonly byzantine: ReadonlySet<string>,
    private readonly picks: readonly number[] = [0],
  ) {
    this.ids = Array.from({ length: n }, (_, i) => `p${i}`);
    const quorum = byzantineQuorum(n, f);
    for (const id of this.ids) {
      if (byzantine.has(id)) continue;
      this.trusts.set(id, []);
      this.detectors.set(
        id,
        new DrivenDetector(
          new LeaderDetector<null>({ self: id, replicas: this.ids, f, quorum, baseTimeoutMs: 100 }),
          (round) => {
            for (const to of this.ids) if (to !== id) this.queue.push({ from: id, to, round });
          },
          (leader, round) => this.trusts.get(id)?.push({ leader, round }),
        ),
      );
    }
  }

  get correct(): string[] {
    return this.ids.filter((id) => !this.byzantine.has(id));
  }

  detector(id: string): DrivenDetector {
    const d = this.detectors.get(id);
    if (d === undefined) throw new Error(`${id} is not correct`);
    return d;
  }

  /** A Byzantine process sends [COMPLAINT, round] to the given processes (default: all). */
  byzantineComplaint(from: string, round: number, to: readonly string[] = this.ids): void {
    for (const t of to) if (t !== from) this.queue.push({ from, to: t, round });
  }

  /** The caller's Complain(p), e.g. on a timeout, at correct process `id`. */
  complain(id: string, p: string): boolean {
    return this.detector(id).complain(p);
  }

  deliverAll(): void {
    while (this.queue.length > 0) {
      const pick = this.picks[this.step++ % this.picks.length] ?? 0;
      const [m] = this.queue.splice(pick % this.queue.length, 1);
      if (m === undefined) break;
      this.detectors.get(m.to)?.onComplaint(m.from, m.round, null);
    }
  }

  /**
   * Run to quiescence with timeouts: whenever the network is quiet, every correct process
   * whose trusted leader is `silent` (crashed or mute) times out and complains about it.
   */
  runWithTimeouts(silent: ReadonlySet<string>, maxRounds = 50): void {
    for (let i = 0; i < maxRounds; i++) {
      this.deliverAll();
      let complained = false;
      for (const id of this.correct) {
        const d = this.detector(id);
        if (silent.has(d.leader) && d.complain(d.leader)) complained = true;
      }
      if (!complained) return;
    }
    throw new Error('no quiescence');
  }

  leaders(): string[] {
    return this.correct.map((id) => this.detector(id).leader);
  }
}

const picksArb = fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 50 });

describe('leader detector — interface and mechanics', () => {
  it('trusts leader(round) = replicas[round mod N] from the start, and only complains about it', () => {
    const net = new Network(4, 1, new Set());
    const d = net.detector('p1');
    expect(d.round).toBe(0);
    expect(d.leader).toBe('p0');
    expect(net.complain('p1', 'p2')).toBe(false); // not the trusted leader
    expect(net.complain('p1', 'p0')).toBe(true);
    expect(net.complain('p1', 'p0')).toBe(false); // complained already
    expect(net.queue.filter((m) => m.from === 'p1')).toHaveLength(3);
  });

  it('amplifies at f+1 complaints and moves to a new leader at q', () => {
    const net = new Network(7, 2, new Set()); // q = 5
    const d = net.detector('p6');
    d.onComplaint('p1', 0, null);
    d.onComplaint('p2', 0, null);
    expect(d.complained).toBe(false);
    d.onComplaint('p3', 0, null); // f+1 = 3: p6 joins
    expect(d.complained).toBe(true);
    expect(d.complaintsFor(0).size).toBe(4);
    expect(d.round).toBe(0);
    d.onComplaint('p4', 0, null); // q = 5
    expect(d.round).toBe(1);
    expect(d.leader).toBe('p1');
    expect(net.trusts.get('p6')).toEqual([{ leader: 'p1', round: 1 }]);
    expect([...d.complaintsFor(0).keys()].sort()).toEqual(['p1', 'p2', 'p3', 'p4', 'p6']);
  });

  it('uses the cluster quorum, not 2f+1 literally (n = 5, f = 1: q = 4)', () => {
    const net = new Network(5, 1, new Set());
    const d = net.detector('p0');
    d.onComplaint('p1', 0, null);
    d.onComplaint('p2', 0, null); // f+1: amplify → 3 complaints
    expect(d.round).toBe(0);
    d.onComplaint('p3', 0, null); // 4 = q
    expect(d.round).toBe(1);
  });

  it('catches up: f+1 complaints about a later round make it complain about that round', () => {
    const net = new Network(4, 1, new Set());
    const d = net.detector('p3');
    d.onComplaint('p1', 5, null);
    expect(d.complained).toBe(false);
    d.onComplaint('p2', 7, null);
    // highest complaints 7 and 5: the (f+1)-th highest is 5
    expect(d.round).toBe(5);
    expect(d.complained).toBe(true);
    expect(net.queue.filter((m) => m.from === 'p3').map((m) => m.round)).toEqual([5, 5, 5]);
  });

  it('q complaints at once (a NEW-VIEW) move it straight to the new round', () => {
    const net = new Network(4, 1, new Set());
    const d = net.detector('p3');
    d.onComplaints([
      ['p0', 2, null],
      ['p1', 2, null],
      ['p2', 2, null],
    ]);
    expect(d.round).toBe(3);
    expect(d.complained).toBe(false);
    expect(net.queue).toHaveLength(0);
  });

  it('ignores stale, duplicate and unknown complaints', () => {
    const net = new Network(4, 1, new Set());
    const d = net.detector('p0');
    expect(d.onComplaint('x9', 0, null)).toBe('unknown-sender');
    expect(d.onComplaint('p1', 0, null)).toBe('recorded');
    expect(d.onComplaint('p1', 0, null)).toBe('duplicate');
    d.onComplaints([
      ['p1', 3, null],
      ['p2', 3, null],
      ['p3', 3, null],
    ]);
    expect(d.onComplaint('p2', 1, null)).toBe('stale');
  });

  it('bounds what one complainer can make it hold', () => {
    const net = new Network(4, 1, new Set(['p3']));
    const d = net.detector('p0');
    for (let r = 10; r < 1000; r++) d.onComplaint('p3', r, null);
    const held = Array.from({ length: 1000 }, (_, r) => d.complaintsFor(r).size).reduce(
      (a, b) => a + b,
    );
    expect(held).toBeLessThanOrEqual(4);
  });

  it('doubles its timeout with every round without progress, and backs off after a round change', () => {
    const net = new Network(4, 1, new Set());
    const d = net.detector('p0');
    expect(d.timeoutMs()).toBe(100);
    d.onComplaints([
      ['p1', 0, null],
      ['p2', 0, null],
      ['p3', 0, null],
    ]);
    expect(d.timeoutMs()).toBe(200);
    d.onComplaints([
      ['p1', 1, null],
      ['p2', 1, null],
      ['p3', 1, null],
    ]);
    expect(d.timeoutMs()).toBe(400);
    // Progress after a round change: the leader may only have been slow (a starved machine),
    // so one doubling stays, and goes after 32 progress reports within the round.
    d.progress();
    expect(d.timeoutMs()).toBe(200);
    for (let i = 0; i < 31; i++) d.progress();
    expect(d.timeoutMs()).toBe(200);
    d.progress();
    expect(d.timeoutMs()).toBe(100);
    // Round changes with progress between them (a view-change storm) add up.
    for (const round of [2, 3]) {
      d.onComplaints([
        ['p1', round, null],
        ['p2', round, null],
        ['p3', round, null],
      ]);
      d.progress();
    }
    expect(d.timeoutMs()).toBe(400);
  });
});

describe('BLD1 eventual succession', () => {
  it('n = 4: when the correct processes complain about a crashed leader, all trust another', () => {
    fc.assert(
      fc.property(picksArb, (picks) => {
        const net = new Network(4, 1, new Set(['p0']), picks);
        net.runWithTimeouts(new Set(['p0']));
        expect(net.leaders()).toEqual(['p1', 'p1', 'p1']);
      }),
    );
  });

  it('more than f complainers suffice: the others join by amplification', () => {
    fc.assert(
      fc.property(picksArb, fc.constantFrom(4, 7), (picks, n) => {
        const f = (n - 1) / 3;
        const net = new Network(n, f, new Set(), picks);
        // only f+1 correct processes see the leader as faulty
        for (let i = 1; i <= f + 1; i++) net.complain(`p${i}`, 'p0');
        net.deliverAll();
        for (const leader of net.leaders()) expect(leader).toBe('p1');
      }),
    );
  });

  it('n = 7: successive crashed leaders are all passed over', () => {
    fc.assert(
      fc.property(picksArb, (picks) => {
        const silent = new Set(['p0', 'p1']);
        const net = new Network(7, 2, silent, picks);
        net.runWithTimeouts(silent);
        for (const leader of net.leaders()) expect(leader).toBe('p2');
      }),
    );
  });
});

describe('BLD2 putsch resistance', () => {
  const putsch = (n: number, f: number) =>
    fc.property(
      picksArb,
      fc.array(fc.tuple(fc.nat({ max: f - 1 }), fc.nat({ max: 12 }), fc.nat({ max: 2 ** n - 1 })), {
        maxLength: 40,
      }),
      (picks, attacks) => {
        const byz = Array.from({ length: f }, (_, i) => `p${n - 1 - i}`);
        const net = new Network(n, f, new Set(byz), picks);
        for (const [who, round, mask] of attacks) {
          const to = net.ids.filter((_, i) => (mask >> i) & 1);
          net.byzantineComplaint(byz[who] as string, round, to);
        }
        net.deliverAll();
        // no correct process complained, so every correct process still trusts p0
        for (const id of net.correct) {
          expect(net.detector(id).round).toBe(0);
          expect(net.detector(id).complained).toBe(false);
          expect(net.trusts.get(id)).toEqual([]);
        }
      },
    );

  it('n = 4, f = 1: one Byzantine complainer alone cannot depose a correct leader', () => {
    fc.assert(putsch(4, 1));
  });

  it('n = 7, f = 2: two Byzantine complainers alone cannot depose a correct leader', () => {
    fc.assert(putsch(7, 2));
  });

  it('one correct complaint joined by f Byzantine ones is enough (the bound is tight)', () => {
    const net = new Network(7, 2, new Set(['p5', 'p6']));
    net.byzantineComplaint('p5', 0);
    net.byzantineComplaint('p6', 0);
    net.complain('p1', 'p0');
    net.deliverAll();
    expect(net.leaders()).toEqual(['p1', 'p1', 'p1', 'p1', 'p1']);
  });
});

describe('BLD3 eventual agreement', () => {
  it('after the network is quiet, no two correct processes trust different leaders', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4, 7),
        picksArb,
        fc.array(fc.tuple(fc.nat({ max: 1 }), fc.nat({ max: 6 }), fc.nat({ max: 127 })), {
          maxLength: 20,
        }),
        fc.array(fc.nat({ max: 6 }), { maxLength: 6 }),
        fc.boolean(),
        (n, picks, attacks, spurious, crashFirst) => {
          const f = (n - 1) / 3;
          const byz = Array.from({ length: f }, (_, i) => `p${n - 1 - i}`);
          const net = new Network(n, f, new Set(byz), picks);
          // Byzantine processes complain about arbitrary rounds to arbitrary subsets …
          for (const [who, round, mask] of attacks) {
            const from = byz[who % f] as string;
            net.byzantineComplaint(
              from,
              round,
              net.ids.filter((_, i) => (mask >> i) & 1),
            );
          }
          // … some correct processes time out spuriously on a correct leader …
          for (const i of spurious) {
            const id = net.correct[i % net.correct.length] as string;
            const d = net.detector(id);
            d.complain(d.leader);
          }
          // … and every Byzantine leader is silent, and maybe the first leader crashed too.
          const silent = new Set(byz);
          if (crashFirst) silent.add('p0');
          net.runWithTimeouts(silent);
          const leaders = new Set(net.leaders());
          expect(leaders.size).toBe(1);
          const [leader] = leaders;
          expect(silent.has(leader as string)).toBe(false);
        },
      ),
    );
  });
});
