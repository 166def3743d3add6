/**
 * The replica's view change (docs/reference/pbft.md PBFT-35 … 48), driven by the leader
 * detector (docs/reference/leader-detector.md LD-20 … 26): its complaint is its signed
 * VIEW-CHANGE, the VIEW-CHANGEs it receives are the others' complaints, and Trust(p) makes p
 * build the NEW-VIEW from the q VIEW-CHANGEs that deposed its predecessor. The checks of
 * VIEW-CHANGE and NEW-VIEW and the computation of O are pure functions (view-change.ts).
 */
import type { NodeId } from '../core/protocol.js';
import { primaryOf } from './certificates.js';
import { conflicting } from './evidence.js';
import type { NewViewEnvelope, PrePrepareEnvelope, ViewChangeEnvelope } from './messages.js';
import { TIMER } from './options.js';
import { refuse } from './refusal.js';
import type { PbftReplica } from './replica.js';
import { checkNewView, type NewViewPlan, selectViewChanges } from './view-change.js';

/** VIEW-CHANGEs kept per sender (its highest views), as the detector keeps complaints (LD-13). */
const MAX_VIEW_CHANGES_PER_SENDER = 4;

export class ViewChangeProtocol {
  /** The first VIEW-CHANGE seen per sender and view, to catch two different ones (PBFT-52). */
  private readonly seen = new Map<NodeId, Map<number, ViewChangeEnvelope>>();
  /** The NEW-VIEW of the current view (null in view 0): how this replica got here. */
  newViewMessage: NewViewEnvelope | null = null;
  /** Replicas already sent that NEW-VIEW in this view. */
  private readonly helped = new Set<NodeId>();

  constructor(private readonly r: PbftReplica) {}

  /**
   * LD-21 the complaint about round v IS the replica's signed VIEW-CHANGE for v+1:
   * PBFT-36 it stops taking normal-case messages of view v and multicasts
   *         ⟨VIEW-CHANGE, v+1, h, C, P, i⟩σi where
   * PBFT-37 C := the proof of its stable checkpoint at h, and
   * PBFT-38 P := for each s with h < s ≤ h+L that prepared at i: the certificate of the
   *         highest view in which s prepared.
   */
  complain(round: number): ViewChangeEnvelope {
    const { r } = this;
    const newView = round + 1;
    let vc = r.votes.get({ kind: 'vc', view: newView }) as ViewChangeEnvelope | undefined;
    if (vc === undefined) {
      const body = {
        newView,
        stableSeq: r.h,
        checkpointProof: [...r.checkpoints.stable.proof],
        prepared: r.log.preparedCertificates(r.h, r.h + r.options.watermarkWindow, (v) =>
          primaryOf(r.cluster, v),
        ),
      };
      vc = r.votes.sign(
        { kind: 'vc', view: newView },
        'VIEW-CHANGE',
        body,
        () => true,
      ) as ViewChangeEnvelope;
      r.votes.forgetBelow('vc', newView);
    }
    r.ctx.note('view-change', { newView, from: r.self });
    r.broadcast(vc);
    r.normalCase.armRequestTimer(false);
    r.proposer.stopBatchTimer();
    r.ctx.cancelTimer(TIMER.viewChange);
    return vc;
  }

  /**
   * LD-23 Trust(p) at round w: if p is this replica, it builds the NEW-VIEW for w from
   *       complaintsFor(w−1) (PBFT-41); otherwise it waits for p's NEW-VIEW with a timer of
   *       length timeout (PBFT-47). LD-24: when w was reached through a NEW-VIEW (`adopting`),
   *       the replica enters w at once.
   */
  trust(leader: NodeId, round: number, adopting: boolean): void {
    this.r.ctx.note('trust', { round, leader });
    if (adopting) return;
    if (leader === this.r.self) {
      this.buildNewView(round);
      return;
    }
    this.r.ctx.setTimer(TIMER.viewChange, this.r.detector.timeoutMs());
  }

