/**
 * The follower's side of log replication: a LogRequest received (slide 6/9) and
 * AppendEntries (slide 7/9), with the back-off hint of a refusal; and InstallSnapshot
 * (thesis §5.1), the leader's answer to a follower that needs entries it has compacted. The
 * leader's side is replication.ts.
 */

import type { NodeId } from '../core/protocol.js';
import type { InstallSnapshot, LogEntry, LogRequest, LogResponse } from './messages.js';
import { flushBuffered } from './requests.js';
import type { RaftState } from './state.js';
import { deliver, restoreSnapshot } from './state-machine.js';
import { KEY_LOG_LENGTH, KEY_SNAPSHOT, logKey } from './storage.js';

// ══ Slide 6/9: followers receiving messages ════════════════════════════════════════════

/**
 *   on receiving (LogRequest, leaderId, term, prefixLen, prefixTerm, leaderCommit, suffix)
 *       at node nodeId do
 *     if term > currentTerm then
 *       currentTerm := term; votedFor := null
 *       cancel election timer
 *     end if
 *     if term = currentTerm then
 *       currentRole := follower; currentLeader := leaderId
 *     end if
 *     logOk := (log.length ≥ prefixLen) ∧
 *              (prefixLen = 0 ∨ log[prefixLen − 1].term = prefixTerm)
 *     if term = currentTerm ∧ logOk then
 *       AppendEntries(prefixLen, leaderCommit, suffix)
 *       ack := prefixLen + suffix.length
 *       send (LogResponse, nodeId, currentTerm, ack, true) to leaderId
 *     else
 *       send (LogResponse, nodeId, currentTerm, 0, false) to leaderId
 *     end if
 *
 * "cancel election timer": our one election timer is also the follower's failure
 * detector, so a follower that hears its leader re-arms it with a fresh random timeout.
 * A failed response carries a hint (back-off gap): see backOffHint.
 */
export function onLogRequest(s: RaftState, leaderId: NodeId, request: LogRequest): void {
  const { term, leaderCommit } = request;
  // A leader of term `term` never holds entries of later terms: drop a malformed request.
  if (request.prefixTerm > term || request.suffix.some((e) => e.term > term)) return;
  // Entries our snapshot covers are committed, so they are in every later leader's log
  // (leader completeness): skip the part of the suffix they cover and check from there.
  const covered = s.log.snapshot.length;
  const skip = Math.max(0, covered - request.prefixLen);
  const prefixLen = request.prefixLen + skip;
  const prefixTerm = skip > 0 ? s.log.snapshot.term : request.prefixTerm;
  const suffix = request.suffix.slice(skip);
  if (term > s.currentTerm) {
    s.setCurrentTerm(term);
    s.setVotedFor(null);
  }
  if (term === s.currentTerm) followLeader(s, leaderId);
  const logOk = s.options.rules.logOk(s.log, prefixLen, prefixTerm);
  if (term === s.currentTerm && logOk) {
    appendEntries(s, prefixLen, leaderCommit, suffix);
    const ack = prefixLen + suffix.length;
    sendLogResponse(s, leaderId, { term: s.currentTerm, ack, success: true });
  } else {
    sendLogResponse(s, leaderId, {
      term: s.currentTerm,
      ack: 0,
      success: false,
      hint: backOffHint(s, prefixLen),
    });
  }
  flushBuffered(s);
}

function sendLogResponse(s: RaftState, leaderId: NodeId, body: LogResponse): void {
  s.ctx.send(leaderId, s.ctx.sign('LogResponse', body));
}

/** Slide 6/9's "currentRole := follower; currentLeader := leaderId" for the current term. */
function followLeader(s: RaftState, leaderId: NodeId): void {
  s.setRole('follower');
  s.currentLeader = leaderId;
  s.lastHeardFromLeader = s.ctx.now();
  s.preVotesReceived = null;
  s.resetElectionTimer();
}

/**
 * Gap closed — fast back-off. Slide 8/9 backs sentLength off by one entry per round trip.
 * A follower that rejects prefixLen instead suggests where to retry: its own log length
 * if it is shorter than prefixLen, otherwise the first index of the term it holds at
 * prefixLen − 1 (every entry of that term from there on is suspect), so the leader skips
 * a whole term per round trip.
 */
