/**
 * Leader election: slide 1/9's election timeout, voting (slide 2/9), collecting votes and
 * becoming leader (slide 3/9), and the Pre-Vote of Ongaro's thesis (§9.6) that comes first
 * when the option preVote is on. The step-down these slides share is RaftState.stepDown.
 */

import type { NodeId } from '../core/protocol.js';
import { majority } from '../core/quorum.js';
import type { PreVoteRequest, PreVoteResponse, VoteRequest, VoteResponse } from './messages.js';
import { CHECK_QUORUM_TIMER, ELECTION_TIMER, HEARTBEAT_TIMER } from './options.js';
import { ackOwnLog, commitLogEntries, replicateLog } from './replication.js';
import { appendRequest, isNewRequest, takeBuffered } from './requests.js';
import type { RaftState } from './state.js';

// ══ Slide 1/9: election timeout ════════════════════════════════════════════════════════

/**
 *   on node nodeId suspects leader has failed, or on election timeout do
 *     currentTerm := currentTerm + 1; currentRole := candidate
 *     votedFor := nodeId; votesReceived := {nodeId}; lastTerm := 0
 *     if log.length > 0 then lastTerm := log[log.length − 1].term; end if
 *     msg := (VoteRequest, nodeId, currentTerm, log.length, lastTerm)
 *     for each node ∈ nodes: send msg to node
 *     start election timer
 *
 * Our node sends to every other node: its own vote is already in votesReceived.
 */
export function startElection(s: RaftState): void {
  s.preVotesReceived = null;
  s.setCurrentTerm(s.currentTerm + 1);
  s.setRole('candidate');
  s.setVotedFor(s.nodeId);
  s.ctx.note('election', { term: s.currentTerm });
  s.votesReceived = new Set([s.nodeId]); // reset on every new election (trap 2)
  s.currentLeader = null;
  const lastTerm = s.log.lastTerm();
  const msg = s.ctx.sign('VoteRequest', {
    term: s.currentTerm,
    logLength: s.log.length,
    lastTerm,
  } satisfies VoteRequest);
  for (const node of s.others()) s.ctx.send(node, msg);
  s.resetElectionTimer();
  // A one-node cluster has its majority already.
  if (s.votesReceived.size >= majority(s.nodes.length)) becomeLeader(s);
}

// ══ Thesis §9.6: Pre-Vote ══════════════════════════════════════════════════════════════

/**
 * Thesis §9.6: "In the Pre-Vote algorithm, a candidate only increments its term if it first
 * learns from a majority of the cluster that they would be willing to grant the candidate
 * their votes (if the candidate's term were incremented)."
 *
 *   on election timeout at node nodeId do                       (preVote on)
 *     preVotesReceived := {nodeId}; currentLeader := null
 *     send (PreVoteRequest, nodeId, currentTerm + 1, log.length, lastTerm) to all others
 *     start election timer
 *
 * Nothing here is persisted: a pre-election changes no stable variable, which is the point.
 * If it fails, the next timeout starts another one at the same term.
 */
export function startPreVote(s: RaftState): void {
  s.preVotesReceived = new Set([s.nodeId]);
  s.currentLeader = null;
  s.ctx.note('pre-vote', { term: s.currentTerm + 1 });
  const msg = s.ctx.sign('PreVoteRequest', {
    term: s.currentTerm + 1,
    logLength: s.log.length,
    lastTerm: s.log.lastTerm(),
  } satisfies PreVoteRequest);
  for (const node of s.others()) s.ctx.send(node, msg);
  s.resetElectionTimer();
  if (s.preVotesReceived.size >= majority(s.nodes.length)) startElection(s);
}

/**
 *   on receiving (PreVoteRequest, cId, cTerm, cLogLength, cLogTerm) at node nodeId do
 *     logOk := as for a VoteRequest (slide 2/9)
 *     leaderAlive := currentRole = leader ∨
 *                    (heard from the leader less than the minimum election timeout ago)
 *     if cTerm > currentTerm ∧ logOk ∧ ¬leaderAlive then
 *       send (PreVoteResponse, nodeId, cTerm, true) to node cId
 *     else
 *       send (PreVoteResponse, nodeId, currentTerm, false) to node cId
 *
 * No state changes, not even the term. Besides an up-to-date log, the grant needs the
 * leader-stickiness rule of thesis §4.2.3 — "if a server receives a RequestVote request
 * within the minimum election timeout of hearing from a current leader, it does not update
 * its term or grant its vote" — as in etcd-raft: it keeps a replica that rejoins (or
 * restarts) with an up-to-date log from deposing a leader that everyone else still hears.
 */
export function onPreVoteRequest(s: RaftState, cId: NodeId, request: PreVoteRequest): void {
  const { term: cTerm, logLength: cLogLength, lastTerm: cLogTerm } = request;
  const lastTerm = s.log.lastTerm();
  const logOk = cLogTerm > lastTerm || (cLogTerm === lastTerm && cLogLength >= s.log.length);
  const leaderAlive =
    s.currentRole === 'leader' ||
    s.ctx.now() - s.lastHeardFromLeader < s.options.electionTimeoutMs[0];
  const granted = cTerm > s.currentTerm && logOk && !leaderAlive;
  const body: PreVoteResponse = { term: granted ? cTerm : s.currentTerm, granted };
  s.ctx.send(cId, s.ctx.sign('PreVoteResponse', body));
}