  /**
   * PBFT-47 a backup that trusts p' but gets no valid NEW-VIEW before its timer fires
   *         Complains about p' in turn (a VIEW-CHANGE for v+2).
   */
  onNewViewTimer(): void {
    if (this.r.status === 'awaiting-new-view') this.r.complain(this.r.detector.leader);
  }

  /**
   * PBFT-39 a VIEW-CHANGE is valid iff a replica signed it, C proves a stable checkpoint at h,
   *         and every certificate in P is a valid prepared certificate of a view below v+1.
   * LD-22   a valid VIEW-CHANGE for view w from replica j is [COMPLAINT, w−1] from j.
   */
  onViewChange(from: NodeId, vc: ViewChangeEnvelope): void {
    const { r } = this;
    const newView = vc.body.newView;
    if (newView <= r.view) {
      // A replica still in an older view: show it how we got here.
      if (newView < r.view && this.newViewMessage !== null && !this.helped.has(from)) {
        this.helped.add(from);
        r.ctx.send(from, this.newViewMessage);
      }
      return;
    }
    const seen = this.seen.get(from)?.get(newView);
    if (seen !== undefined) {
      if (conflicting(seen, vc)) r.reportEvidence(seen, vc);
      return;
    }
    if (newView - 1 < r.detector.round) return; // about a round we already left
    const refusal = r.options.viewChangeRules.checkViewChange(r.verifier, vc);
    if (refusal !== null) {
      r.reject('VIEW-CHANGE', from, refusal);
      return;
    }
    this.remember(from, vc);
    if (r.detector.onComplaint(from, newView - 1, vc) === 'recorded') r.follow(r.detector.next());
  }

  /** Keep the sender's VIEW-CHANGE, and only its highest few. */
  private remember(from: NodeId, vc: ViewChangeEnvelope): void {
    let mine = this.seen.get(from);
    if (mine === undefined) {
      mine = new Map();
      this.seen.set(from, mine);
    }
    mine.set(vc.body.newView, vc);
    const views = [...mine.keys()].sort((a, b) => a - b);
    for (const v of views.slice(0, Math.max(0, views.length - MAX_VIEW_CHANGES_PER_SENDER)))
      mine.delete(v);
  }

  /**
   * PBFT-41 new primary p' = primary(v+1), once it holds q valid VIEW-CHANGEs for v+1;
   *         V := q of them (those of the lowest-ranked senders):
   * PBFT-42 min-s := the highest h in V; max-s := the highest s of a prepared certificate in V
   * PBFT-43 O := for each s with min-s < s ≤ max-s, ⟨PRE-PREPARE, v+1, s, d⟩σp'
   * PBFT-44 multicast ⟨NEW-VIEW, v+1, V, O⟩σp' and enter v+1 (PBFT-46).
   */
  private buildNewView(view: number): void {
    const { r } = this;
    const nv =
      (r.votes.get({ kind: 'nv', view }) as NewViewEnvelope | undefined) ?? this.signNewView(view);
    if (nv === undefined) return;
    r.broadcast(nv);
    const plan = r.options.viewChangeRules.computeNewView(
      view,
      nv.body.viewChanges.map((vc) => vc.body),
    );
    this.enterView(nv, plan);
  }

  /** PBFT-41 … 43 and PBFT-55: V, O and their signatures, persisted (undefined: not yet q). */
  private signNewView(view: number): NewViewEnvelope | undefined {
    const { r } = this;
    const viewChanges = selectViewChanges(r.verifier, r.detector.complaintsFor(view - 1));
    if (viewChanges.length < r.cluster.quorum) return undefined;
    const plan = r.options.viewChangeRules.computeNewView(
      view,
      viewChanges.map((vc) => vc.body),
    );
    const prePrepares: PrePrepareEnvelope[] = [];
    for (const entry of plan.entries) {
      const body = { view, seq: entry.seq, digest: entry.digest, batch: [...entry.batch] };
      const pp = r.votes.sign(
        { kind: 'pp', view, seq: entry.seq },
        'PRE-PREPARE',
        body,
        r.sameDigest(entry.digest),
      );
      if (pp === null) return undefined;
      prePrepares.push(pp as PrePrepareEnvelope);
    }
    const nv = r.votes.sign(
      { kind: 'nv', view },
      'NEW-VIEW',
      { view, viewChanges, prePrepares },
      () => true,
    ) as NewViewEnvelope | undefined;
    r.votes.forgetBelow('nv', view);
    return nv;
  }

