/**
 * The leader's side of log replication: slide 4/9's heartbeat, ReplicateLog (slide 5/9), the
 * acknowledgements (slide 8/9) and CommitLogEntries (slide 9/9); and, from Ongaro's thesis,
 * CheckQuorum (§6.2) and sending a snapshot to a follower that lags behind the compacted
 * prefix (§5.1). What the leader knows of each follower is in progress.ts; the follower's
 * side is follower.ts.
 */

import type { NodeId } from '../core/protocol.js';
import { majority } from '../core/quorum.js';
import type { InstallSnapshot, LogRequest, LogResponse } from './messages.js';
import { CHECK_QUORUM_TIMER, HEARTBEAT_TIMER } from './options.js';
import { commitLogEntriesAnyTerm } from './rules.js';
import type { RaftState } from './state.js';
import { deliver } from './state-machine.js';

// ══ Slide 4/9: broadcasting messages (the leader's heartbeat) ═══════════════════════════

/**
 *   periodically at node nodeId do
 *     if currentRole = leader then
 *       for each follower ∈ nodes \ {nodeId} do ReplicateLog(nodeId, follower) end for
 *     end if
 */
export function periodically(s: RaftState): void {
  if (s.currentRole !== 'leader') return;
  for (const follower of s.others()) replicateLog(s, follower);
  s.ctx.setTimer(HEARTBEAT_TIMER, s.options.heartbeatMs);
}

/**
 * Thesis §6.2 (CheckQuorum): "a leader steps down if an election timeout elapses without a
 * successful round of heartbeats to a majority of its cluster; this allows clients to retry
 * their requests with another server."
 *
 *   every election timeout at the leader do
 *     if |{nodeId} ∪ {f | a LogResponse of currentTerm came from f since the last check}|
 *         < ⌈(|nodes| + 1)/2⌉ then currentRole := follower; currentLeader := null
 *
 * The check runs at the longest election timeout, so a leader that is merely slow to hear
 * back is not deposed before a follower would have given up on it. It keeps its term and
 * its vote: stepping down in the same term raises nothing.
 */
export function checkQuorum(s: RaftState): void {
  if (!s.options.checkQuorum || s.currentRole !== 'leader') return;
  if (s.heardFrom.size + 1 < majority(s.nodes.length)) {
    s.ctx.note('check-quorum-lost', { term: s.currentTerm, heard: [...s.heardFrom] });
    s.setRole('follower');
    s.currentLeader = null;
    s.resetElectionTimer();
    return;
  }
  s.heardFrom.clear();
  s.ctx.setTimer(CHECK_QUORUM_TIMER, s.options.electionTimeoutMs[1]);
}

// ══ Slide 5/9: replicating from leader to followers ════════════════════════════════════

/**
 *   function ReplicateLog(leaderId, followerId)
 *     prefixLen := sentLength[followerId]
 *     suffix := ⟨log[prefixLen], log[prefixLen + 1], …, log[log.length − 1]⟩
 *     prefixTerm := 0
 *     if prefixLen > 0 then prefixTerm := log[prefixLen − 1].term end if
 *     send (LogRequest, leaderId, currentTerm, prefixLen, prefixTerm, commitLength, suffix)
 *       to followerId
 *
 * The suffix is cut at maxSuffix entries to bound the message; the rest is sent as soon as
 * this part is acknowledged (slide 8/9).
 */
export function replicateLog(s: RaftState, followerId: NodeId): void {
  const prefixLen = Math.min(s.progress.sentLength.get(followerId) ?? 0, s.log.length);
  if (prefixLen < s.log.snapshot.length) {
    sendSnapshot(s, followerId); // the entries it needs next are compacted
    return;
  }
  const end = Math.min(s.log.length, prefixLen + s.options.maxSuffix);
  const suffix = s.log.slice(prefixLen, end);
  let prefixTerm = 0;
  if (prefixLen > 0) prefixTerm = s.log.termAt(prefixLen - 1);
  s.progress.sent(followerId, end);
  const body: LogRequest = {
    term: s.currentTerm,
    prefixLen,
    prefixTerm,
    leaderCommit: s.commitLength,
    suffix,
  };
  // Replicated while the leader's own write of the suffix is still in progress (§10.2.1).
  const message = s.ctx.sign('LogRequest', body);
  if (s.ctx.sendAhead === undefined) s.ctx.send(followerId, message);
  else s.ctx.sendAhead(followerId, message);
}

/**
 * Thesis §5.1: when a follower needs entries the leader has compacted, "the leader must
 * occasionally send snapshots to followers that lag behind" (InstallSnapshot). The follower
 * installs it in follower.ts.
 */
