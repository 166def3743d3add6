/**
 * A leader's knowledge of how far each follower's log has come, as etcd-raft's tracker keeps
 * it: slide 1/9's sentLength and ackedLength, and the two counters pipelined replication adds
 * (maxInflight, src/raft/README.md "Gaps"). A new leader starts them afresh (becomeLeader);
 * what a deposed leader leaves behind is read by nothing but inspect().
 */

import type { NodeId } from '../core/protocol.js';

export class Progress {
  /** Slide 1/9: per follower, where the next LogRequest's suffix starts. */
  readonly sentLength = new Map<NodeId, number>();
  /**
   * Slide 1/9: per node, the log prefix it acknowledged — the leader's own entry is its
   * durable log length (ackOwnLog), so the commit rule counts it like any follower's.
   */
  readonly ackedLength = new Map<NodeId, number>();
  /** Per follower, the log length the last LogRequest (or InstallSnapshot) reached. */
  private readonly sentUpTo = new Map<NodeId, number>();
  /** Per follower, LogRequests sent and not answered yet (see maxInflight). */
  private readonly inflight = new Map<NodeId, number>();

  /** Slide 3/9: "sentLength[follower] := log.length; ackedLength[follower] := 0". */
  startFollower(follower: NodeId, logLength: number): void {
    this.sentLength.set(follower, logLength);
    this.ackedLength.set(follower, 0);
    this.inflight.set(follower, 0);
  }

  /** A LogRequest (or InstallSnapshot) reaching log length `upTo` went to `follower`. */
  sent(follower: NodeId, upTo: number): void {
    this.sentUpTo.set(follower, upTo);
    this.inflight.set(follower, (this.inflight.get(follower) ?? 0) + 1);
  }

  /** `follower` answered one of the LogRequests in flight. */
  answered(follower: NodeId): void {
    this.inflight.set(follower, Math.max(0, (this.inflight.get(follower) ?? 0) - 1));
  }

  /** Fewer than `maxInflight` LogRequests to `follower` are unanswered. */
  canPipeline(follower: NodeId, maxInflight: number): boolean {
    return (this.inflight.get(follower) ?? 0) < maxInflight;
  }

  /** An acknowledgement of `ack` entries covers everything sent to `follower` so far. */
  coversSent(follower: NodeId, ack: number): boolean {
    return ack >= (this.sentUpTo.get(follower) ?? 0);
  }
}
