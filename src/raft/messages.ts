/**
 * Raft's messages (Kleppmann's slides 1/9–9/9) and the client messages of the Raft service.
 *
 * The slides write a message as a tuple whose second field is the sender, e.g.
 * (VoteRequest, nodeId, currentTerm, log.length, lastTerm). Here the sender is the signed
 * envelope's `from`, which the host has already authenticated, so no body repeats it: the
 * handler reads cId / voterId / leaderId / follower from `from`.
 *
 * Every size is bounded: ids, sequence numbers, terms and lengths are safe integers, a
 * LogRequest's suffix holds at most MAX_SUFFIX entries, and a command's strings are bounded
 * by the KV store's own schema.
 */
import { z } from 'zod';
import { counterSchema } from '../core/bounds.js';
import type { ProtocolDefinition } from '../core/definition.js';
import { type KvCommand, kvCommandSchema, kvResultSchema, kvSnapshotSchema } from '../smr/kv.js';

/** The most log entries one LogRequest may carry (the sender's batch is usually smaller). */
export const MAX_SUFFIX = 1024;
export const NODE_ID_MAX = 128;

const nodeId = z.string().min(1).max(NODE_ID_MAX);
const count = counterSchema();
const term = count;
const length = count;
const seq = counterSchema(1);

/** What a log entry carries: a client's command, or the no-op a new leader appends. */
export const entryMsgSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('noop') }).strict(),
  z.object({ type: z.literal('request'), client: nodeId, seq, command: kvCommandSchema }).strict(),
]);

/** Slide 4/9: "append the record (msg : msg, term : currentTerm) to log". */
export const logEntrySchema = z.object({ msg: entryMsgSchema, term }).strict();
export type LogEntry = z.infer<typeof logEntrySchema>;

/** Slide 1/9: (VoteRequest, nodeId, currentTerm, log.length, lastTerm). */
export const voteRequestSchema = z.object({ term, logLength: length, lastTerm: term }).strict();
export type VoteRequest = z.infer<typeof voteRequestSchema>;

/** Slide 2/9: (VoteResponse, nodeId, currentTerm, granted). */
export const voteResponseSchema = z.object({ term, granted: z.boolean() }).strict();
export type VoteResponse = z.infer<typeof voteResponseSchema>;

/** Slide 5/9: (LogRequest, leaderId, currentTerm, prefixLen, prefixTerm, commitLength, suffix). */
export const logRequestSchema = z
  .object({
    term,
    prefixLen: length,
    prefixTerm: term,
    leaderCommit: length,
    suffix: z.array(logEntrySchema).max(MAX_SUFFIX),
  })
  .strict();
export type LogRequest = z.infer<typeof logRequestSchema>;

/**
 * Slide 6/9: (LogResponse, nodeId, currentTerm, ack, success). `hint` is our addition (the
 * back-off gap): on failure, the prefix length the follower suggests the leader try next.
 */
export const logResponseSchema = z
  .object({ term, ack: length, success: z.boolean(), hint: length.optional() })
  .strict();
export type LogResponse = z.infer<typeof logResponseSchema>;

/**
 * Thesis §9.6, Pre-Vote: (PreVoteRequest, nodeId, currentTerm + 1, log.length, lastTerm) — a
 * VoteRequest for the term the sender would stand in, which changes no receiver's state.
 */
export const preVoteRequestSchema = voteRequestSchema;
export type PreVoteRequest = VoteRequest;

/** The answer to a PreVoteRequest: granted, with the proposed term; or refused, with the voter's. */
export const preVoteResponseSchema = voteResponseSchema;
export type PreVoteResponse = VoteResponse;

/** Most term runs a snapshot's metadata lists, and most client sessions it carries. */
export const MAX_SNAPSHOT_RUNS = 65_536;
export const MAX_SESSIONS = 65_536;

/**
 * Thesis §5.1: a snapshot is the state machine's state after log[0..length − 1] together with
 * that prefix's last term ("lastIncludedTerm"); we add the prefix's chain digest and its term
 * runs, so the log after it keeps its digests and the checkers their evidence. The state is
 * the KV store and the session table (exactly-once must survive compaction).
 */
export const snapshotSchema = z
  .object({
    length,
    term,
    digest: z.string().max(64),
    runs: z.array(z.tuple([length, term])).max(MAX_SNAPSHOT_RUNS),
    kv: kvSnapshotSchema,
    sessions: z.array(z.tuple([nodeId, seq, kvResultSchema])).max(MAX_SESSIONS),
  })
  .strict();
export type Snapshot = z.infer<typeof snapshotSchema>;

/**
 * Thesis §5.1: (InstallSnapshot, leaderId, term, lastIncludedIndex, lastIncludedTerm, data) —
 * sent whole, not in chunks; the answer is a LogResponse acknowledging snapshot.length.
 */
export const installSnapshotSchema = z.object({ term, snapshot: snapshotSchema }).strict();
export type InstallSnapshot = z.infer<typeof installSnapshotSchema>;

/** A client's request; `client` must be the envelope's sender (one session per client). */
export const clientRequestSchema = z
  .object({ client: nodeId, seq, command: kvCommandSchema })
  .strict();
export type ClientRequest = { client: string; seq: number; command: KvCommand };

/** Slide 4/9 "forward the request to currentLeader via a FIFO link": a replica relays it. */
export const forwardRequestSchema = clientRequestSchema;

/** The result of a committed and applied request, with who leads (for the client's cache). */
export const clientReplySchema = z
  .object({ seq, result: kvResultSchema, leaderHint: nodeId.nullable() })
  .strict();
export type ClientReply = z.infer<typeof clientReplySchema>;

/** "Not leader, try leaderHint" — or, with leaderHint null, "no leader known, retry". */
export const redirectSchema = z.object({ seq, leaderHint: nodeId.nullable() }).strict();
export type Redirect = z.infer<typeof redirectSchema>;

export const raftDefinition: ProtocolDefinition = {
  name: 'raft',
  model: 'crash',
  // Point-to-point only: ForwardRequest is a new message of the follower, not a relayed proof.
  channelAuth: true,
  messages: {
    VoteRequest: voteRequestSchema,
    VoteResponse: voteResponseSchema,
    PreVoteRequest: preVoteRequestSchema,
    PreVoteResponse: preVoteResponseSchema,
    InstallSnapshot: installSnapshotSchema,
    LogRequest: logRequestSchema,
    LogResponse: logResponseSchema,
    ClientRequest: clientRequestSchema,
    ForwardRequest: forwardRequestSchema,
    ClientReply: clientReplySchema,
    Redirect: redirectSchema,
  },
};