function sendSnapshot(s: RaftState, followerId: NodeId): void {
  if (s.snapshot === null) return; // never: the log is compacted only by a snapshot
  s.progress.sent(followerId, s.snapshot.length);
  const body: InstallSnapshot = { term: s.currentTerm, snapshot: s.snapshot };
  s.ctx.send(followerId, s.ctx.sign('InstallSnapshot', body));
}

// ══ Slide 8/9: leader receiving log acknowledgements ═══════════════════════════════════

/**
 *   on receiving (LogResponse, follower, term, ack, success) at nodeId do
 *     if term = currentTerm ∧ currentRole = leader then
 *       if success = true ∧ ack ≥ ackedLength[follower] then
 *         sentLength[follower] := ack
 *         ackedLength[follower] := ack
 *         CommitLogEntries()
 *       else if sentLength[follower] > 0 then
 *         sentLength[follower] := sentLength[follower] − 1
 *         ReplicateLog(nodeId, follower)
 *       end if
 *     else if term > currentTerm then
 *       currentTerm := term; currentRole := follower; votedFor := null
 *       cancel election timer
 *     end if
 *
 * Changes: (1) back-off jumps to the follower's hint, never below ackedLength[follower]
 * (that prefix is known to match); (2) a late success for an already-acknowledged prefix
 * is ignored rather than taken as a failure; (3) if the last LogRequest was cut at
 * maxSuffix, the next part is sent at once.
 */
export function onLogResponse(s: RaftState, follower: NodeId, response: LogResponse): void {
  const { term, ack, success, hint } = response;
  const { sentLength, ackedLength } = s.progress;
  if (term === s.currentTerm && s.currentRole === 'leader') {
    s.heardFrom.add(follower);
    s.progress.answered(follower);
    if (ack > s.log.length) return; // cannot acknowledge what was never sent
    const acked = ackedLength.get(follower) ?? 0;
    const sent = sentLength.get(follower) ?? 0;
    if (success && ack >= acked) {
      sentLength.set(follower, ack);
      ackedLength.set(follower, ack);
      commitLogEntries(s);
      // The follower has everything sent so far: send it what was appended since (the
      // next part of a long suffix, or requests held back by maxInflight).
      if (ack < s.log.length && s.progress.coversSent(follower, ack)) {
        replicateLog(s, follower);
      }
    } else if (!success && sent > 0) {
      const next = Math.min(sent - 1, hint ?? sent - 1);
      sentLength.set(follower, Math.max(acked, next));
      replicateLog(s, follower);
    }
  } else if (term > s.currentTerm) {
    s.stepDown(term);
  }
}

// ══ Slide 9/9: leader committing log entries ═══════════════════════════════════════════

/**
 *   define acks(length) = |{n ∈ nodes | ackedLength[n] ≥ length}|
 *   function CommitLogEntries
 *     minAcks := ⌈(|nodes| + 1)/2⌉
 *     ready := {len ∈ {1, …, log.length} | acks(len) ≥ minAcks}
 *     if ready ≠ {} ∧ max(ready) > commitLength ∧ log[max(ready) − 1].term = currentTerm then
 *       for i := commitLength to max(ready) − 1 do deliver log[i].msg to the application
 *       commitLength := max(ready)
 *     end if
 *
 * The rule is rules.commitLogEntries (src/raft/rules.ts), which returns the new
 * commitLength; here the entries up to it are delivered. Its term condition is the Raft
 * paper's Figure 8 rule (trap 1), which unsafeCommitAnyTerm drops.
 */
export function commitLogEntries(s: RaftState): void {
  const rule = s.options.unsafeCommitAnyTerm
    ? commitLogEntriesAnyTerm
    : s.options.rules.commitLogEntries;
  const next = rule({
    log: s.log,
    currentTerm: s.currentTerm,
    commitLength: s.commitLength,
    nodes: s.nodes,
    ackedLength: s.progress.ackedLength,
  });
  if (next > s.commitLength) {
    for (let i = s.commitLength; i < next; i++) deliver(s, i, true);
    s.setCommitLength(next);
  }
}

/**
 * Slide 4/9's "ackedLength[nodeId] := log.length" — once the leader's own write is durable
 * (thesis §10.2.1): its LogRequests leave while the disk works (ctx.sendAhead), and its copy
 * counts toward a commit quorum only when it would survive a crash. Hosts without the
 * runtime's afterDurable (unit-test contexts) count it at once, as the slide does.
 */
export function ackOwnLog(s: RaftState): void {
  const length = s.log.length;
  const { ackedLength } = s.progress;
  if (s.ctx.afterDurable === undefined) {
    ackedLength.set(s.nodeId, length);
    return;
  }
  const term = s.currentTerm;
  s.ctx.afterDurable(() => {
    if (s.currentRole !== 'leader' || s.currentTerm !== term) return;
    if ((ackedLength.get(s.nodeId) ?? 0) >= length) return;
    ackedLength.set(s.nodeId, length);
    commitLogEntries(s);
  });
}
