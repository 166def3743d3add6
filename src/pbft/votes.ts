/**
 * The vote store: every vote this replica signed, and the prepared certificates it keeps for
 * its VIEW-CHANGEs, in memory and on disk (docs/reference/pbft.md PBFT-55, PBFT-56):
 *
 *   PBFT-55  every vote (PRE-PREPARE, PREPARE, COMMIT, CHECKPOINT, VIEW-CHANGE, NEW-VIEW) is
 *            persisted before it is sent; a replica never signs two different votes for one
 *            slot, across restarts too: it re-sends the vote it signed, or refuses.
 *   PBFT-56  when a replica sends its COMMIT it persists the prepared certificate, so that its
 *            later VIEW-CHANGEs report it (PBFT-38) even after a restart.
 *
 * A slot is typed (`VoteSlot`); votes are looked up by kind, then view, then sequence number.
 * The store also remembers the order in which the votes were signed: garbage collection
 * deletes them from disk in that order, so a run's trace does not depend on how they are
 * indexed. The on-disk keys (`vote/pp/<v>/<s>`, `vote/cp/<s>`, `vote/vc/<v>`, `cert/<v>/<s>` …)
 * are the store's format; `parseVoteKey` reads one back at recovery, and nowhere else.
 */
import type { Envelope } from '../core/envelope-types.js';
import type { Context } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import type { PreparedCertificate } from './messages.js';

/** A slot one vote is signed for: (view, seq), a checkpoint's seq, or a view. */
export type VoteSlot =
  | { readonly kind: 'pp' | 'prepare' | 'commit'; readonly view: number; readonly seq: number }
  | { readonly kind: 'cp'; readonly seq: number }
  | { readonly kind: 'vc' | 'nv'; readonly view: number };

export type VoteKind = VoteSlot['kind'];

interface SignedVote {
  readonly slot: VoteSlot;
  readonly vote: Envelope;
}

/** What refusing to contradict an earlier vote reports (the caller counts and notes it). */
export type Refusal = (kind: string) => void;

const VOTE = 'vote/';
const CERT = 'cert/';

/** The on-disk key of a vote's slot. */
export function voteKey(slot: VoteSlot): string {
  switch (slot.kind) {
    case 'cp':
      return `${VOTE}cp/${slot.seq}`;
    case 'vc':
    case 'nv':
      return `${VOTE}${slot.kind}/${slot.view}`;
    default:
      return `${VOTE}${slot.kind}/${slot.view}/${slot.seq}`;
  }
}

function certificateKey(view: number, seq: number): string {
  return `${CERT}${view}/${seq}`;
}

const COUNTER = /^(0|[1-9][0-9]{0,15})$/;

function counters(parts: readonly string[]): number[] | null {
  return parts.every((p) => COUNTER.test(p)) ? parts.map(Number) : null;
}

/** A stored vote's slot from its key (null: not a vote key, or a malformed one). */
export function parseVoteKey(key: string): VoteSlot | null {
  if (!key.startsWith(VOTE)) return null;
  const [kind, ...rest] = key.slice(VOTE.length).split('/');
  const n = counters(rest);
  if (n === null) return null;
  const [a, b] = n as [number, number];
  if ((kind === 'pp' || kind === 'prepare' || kind === 'commit') && n.length === 2)
    return { kind, view: a, seq: b };
  if (kind === 'cp' && n.length === 1) return { kind, seq: a };
  if ((kind === 'vc' || kind === 'nv') && n.length === 1) return { kind, view: a };
  return null;
}

/** A stored prepared certificate's (view, seq) from its key (null: not a certificate key). */
export function parseCertificateKey(key: string): { view: number; seq: number } | null {
  if (!key.startsWith(CERT)) return null;
  const n = counters(key.slice(CERT.length).split('/'));
  if (n === null || n.length !== 2) return null;
  return { view: n[0] as number, seq: n[1] as number };
}

/** The two numbers a slot is indexed by: view (or a checkpoint's seq), then seq (or 0). */
function coordinates(slot: VoteSlot): readonly [number, number] {
  switch (slot.kind) {
    case 'cp':
      return [slot.seq, 0];
    case 'vc':
    case 'nv':
      return [slot.view, 0];
    default:
      return [slot.view, slot.seq];
  }
}

/** The sequence number a slot is about (none for a VIEW-CHANGE or NEW-VIEW). */
function seqOf(slot: VoteSlot): number | null {
  switch (slot.kind) {
    case 'vc':
    case 'nv':
      return null;
    default:
      return slot.seq;
  }
}