function backOffHint(s: RaftState, prefixLen: number): number {
  if (s.log.length < prefixLen) return s.log.length;
  if (prefixLen === 0) return 0;
  const conflictTerm = s.log.termAt(prefixLen - 1);
  let first = prefixLen - 1;
  const covered = s.log.snapshot.length; // committed: never in conflict
  while (first > covered && s.log.termAt(first - 1) === conflictTerm) first--;
  return first;
}

// ══ Slide 7/9: updating followers' logs ════════════════════════════════════════════════

/**
 *   function AppendEntries(prefixLen, leaderCommit, suffix)
 *     if suffix.length > 0 ∧ log.length > prefixLen then
 *       index := min(log.length, prefixLen + suffix.length) − 1
 *       if log[index].term ≠ suffix[index − prefixLen].term then
 *         log := ⟨log[0], log[1], …, log[prefixLen − 1]⟩
 *       end if
 *     end if
 *     if prefixLen + suffix.length > log.length then
 *       for i := log.length − prefixLen to suffix.length − 1 do append suffix[i] to log
 *     end if
 *     if leaderCommit > commitLength then
 *       for i := commitLength to leaderCommit − 1 do deliver log[i].msg to the application
 *       commitLength := leaderCommit
 *     end if
 *
 * Two changes, both forced by the bounded suffix (on the slides the suffix always runs to
 * the end of the leader's log; here it stops after maxSuffix entries):
 *  - On a conflict the log is cut at the first index whose term differs from the suffix's,
 *    not at prefixLen (rules.truncateTo, src/raft/rules.ts). The entries in between equal
 *    the suffix's (log matching), so the resulting log is the same as the slide's — but a
 *    committed entry is never removed, even for a moment, and entries past the end of a
 *    short suffix are not lost.
 *  - The follower commits only up to min(leaderCommit, prefixLen + suffix.length): entries
 *    past the suffix are not known to match the leader's and must not be committed.
 */
function appendEntries(
  s: RaftState,
  prefixLen: number,
  leaderCommit: number,
  suffix: readonly LogEntry[],
): void {
  s.truncateLog(s.options.rules.truncateTo(s.log, prefixLen, suffix));
  if (prefixLen + suffix.length > s.log.length) {
    s.appendToLog(suffix.slice(s.log.length - prefixLen));
  }
  const verified = Math.min(leaderCommit, prefixLen + suffix.length);
  if (verified > s.commitLength) {
    for (let i = s.commitLength; i < verified; i++) deliver(s, i, true);
    s.setCommitLength(verified);
  }
}

// ══ Thesis §5.1: InstallSnapshot ═══════════════════════════════════════════════════════

/**
 * Thesis §5.1 (Figure 5.3, InstallSnapshot RPC, receiver):
 *   1. reply immediately if term < currentTerm
 *   6. if an existing log entry has the same index and term as the snapshot's last included
 *      entry, retain log entries following it and reply
 *   7. discard the entire log
 *   8. reset the state machine using the snapshot contents
 * A snapshot that covers no more than this follower has committed changes nothing. The
 * reply is slide 8/9's LogResponse acknowledging the prefix the snapshot covers, so the
 * leader goes on with ReplicateLog from there. Order of the writes: the snapshot, the log's
 * new length, commitLength, then the deletion of what it replaced.
 */
export function onInstallSnapshot(s: RaftState, leaderId: NodeId, request: InstallSnapshot): void {
  const { term, snapshot } = request;
  if (snapshot.term > term) return; // a leader of `term` never holds later terms
  if (term > s.currentTerm) {
    s.setCurrentTerm(term);
    s.setVotedFor(null);
  }
  if (term < s.currentTerm) {
    sendLogResponse(s, leaderId, { term: s.currentTerm, ack: 0, success: false });
    return;
  }
  followLeader(s, leaderId);
  if (snapshot.length > s.commitLength) {
    const from = s.log.snapshot.length;
    const to = s.log.length;
    s.ctx.persist(KEY_SNAPSHOT, snapshot);
    restoreSnapshot(s, snapshot);
    s.ctx.persist(KEY_LOG_LENGTH, s.log.length);
    s.setCommitLength(snapshot.length);
    for (let i = from; i < Math.min(to, s.log.snapshot.length); i++) {
      s.ctx.persist(logKey(i), null);
    }
    for (let i = s.log.length; i < to; i++) s.ctx.persist(logKey(i), null);
    s.ctx.note('install-snapshot', { length: snapshot.length, term: snapshot.term });
  }
  sendLogResponse(s, leaderId, { term: s.currentTerm, ack: snapshot.length, success: true });
  flushBuffered(s);
}
