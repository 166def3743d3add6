/**
 * The application Raft replicates: "deliver log[i].msg to the application" (slides 7/9 and
 * 9/9) applies a committed entry to the KV store (src/smr/kv.ts) once per (client, seq), with
 * the session table (src/smr/sessions.ts) answering retries; and thesis §5.1's snapshots of
 * that state, which replace the committed prefix of the log.
 */

import type { NodeId } from '../core/protocol.js';
import { type KvResult, KvStore } from '../smr/kv.js';
import { SessionTable } from '../smr/sessions.js';
import type { ClientReply, Snapshot } from './messages.js';
import type { RaftState } from './state.js';
import { KEY_SNAPSHOT, logKey } from './storage.js';

/**
 * Apply a committed entry to the KV store, exactly once per (client, seq): the session
 * table answers a retried request with the cached result and skips a stale one. The
 * leader replies only now, after commit and apply (trap 6). `live` is false while the
 * committed prefix is replayed on recovery: no notes, no replies.
 */
export function deliver(s: RaftState, index: number, live: boolean): void {
  const entry = s.log.entry(index);
  if (live) {
    s.ctx.note('commit', {
      index,
      term: entry.term,
      leaderTerm: s.currentTerm,
      digest: s.log.digestAt(index),
    });
  }
  const { msg } = entry;
  if (msg.type === 'noop') return;
  const verdict = s.sessions.check(msg.client, msg.seq);
  let result: KvResult;
  if (verdict.kind === 'new') {
    result = s.kv.apply(msg.command);
    s.sessions.record(msg.client, msg.seq, result);
    if (live) s.ctx.note('apply', { index, client: msg.client, seq: msg.seq });
  } else if (verdict.kind === 'duplicate') {
    result = verdict.result;
  } else {
    return;
  }
  if (live && s.currentRole === 'leader') {
    sendReply(s, msg.client, { seq: msg.seq, result });
  }
}

export function sendReply(
  s: RaftState,
  client: NodeId,
  reply: { seq: number; result: KvResult },
): void {
  const body: ClientReply = { ...reply, leaderHint: s.currentLeader };
  s.ctx.send(client, s.ctx.sign('ClientReply', body));
}

// ══ Thesis §5.1: snapshots and log compaction ═══════════════════════════════════════════

/**
 * Thesis §5.1: "each server takes snapshots independently, covering just the committed
 * entries in its log" — the state machine's state after log[0..commitLength − 1] and the
 * term of its last entry; then "the server deletes all log entries up through the last
 * included index". The snapshot is persisted before the entries are deleted, in the same
 * step, so storage always holds one or the other.
 */
export function takeSnapshot(s: RaftState): void {
  const length = s.commitLength;
  const covered = s.log.snapshot.length;
  const snapshot: Snapshot = {
    length,
    term: s.log.termAt(length - 1),
    digest: s.log.digestAt(length - 1),
    runs: s.log.runs().filter(([first]) => first < length),
    kv: s.kv.snapshot() as Snapshot['kv'],
    sessions: s.sessions.snapshot() as Snapshot['sessions'],
  };
  s.snapshot = snapshot;
  s.ctx.persist(KEY_SNAPSHOT, snapshot);
  for (let i = covered; i < length; i++) s.ctx.persist(logKey(i), null);
  s.log.compact(snapshot);
  s.ctx.note('snapshot', { length, term: snapshot.term });
}

/** The state machine and the log's base from a snapshot (recovery, InstallSnapshot). */
export function restoreSnapshot(s: RaftState, snapshot: Snapshot): void {
  s.snapshot = snapshot;
  s.kv = KvStore.restore(snapshot.kv);
  s.sessions = SessionTable.restore<KvResult>(snapshot.sessions);
  if (s.log.length >= snapshot.length && s.log.termAt(snapshot.length - 1) === snapshot.term) {
    s.log.compact(snapshot);
  } else {
    s.log.reset(snapshot);
  }
}