  /**
   * PBFT-45 backup, on ⟨NEW-VIEW, v+1, V, O⟩σp': accept it only if p' = primary(v+1), V holds
   *         q valid VIEW-CHANGEs for v+1, and recomputing O from V gives exactly O. Otherwise
   *         reject it, and Complain about p' if p' is the leader it trusts.
   * LD-24   a replica whose round is below w accepts a valid NEW-VIEW for w by counting its V
   *         as a batch (LD-16), which moves its round to w; then it enters w (PBFT-46).
   */
  onNewView(nv: NewViewEnvelope): void {
    const { r } = this;
    const view = nv.body.view;
    const current = this.newViewMessage;
    if (view === r.view && current !== null && conflicting(current, nv)) {
      // Two different NEW-VIEWs of one primary for one view (e.g. twins): evidence.
      if (!r.verifier.verify(nv)) return;
      r.reportEvidence(current, nv);
      return;
    }
    if (view <= r.view || view < r.detector.round) return;
    const verdict = checkNewView(r.verifier, nv, {
      unsafeSkipCheck: r.options.unsafeSkipNewViewCheck,
      rules: r.options.viewChangeRules,
    });
    if (!verdict.ok) {
      r.reject('NEW-VIEW', nv.from, verdict.refusal);
      if (view === r.detector.round && nv.from === r.detector.leader) r.complain(nv.from);
      return;
    }
    if (r.detector.round < view) {
      const complaints = nv.body.viewChanges.map((vc) => [vc.from, view - 1, vc] as const);
      if (r.detector.onComplaints(complaints)) r.follow(r.detector.next(), true);
    }
    if (r.detector.round !== view) {
      r.reject(
        'NEW-VIEW',
        nv.from,
        refuse('view-not-reached', 'new view not reached by the leader detector'),
      );
      return;
    }
    this.enterView(nv, verdict.plan);
  }

  /**
   * PBFT-46 enter v+1: adopt the checkpoint at min-s if it is above h (PBFT-33); take each
   *         pre-prepare of O within the watermarks as accepted in v+1 (a backup multicasts its
   *         PREPARE, PBFT-22); the primary orders the requests still pending; restart the
   *         request timer.
   */
  private enterView(nv: NewViewEnvelope, plan: NewViewPlan): void {
    const { r } = this;
    const view = plan.view;
    r.view = view;
    r.status = r.detector.complained ? 'view-change' : 'normal';
    r.ctx.persist('view', view);
    this.newViewMessage = nv;
    r.ctx.cancelTimer(TIMER.viewChange);
    r.ctx.note('view', { view, primary: r.primary });
    for (const mine of this.seen.values())
      for (const v of [...mine.keys()]) if (v <= view) mine.delete(v);
    this.helped.clear();

    if (plan.checkpoint !== null && plan.checkpoint.seq > r.h)
      r.checkpoints.stabilize(plan.checkpoint);
    r.log.compact(view);

    r.proposer.enterView(plan.maxS);
    const signed = new Map(nv.body.prePrepares.map((pp) => [pp.body.seq, pp]));
    for (const entry of plan.entries) {
      if (!r.inWindow(entry.seq)) continue;
      const pp = signed.get(entry.seq);
      if (pp === undefined) continue;
      const slot = r.log.slot(view, entry.seq);
      slot.prePrepare = pp;
      if (r.isPrimary) r.proposer.markProposed(pp);
      else r.normalCase.sendPrepare(slot);
      r.normalCase.checkSlot(slot);
    }
    if (r.isPrimary) {
      for (const request of r.normalCase.pending.values()) r.proposer.enqueue(request);
      r.proposer.cut(false);
    }
    r.normalCase.armRequestTimer(true);
  }
}
