/**
 * The message log of one replica: per (view, seq) slot, the accepted pre-prepare and the
 * first PREPARE and COMMIT of every replica, with the two predicates of docs/reference/pbft.md:
 *
 *   prepared(B, v, s, i)        := pre-prepare for (v,s,d) + q−1 matching prepares from
 *                                  distinct backups
 *   committed-local(B, v, s, i) := prepared + q matching commits (own included)
 *
 * Slots live between the watermarks; everything at or below the stable checkpoint is
 * discarded (`collectGarbage`).
 */
import type { NodeId } from '../core/protocol.js';
import type {
  CommitEnvelope,
  PrePrepareEnvelope,
  PreparedCertificate,
  PrepareEnvelope,
} from './messages.js';

export interface Slot {
  readonly view: number;
  readonly seq: number;
  /** The pre-prepare this replica accepted for (view, seq) (the primary's own, at the primary). */
  prePrepare: PrePrepareEnvelope | null;
  /** The first PREPARE of each replica for (view, seq), whatever its digest. */
  readonly prepares: Map<NodeId, PrepareEnvelope>;
  /** The first COMMIT of each replica for (view, seq), whatever its digest. */
  readonly commits: Map<NodeId, CommitEnvelope>;
  prepared: boolean;
  committed: boolean;
}

export class MessageLog {
  private readonly slots = new Map<string, Slot>();

  get(view: number, seq: number): Slot | undefined {
    return this.slots.get(`${view}/${seq}`);
  }

  /** The slot for (view, seq), created empty if need be. */
  slot(view: number, seq: number): Slot {
    const key = `${view}/${seq}`;
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = {
        view,
        seq,
        prePrepare: null,
        prepares: new Map(),
        commits: new Map(),
        prepared: false,
        committed: false,
      };
      this.slots.set(key, slot);
    }
    return slot;
  }

  get size(): number {
    return this.slots.size;
  }

  /** PREPAREs matching the slot's pre-prepare, from backups (the primary sends none). */
  matchingPrepares(slot: Slot, primary: NodeId): PrepareEnvelope[] {
    const digest = slot.prePrepare?.body.digest;
    if (digest === undefined) return [];
    return [...slot.prepares.values()].filter(
      (p) => p.from !== primary && p.body.digest === digest,
    );
  }

  /** COMMITs matching the slot's pre-prepare. */
  matchingCommits(slot: Slot): CommitEnvelope[] {
    const digest = slot.prePrepare?.body.digest;
    if (digest === undefined) return [];
    return [...slot.commits.values()].filter((c) => c.body.digest === digest);
  }

  /**
   * P of a VIEW-CHANGE: for each s in (low, high] prepared here, the certificate of the
   * highest view in which it prepared.
   */
  preparedCertificates(
    low: number,
    high: number,
    primaryOf: (view: number) => NodeId,
  ): PreparedCertificate[] {
    const best = new Map<number, Slot>();
    for (const slot of this.slots.values()) {
      if (!slot.prepared || slot.prePrepare === null) continue;
      if (slot.seq <= low || slot.seq > high) continue;
      const current = best.get(slot.seq);
      if (current === undefined || slot.view > current.view) best.set(slot.seq, slot);
    }
    return [...best.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((slot) => ({
        prePrepare: slot.prePrepare as PrePrepareEnvelope,
        prepares: this.matchingPrepares(slot, primaryOf(slot.view)),
      }));
  }

  /** Discard every slot at or below the stable checkpoint. */
  collectGarbage(stableSeq: number): void {
    for (const [key, slot] of this.slots) if (slot.seq <= stableSeq) this.slots.delete(key);
  }

  /**
   * On entering `view`: drop the slots of older views that never prepared, and of the prepared
   * ones keep per sequence number only the highest view (all a VIEW-CHANGE will need).
   */
  compact(view: number): void {
    const best = new Map<number, Slot>();
    for (const slot of this.slots.values()) {
      if (slot.view >= view || !slot.prepared) continue;
      const current = best.get(slot.seq);
      if (current === undefined || slot.view > current.view) best.set(slot.seq, slot);
    }
    for (const [key, slot] of this.slots) {
      if (slot.view < view && best.get(slot.seq) !== slot) this.slots.delete(key);
    }
  }
}