/**
 *   on receiving (PreVoteResponse, voterId, term, granted) at node nodeId do
 *     if pre-election under way ∧ term = currentTerm + 1 ∧ granted then
 *       preVotesReceived := preVotesReceived ∪ {voterId}
 *       if |preVotesReceived| ≥ ⌈(|nodes| + 1)/2⌉ then start the election (slide 1/9)
 *     else if ¬granted ∧ term > currentTerm then step down to term
 */
export function onPreVoteResponse(s: RaftState, voterId: NodeId, response: PreVoteResponse): void {
  const { term, granted } = response;
  if (s.preVotesReceived !== null && term === s.currentTerm + 1 && granted) {
    s.preVotesReceived.add(voterId);
    if (s.preVotesReceived.size >= majority(s.nodes.length)) startElection(s);
  } else if (!granted && term > s.currentTerm) {
    s.stepDown(term);
  }
}

// ══ Slide 2/9: voting on a new leader ══════════════════════════════════════════════════

/**
 *   on receiving (VoteRequest, cId, cTerm, cLogLength, cLogTerm) at node nodeId do
 *     if cTerm > currentTerm then
 *       currentTerm := cTerm; currentRole := follower; votedFor := null
 *     end if
 *     lastTerm := 0
 *     if log.length > 0 then lastTerm := log[log.length − 1].term; end if
 *     logOk := (cLogTerm > lastTerm) ∨ (cLogTerm = lastTerm ∧ cLogLength ≥ log.length)
 *     if cTerm = currentTerm ∧ logOk ∧ votedFor ∈ {cId, null} then
 *       votedFor := cId
 *       send (VoteResponse, nodeId, currentTerm, true) to node cId
 *     else
 *       send (VoteResponse, nodeId, currentTerm, false) to node cId
 *     end if
 */
export function onVoteRequest(s: RaftState, cId: NodeId, request: VoteRequest): void {
  const { term: cTerm, logLength: cLogLength, lastTerm: cLogTerm } = request;
  if (cTerm > s.currentTerm) s.stepDown(cTerm);
  const lastTerm = s.log.lastTerm();
  const logOk = cLogTerm > lastTerm || (cLogTerm === lastTerm && cLogLength >= s.log.length);
  if (cTerm === s.currentTerm && logOk && (s.votedFor === cId || s.votedFor === null)) {
    s.setVotedFor(cId); // persisted in this step, before the response leaves (trap 4)
    s.resetElectionTimer();
    sendVoteResponse(s, cId, true);
  } else {
    sendVoteResponse(s, cId, false);
  }
}

function sendVoteResponse(s: RaftState, cId: NodeId, granted: boolean): void {
  const body: VoteResponse = { term: s.currentTerm, granted };
  s.ctx.send(cId, s.ctx.sign('VoteResponse', body));
}

// ══ Slide 3/9: collecting votes ════════════════════════════════════════════════════════

/**
 *   on receiving (VoteResponse, voterId, term, granted) at nodeId do
 *     if currentRole = candidate ∧ term = currentTerm ∧ granted then
 *       votesReceived := votesReceived ∪ {voterId}
 *       if |votesReceived| ≥ ⌈(|nodes| + 1)/2⌉ then … (becomeLeader)
 *     else if term > currentTerm then
 *       currentTerm := term; currentRole := follower; votedFor := null
 *       cancel election timer
 *     end if
 *
 * The step-down branch belongs to the outer `if` (trap 3): a candidate that hears of a
 * higher term steps down whatever its role.
 */
export function onVoteResponse(s: RaftState, voterId: NodeId, response: VoteResponse): void {
  const { term, granted } = response;
  if (s.currentRole === 'candidate' && term === s.currentTerm && granted) {
    s.votesReceived.add(voterId);
    if (s.votesReceived.size >= majority(s.nodes.length)) becomeLeader(s);
  } else if (term > s.currentTerm) {
    s.stepDown(term);
  }
}

/**
 *       currentRole := leader; currentLeader := nodeId
 *       cancel election timer
 *       for each follower ∈ nodes \ {nodeId} do
 *         sentLength[follower] := log.length
 *         ackedLength[follower] := 0
 *         ReplicateLog(nodeId, follower)
 *       end for
 *
 * Gap closed: before replicating, the new leader appends a no-op entry of its own term, so
 * that slide 9's term condition can be met — and earlier-term entries committed — without
 * waiting for a client request. Requests buffered while no leader was known follow it.
 */
function becomeLeader(s: RaftState): void {
  s.setRole('leader');
  s.currentLeader = s.nodeId;
  s.ctx.cancelTimer(ELECTION_TIMER);
  if (s.options.checkQuorum) {
    s.heardFrom.clear();
    s.ctx.setTimer(CHECK_QUORUM_TIMER, s.options.electionTimeoutMs[1]);
  }
  s.ctx.note('became-leader', {
    term: s.currentTerm,
    logLength: s.log.length,
    runs: s.log.runs(),
  });
  for (const follower of s.others()) s.progress.startFollower(follower, s.log.length);
  s.appendedThisTerm.clear();
  // What the log held before the no-op is durable: it was persisted before this node's
  // VoteRequests left, and the votes came back after.
  s.progress.ackedLength.set(s.nodeId, s.log.length);
  s.appendToLog([{ msg: { type: 'noop' }, term: s.currentTerm }]);
  ackOwnLog(s);
  for (const request of takeBuffered(s)) {
    if (isNewRequest(s, request)) appendRequest(s, request);
  }
  for (const follower of s.others()) replicateLog(s, follower);
  s.ctx.setTimer(HEARTBEAT_TIMER, s.options.heartbeatMs);
  commitLogEntries(s); // a one-node cluster commits alone
}