export class VoteStore {
  /** Every own vote, in the order signed (or recovered). */
  private readonly signed = new Set<SignedVote>();
  /** The same votes by kind, then view (a checkpoint: seq), then seq. */
  private readonly index = new Map<VoteKind, Map<number, Map<number, SignedVote>>>();
  /** The prepared certificates on disk, in the order written, by view then seq. */
  private readonly certificates = new Map<number, Set<number>>();
  private readonly certificateOrder: { view: number; seq: number }[] = [];

  constructor(
    private readonly ctx: Context,
    private readonly refuse: Refusal,
  ) {}

  get(slot: VoteSlot): Envelope | undefined {
    const [a, b] = coordinates(slot);
    return this.index.get(slot.kind)?.get(a)?.get(b)?.vote;
  }

  /**
   * PBFT-55: sign a vote for a slot, persisted in the same step (the host makes a step's
   * persists durable before its sends leave). If this replica already voted there, the old
   * vote is returned when it says the same (`same`), and null (refusal) when it would
   * contradict it.
   */
  sign<K extends string, B extends Json>(
    slot: VoteSlot,
    kind: K,
    body: B,
    same: (previous: Envelope) => boolean,
  ): Envelope<K, B> | null {
    const previous = this.get(slot);
    if (previous !== undefined) {
      if (same(previous)) return previous as Envelope<K, B>;
      this.refuse(kind);
      return null;
    }
    const vote = this.ctx.sign(kind, body);
    this.add(slot, vote);
    this.ctx.persist(voteKey(slot), vote as unknown as Json);
    return vote;
  }

  /** A vote read back from disk at restart. */
  restore(slot: VoteSlot, vote: Envelope): void {
    this.add(slot, vote);
  }

  /** Own votes of one kind, in the order signed. */
  *of<K extends VoteKind>(kind: K): Iterable<{ slot: VoteSlot & { kind: K }; vote: Envelope }> {
    for (const entry of this.signed) {
      if (entry.slot.kind === kind) yield entry as { slot: VoteSlot & { kind: K }; vote: Envelope };
    }
  }

  /** PBFT-33 "discard … own vote for sequence numbers ≤ s". */
  forgetUpTo(seq: number): void {
    for (const entry of [...this.signed]) {
      const s = seqOf(entry.slot);
      if (s !== null && s <= seq) this.forget(entry);
    }
    for (const cert of [...this.certificateOrder]) {
      if (cert.seq > seq) continue;
      this.certificates.get(cert.view)?.delete(cert.seq);
      this.certificateOrder.splice(this.certificateOrder.indexOf(cert), 1);
      this.ctx.persist(certificateKey(cert.view, cert.seq), null);
    }
  }

  /** Own VIEW-CHANGEs (or NEW-VIEWs) for views below `view`: superseded by a later one. */
  forgetBelow(kind: 'vc' | 'nv', view: number): void {
    for (const entry of [...this.signed]) {
      if (entry.slot.kind === kind && entry.slot.view < view) this.forget(entry);
    }
  }

  /** PBFT-56: keep the prepared certificate of (view, seq) on disk. */
  keepCertificate(certificate: PreparedCertificate): void {
    const { view, seq } = certificate.prePrepare.body;
    this.addCertificate(view, seq);
    this.ctx.persist(certificateKey(view, seq), certificate as unknown as Json);
  }

  /** A prepared certificate read back from disk at restart. */
  restoreCertificate(view: number, seq: number): void {
    this.addCertificate(view, seq);
  }

  private addCertificate(view: number, seq: number): void {
    let seqs = this.certificates.get(view);
    if (seqs === undefined) {
      seqs = new Set();
      this.certificates.set(view, seqs);
    }
    if (seqs.has(seq)) return;
    seqs.add(seq);
    this.certificateOrder.push({ view, seq });
  }

  private add(slot: VoteSlot, vote: Envelope): void {
    const [a, b] = coordinates(slot);
    let byKind = this.index.get(slot.kind);
    if (byKind === undefined) {
      byKind = new Map();
      this.index.set(slot.kind, byKind);
    }
    let byView = byKind.get(a);
    if (byView === undefined) {
      byView = new Map();
      byKind.set(a, byView);
    }
    const entry = { slot, vote };
    byView.set(b, entry);
    this.signed.add(entry);
  }

  private forget(entry: SignedVote): void {
    const [a, b] = coordinates(entry.slot);
    const byKind = this.index.get(entry.slot.kind);
    const byView = byKind?.get(a);
    byView?.delete(b);
    if (byView?.size === 0) byKind?.delete(a);
    this.signed.delete(entry);
    this.ctx.persist(voteKey(entry.slot), null);
  }
}
