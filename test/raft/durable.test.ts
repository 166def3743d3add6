/**
 * The leader writes its log in parallel with replicating it (Ongaro's thesis §10.2.1), with a
 * context that has the runtime's sendAhead and afterDurable: its LogRequests go ahead of its
 * own write, and its own copy counts toward a commit only once that write is durable.
 * Votes still wait for their write (ordinary send, after persist).
 */
import { describe, expect, it } from 'vitest';
import { makeClusterView } from '../../src/core/cluster-view.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { NodeId } from '../../src/core/protocol.js';
import type { Json } from '../../src/crypto/json.js';
import { ELECTION_TIMER } from '../../src/raft/options.js';
import { RaftNode } from '../../src/raft/raft.js';
import { FakeContext } from '../helpers/fake-context.js';

/** A FakeContext with the runtime's two hooks: what went ahead, and writes not yet durable. */
class AsyncDiskContext extends FakeContext {
  readonly ahead: { to: NodeId; message: Envelope }[] = [];
  private waiting: (() => void)[] = [];
  sendAhead(to: NodeId, message: Envelope): void {
    this.ahead.push({ to, message });
  }
  afterDurable(callback: () => void): void {
    this.waiting.push(callback);
  }
  /** The disk finishes: every callback waiting runs. */
  sync(): void {
    for (const callback of this.waiting.splice(0)) callback();
  }
}

const env = (kind: string, from: string, body: unknown): Envelope => ({
  kind,
  from,
  body: body as Json,
  sig: `sig:${from}`,
});

function elected(n: number) {
  const ctx = new AsyncDiskContext(
    'n0',
    makeClusterView({
      id: 'unit',
      protocol: 'raft',
      model: 'crash',
      replicas: Array.from({ length: n }, (_, i) => `n${i}`),
      clients: ['c0'],
      f: Math.floor((n - 1) / 2),
    }),
  );
  const raft = new RaftNode(ctx, { preVote: false, checkQuorum: false });
  raft.start(null);
  raft.onTimer(ELECTION_TIMER);
  const votes = ctx.sent('VoteRequest');
  const term = raft.inspect().currentTerm;
  for (let i = 1; i < Math.ceil((n + 1) / 2); i++)
    raft.onMessage(`n${i}`, env('VoteResponse', `n${i}`, { term, granted: true }));
  expect(raft.inspect().currentRole).toBe('leader');
  const ack = (from: string, length: number) =>
    raft.onMessage(from, env('LogResponse', from, { term, ack: length, success: true }));
  const commits = () =>
    ctx.effects.flatMap((e) =>
      e.type === 'note' && e.event === 'commit' ? [(e.data as { index: number }).index] : [],
    );
  return { ctx, raft, votes, ack, commits };
}

describe('Raft leader: log write in parallel with AppendEntries (thesis §10.2.1)', () => {
  it('LogRequests go ahead of the write; VoteRequests do not', () => {
    const { ctx, votes } = elected(3);
    expect(votes.map((v) => v.kind)).toEqual(['VoteRequest', 'VoteRequest']);
    expect(ctx.ahead.map((a) => [a.to, a.message.kind])).toEqual([
      ['n1', 'LogRequest'],
      ['n2', 'LogRequest'],
    ]);
    expect(ctx.sent('LogRequest')).toEqual([]);
  });

  it("the leader's own copy counts toward the quorum only once its write is durable", () => {
    const { ctx, ack, commits } = elected(3);
    ack('n1', 1); // the new leader's no-op, at n1: with the leader's copy, a majority
    expect(commits()).toEqual([]); // … but the leader's copy is not durable yet
    ctx.sync();
    expect(commits()).toEqual([0]);
  });

  it('a majority of followers commits without the leader’s copy', () => {
    const { ack, commits } = elected(3);
    ack('n1', 1);
    ack('n2', 1);
    expect(commits()).toEqual([0]);
  });

  it('a write that becomes durable after the leader stepped down counts for nothing', () => {
    const { ctx, raft, ack, commits } = elected(3);
    const term = raft.inspect().currentTerm;
    ack('n1', 1);
    raft.onMessage('n2', env('VoteRequest', 'n2', { term: term + 1, logLength: 9, lastTerm: 9 }));
    expect(raft.inspect().currentRole).toBe('follower');
    ctx.sync();
    expect(commits()).toEqual([]);
  });
});
