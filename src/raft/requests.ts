/**
 * Slide 4/9, "on request to broadcast msg": clients' requests reaching a replica, and the
 * service around the slide — exactly-once through the session table, one append per
 * (client, seq) per term, forwarding to the leader, and buffering while no leader is known.
 * The replies are sent when an entry is applied (state-machine.ts).
 */

import type { NodeId } from '../core/protocol.js';
import type { ClientRequest, Redirect } from './messages.js';
import { ackOwnLog, commitLogEntries, replicateLog } from './replication.js';
import type { RaftState } from './state.js';
import { sendReply } from './state-machine.js';

/**
 *   on request to broadcast msg at node nodeId do
 *     if currentRole = leader then
 *       append the record (msg: msg, term: currentTerm) to log
 *       ackedLength[nodeId] := log.length
 *       for each follower ∈ nodes \ {nodeId} do ReplicateLog(nodeId, follower) end for
 *     else
 *       forward the request to currentLeader via a FIFO link
 *     end if
 *
 * Around it, the service's part: a retried (client, seq) that was already applied is
 * answered from the session table; the leader appends a request once per term; a
 * follower forwards only when it knows a leader (trap 7) and otherwise buffers the
 * request (bounded) until it learns one, or answers "no leader, retry" when the buffer is
 * full. A forwarded request that reaches a non-leader is not forwarded again: the client
 * gets a redirect instead, so requests cannot circle between replicas.
 */
export function onClientRequest(s: RaftState, request: ClientRequest, forwarded: boolean): void {
  if (!isNewRequest(s, request)) return;
  if (s.currentRole === 'leader') {
    if (!appendRequest(s, request)) return;
    for (const follower of s.others()) {
      // Pipelined: a follower busy with earlier LogRequests gets this entry with the next
      // one, sent when it answers (onLogResponse).
      if (s.progress.canPipeline(follower, s.options.maxInflight)) {
        replicateLog(s, follower);
      }
    }
    commitLogEntries(s); // a one-node cluster commits alone
  } else if (s.currentLeader !== null) {
    if (forwarded) sendRedirect(s, request, s.currentLeader);
    else s.ctx.send(s.currentLeader, s.ctx.sign('ForwardRequest', { ...request }));
  } else if (s.buffered.has(request.client) || s.buffered.size < s.options.maxBuffered) {
    s.buffered.set(request.client, request);
  } else {
    sendRedirect(s, request, null);
  }
}

/**
 * Exactly-once, before anything else: a request already applied is answered from the
 * session table (its result is committed), an older one is dropped (its client has moved
 * on). Only a new request goes on.
 */
export function isNewRequest(s: RaftState, request: ClientRequest): boolean {
  const verdict = s.sessions.check(request.client, request.seq);
  if (verdict.kind === 'duplicate') {
    sendReply(s, request.client, { seq: request.seq, result: verdict.result });
  }
  return verdict.kind === 'new';
}

/**
 * "append the record (msg: msg, term: currentTerm) to log; ackedLength[nodeId] := log.length"
 * — unless this leader already appended the same (client, seq) in this term.
 */
export function appendRequest(s: RaftState, request: ClientRequest): boolean {
  if (s.appendedThisTerm.get(request.client) === request.seq) return false;
  s.appendedThisTerm.set(request.client, request.seq);
  const { client, seq, command } = request;
  s.appendToLog([{ msg: { type: 'request', client, seq, command }, term: s.currentTerm }]);
  ackOwnLog(s);
  return true;
}

/** Take the requests buffered while no leader was known. */
export function takeBuffered(s: RaftState): ClientRequest[] {
  const requests = [...s.buffered.values()];
  s.buffered.clear();
  return requests;
}

/** A follower that learns its leader forwards what it buffered. */
export function flushBuffered(s: RaftState): void {
  if (s.currentLeader === null) return;
  for (const request of takeBuffered(s)) onClientRequest(s, request, false);
}

function sendRedirect(s: RaftState, request: ClientRequest, leaderHint: NodeId | null): void {
  const body: Redirect = { seq: request.seq, leaderHint };
  s.ctx.send(request.client, s.ctx.sign('Redirect', body));
}
