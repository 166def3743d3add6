/**
 * RaftNode, slide by slide, one instance over a FakeContext: the test plays the network.
 */
import { describe, expect, it } from 'vitest';
import { type ClusterView, makeClusterView } from '../../src/core/cluster-view.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Json } from '../../src/crypto/json.js';
import type { LogEntry, LogRequest } from '../../src/raft/messages.js';
import {
  CHECK_QUORUM_TIMER,
  ELECTION_TIMER,
  HEARTBEAT_TIMER,
  type RaftOptions,
} from '../../src/raft/options.js';
import { RaftNode } from '../../src/raft/raft.js';
import {
  KEY_COMMIT,
  KEY_LOG_LENGTH,
  KEY_SNAPSHOT,
  KEY_TERM,
  KEY_VOTED_FOR,
  logKey,
} from '../../src/raft/storage.js';
import type { KvCommand } from '../../src/smr/kv.js';
import { FakeContext } from '../helpers/fake-context.js';

function view(n: number, clients: string[] = ['c0', 'c1']): ClusterView {
  return makeClusterView({
    id: 'unit',
    protocol: 'raft',
    model: 'crash',
    replicas: Array.from({ length: n }, (_, i) => `n${i}`),
    clients,
    f: Math.floor((n - 1) / 2),
  });
}

const env = (kind: string, from: string, body: unknown): Envelope => ({
  kind,
  from,
  body: body as Json,
  sig: `sig:${from}`,
});

const put = (key: string, value: string): KvCommand => ({ op: 'put', key, value });
const req = (term: number, client: string, seq: number, command: KvCommand): LogEntry => ({
  msg: { type: 'request', client, seq, command },
  term,
});
const noop = (term: number): LogEntry => ({ msg: { type: 'noop' }, term });

interface Stored {
  term?: number;
  votedFor?: string;
  log?: LogEntry[];
  commitLength?: number;
}

function stored(s: Stored): Map<string, Json> {
  const m = new Map<string, Json>();
  if (s.term !== undefined) m.set(KEY_TERM, s.term);
  if (s.votedFor !== undefined) m.set(KEY_VOTED_FOR, s.votedFor);
  for (const [i, e] of (s.log ?? []).entries()) m.set(logKey(i), e as unknown as Json);
  m.set(KEY_LOG_LENGTH, (s.log ?? []).length);
  if (s.commitLength !== undefined) m.set(KEY_COMMIT, s.commitLength);
  return m;
}

function make(
  options: Partial<RaftOptions> & { n?: number; self?: string; recovered?: Stored } = {},
) {
  const { n = 3, self = 'n0', recovered, ...raftOptions } = options;
  const ctx = new FakeContext(self, view(n));
  // The slides' election unless a test turns on the thesis's PreVote / CheckQuorum.
  const raft = new RaftNode(ctx, { preVote: false, checkQuorum: false, ...raftOptions });
  raft.start(recovered === undefined ? null : stored(recovered));
  const state = () => raft.inspect();
  const msg = (from: string, kind: string, body: unknown) =>
    raft.onMessage(from, env(kind, from, body));
  return { ctx, raft, state, msg };
}

/** n0 wins an election (term = stored term + 1) with n1's vote; effects drained. */
function leader(options: Parameters<typeof make>[0] = {}) {
  const t = make(options);
  t.raft.onTimer(ELECTION_TIMER);
  const term = t.state().currentTerm;
  for (let i = 1; i < Math.ceil(((options.n ?? 3) + 1) / 2); i++) {
    t.msg(`n${i}`, 'VoteResponse', { term, granted: true });
  }
  expect(t.state().currentRole).toBe('leader');
  t.ctx.drain();
  return t;
}

/** Message bodies and note data, loosely typed for assertions. */
type Loose = { [key: string]: unknown };

function sent(ctx: FakeContext, kind: string): { to: string; body: Loose }[] {
  return ctx.effects.flatMap((e) =>
    e.type === 'send' && e.message.kind === kind
      ? [{ to: e.to, body: e.message.body as Loose }]
      : [],
  );
}

function persists(ctx: FakeContext): { key: string; value: Json | null }[] {
  return ctx.effects.flatMap((e) => (e.type === 'persist' ? [{ key: e.key, value: e.value }] : []));
}

function notes(ctx: FakeContext, event: string): Loose[] {
  return ctx.effects.flatMap((e) =>
    e.type === 'note' && e.event === event ? [e.data as Loose] : [],
  );
}

function effectIndex(ctx: FakeContext, pred: (e: FakeContext['effects'][number]) => boolean) {
  return ctx.effects.findIndex(pred);
}

describe('slide 1/9: initialisation, recovery, election timeout', () => {
  it('on initialisation: a follower of term 0 with a random election timer in [min, max)', () => {
    const { ctx, state } = make({ electionTimeoutMs: [100, 200] });
    expect(state()).toMatchObject({
      currentTerm: 0,
      votedFor: null,
      commitLength: 0,
      currentRole: 'follower',
      currentLeader: null,
    });
    const timer = ctx.effects.find((e) => e.type === 'setTimer');
    expect(timer).toMatchObject({ name: ELECTION_TIMER });
    const delay = (timer as { delayMs: number }).delayMs;
    expect(delay).toBeGreaterThanOrEqual(100);
    expect(delay).toBeLessThan(200);
    expect(persists(ctx)).toEqual([]);
  });

  it('election timeout: term+1, candidate, own vote persisted before any VoteRequest leaves', () => {
    const { ctx, raft, state } = make({ n: 3 });
    ctx.drain();
    raft.onTimer(ELECTION_TIMER);
    expect(state()).toMatchObject({ currentTerm: 1, currentRole: 'candidate', votedFor: 'n0' });
    expect([...state().votesReceived]).toEqual(['n0']);
    const requests = sent(ctx, 'VoteRequest');
    expect(requests.map((r) => r.to)).toEqual(['n1', 'n2']);
    expect(requests[0]?.body).toEqual({ term: 1, logLength: 0, lastTerm: 0 });
    const firstSend = effectIndex(ctx, (e) => e.type === 'send');
    expect(effectIndex(ctx, (e) => e.type === 'persist' && e.key === KEY_TERM)).toBeLessThan(
      firstSend,
    );
    expect(
      effectIndex(ctx, (e) => e.type === 'persist' && e.key === KEY_VOTED_FOR && e.value === 'n0'),
    ).toBeLessThan(firstSend);
    expect(ctx.effects.some((e) => e.type === 'setTimer' && e.name === ELECTION_TIMER)).toBe(true);
  });

  it('VoteRequest carries log.length and the last entry’s term', () => {
    const { ctx, raft } = make({ recovered: { term: 2, log: [noop(1), noop(2)] } });
    raft.onTimer(ELECTION_TIMER);
    expect(sent(ctx, 'VoteRequest')[0]?.body).toEqual({ term: 3, logLength: 2, lastTerm: 2 });
  });

  it('votesReceived is reset when a new election starts', () => {
    const { raft, state, msg } = make({ n: 5 });
    raft.onTimer(ELECTION_TIMER);
    msg('n1', 'VoteResponse', { term: 1, granted: true });
    expect(state().votesReceived.size).toBe(2);
    raft.onTimer(ELECTION_TIMER); // split vote: try again in term 2
    expect(state().currentTerm).toBe(2);
    expect([...state().votesReceived]).toEqual(['n0']);
    msg('n1', 'VoteResponse', { term: 1, granted: true }); // late, from term 1
    msg('n2', 'VoteResponse', { term: 2, granted: true });
    expect(state().votesReceived.size).toBe(2);
    expect(state().currentRole).toBe('candidate'); // 2 < ⌈(5+1)/2⌉ = 3
  });

  it('on recovery from crash: stable state back, volatile state reset, committed prefix re-applied', () => {
    const { ctx, state } = make({
      recovered: {
        term: 3,
        votedFor: 'n1',
        log: [req(1, 'c0', 1, put('k', 'a')), req(2, 'c0', 2, put('k', 'b'))],
        commitLength: 1,
      },
    });
    expect(state()).toMatchObject({
      currentTerm: 3,
      votedFor: 'n1',
      commitLength: 1,
      currentRole: 'follower',
      currentLeader: null,
    });
    expect(state().log).toHaveLength(2);
    expect(state().votesReceived.size).toBe(0);
    expect(state().sentLength.size).toBe(0);
    expect(state().kv).toEqual([['k', 'a']]); // only the committed entry
    expect(notes(ctx, 'recovered')).toEqual([
      { term: 3, logLength: 2, commitLength: 1, snapshotLength: 0 },
    ]);
    expect(notes(ctx, 'apply')).toEqual([]); // a replay is not a new application
    expect(notes(ctx, 'commit')).toEqual([]);
  });

  it('a one-node cluster elects itself and commits alone', () => {
    const ctx = new FakeContext('n0', view(1));
    const raft = new RaftNode(ctx);
    raft.start(null);
    raft.onTimer(ELECTION_TIMER);
    expect(raft.inspect().currentRole).toBe('leader');
    expect(raft.inspect().commitLength).toBe(1); // its no-op
    raft.onMessage(
      'c0',
      env('ClientRequest', 'c0', { client: 'c0', seq: 1, command: put('k', 'v') }),
    );
    expect(raft.inspect().commitLength).toBe(2);
    expect(sent(ctx, 'ClientReply')).toEqual([
      { to: 'c0', body: { seq: 1, result: { ok: true, value: 'v' }, leaderHint: 'n0' } },
    ]);
  });
});

describe('slide 2/9: voting on a new leader', () => {
  it('grants a vote, and votedFor is persisted before the VoteResponse is sent', () => {
    const { ctx, state, msg } = make();
    ctx.drain();
    msg('n1', 'VoteRequest', { term: 1, logLength: 0, lastTerm: 0 });
    expect(state()).toMatchObject({ currentTerm: 1, votedFor: 'n1' });
    expect(sent(ctx, 'VoteResponse')).toEqual([{ to: 'n1', body: { term: 1, granted: true } }]);
    const persistVote = effectIndex(
      ctx,
      (e) => e.type === 'persist' && e.key === KEY_VOTED_FOR && e.value === 'n1',
    );
    const persistTerm = effectIndex(ctx, (e) => e.type === 'persist' && e.key === KEY_TERM);
    const send = effectIndex(ctx, (e) => e.type === 'send');
    expect(persistVote).toBeGreaterThanOrEqual(0);
    expect(persistVote).toBeLessThan(send);
    expect(persistTerm).toBeLessThan(send);
  });

  it('refuses a second candidate in the same term, but repeats a vote to the same one', () => {
    const { ctx, msg } = make();
    msg('n1', 'VoteRequest', { term: 1, logLength: 0, lastTerm: 0 });
    msg('n2', 'VoteRequest', { term: 1, logLength: 0, lastTerm: 0 });
    msg('n1', 'VoteRequest', { term: 1, logLength: 0, lastTerm: 0 });
    expect(sent(ctx, 'VoteResponse').map((r) => [r.to, r.body.granted])).toEqual([
      ['n1', true],
      ['n2', false],
      ['n1', true],
    ]);
  });

  it('refuses a candidate whose log is behind: lower last term, or same term and shorter', () => {
    const { ctx, state, msg } = make({ recovered: { term: 2, log: [noop(1), noop(2)] } });
    msg('n1', 'VoteRequest', { term: 3, logLength: 5, lastTerm: 1 });
    msg('n2', 'VoteRequest', { term: 4, logLength: 1, lastTerm: 2 });
    expect(sent(ctx, 'VoteResponse').map((r) => r.body)).toEqual([
      { term: 3, granted: false },
      { term: 4, granted: false },
    ]);
    expect(state().votedFor).toBeNull();
    msg('n1', 'VoteRequest', { term: 5, logLength: 2, lastTerm: 2 });
    expect(sent(ctx, 'VoteResponse').at(-1)?.body).toEqual({ term: 5, granted: true });
  });

  it('a VoteRequest of a higher term makes a leader step down even when the vote is refused', () => {
    const t = leader();
    t.msg('n2', 'VoteRequest', { term: 7, logLength: 0, lastTerm: 0 }); // log behind ours
    expect(t.state()).toMatchObject({ currentTerm: 7, currentRole: 'follower', votedFor: null });
    expect(sent(t.ctx, 'VoteResponse')[0]?.body).toEqual({ term: 7, granted: false });
    expect(t.ctx.effects).toContainEqual({ type: 'cancelTimer', name: HEARTBEAT_TIMER });
    expect(t.ctx.effects.some((e) => e.type === 'setTimer' && e.name === ELECTION_TIMER)).toBe(
      true,
    );
  });
});

describe('slide 3/9: collecting votes', () => {
  it('VoteResponse from a higher term steps down even when currentRole is candidate', () => {
    const { ctx, raft, state, msg } = make();
    raft.onTimer(ELECTION_TIMER);
    ctx.drain();
    msg('n1', 'VoteResponse', { term: 5, granted: false });
    expect(state()).toMatchObject({ currentTerm: 5, currentRole: 'follower', votedFor: null });
    expect(persists(ctx)).toEqual(
      expect.arrayContaining([
        { key: KEY_TERM, value: 5 },
        { key: KEY_VOTED_FOR, value: null },
      ]),
    );
    expect(notes(ctx, 'role')).toEqual([{ term: 5, role: 'follower', leader: null }]);
  });

  it('refusals and votes of an earlier term are not counted', () => {
    const { raft, state, msg } = make();
    raft.onTimer(ELECTION_TIMER);
    raft.onTimer(ELECTION_TIMER); // term 2
    msg('n1', 'VoteResponse', { term: 1, granted: true });
    msg('n2', 'VoteResponse', { term: 2, granted: false });
    expect(state().currentRole).toBe('candidate');
    expect(state().votesReceived.size).toBe(1);
  });

  it('no-op appended on election: a majority makes a leader that replicates its no-op', () => {
    const { ctx, raft, state, msg } = make({
      recovered: { term: 1, log: [req(1, 'c0', 1, put('k', 'a'))] },
    });
    raft.onTimer(ELECTION_TIMER);
    ctx.drain();
    msg('n2', 'VoteResponse', { term: 2, granted: true });
    expect(state()).toMatchObject({ currentRole: 'leader', currentLeader: 'n0', currentTerm: 2 });
    expect(state().log).toEqual([req(1, 'c0', 1, put('k', 'a')), noop(2)]);
    expect(persists(ctx)).toEqual(
      expect.arrayContaining([
        { key: logKey(1), value: noop(2) as unknown as Json },
        { key: KEY_LOG_LENGTH, value: 2 },
      ]),
    );
    expect(notes(ctx, 'became-leader')).toEqual([{ term: 2, logLength: 1, runs: [[0, 1]] }]);
    expect(ctx.effects).toContainEqual({ type: 'cancelTimer', name: ELECTION_TIMER });
    expect(ctx.effects).toContainEqual({ type: 'setTimer', name: HEARTBEAT_TIMER, delayMs: 50 });
    // sentLength[follower] := log.length (before the no-op); ackedLength[follower] := 0
    expect(state().ackedLength.get('n1')).toBe(0);
    const requests = sent(ctx, 'LogRequest');
    expect(requests.map((r) => r.to)).toEqual(['n1', 'n2']);
    expect(requests[0]?.body).toEqual({
      term: 2,
      prefixLen: 1,
      prefixTerm: 1,
      leaderCommit: 0,
      suffix: [noop(2)],
    });
  });
});

describe('slide 4/9: broadcasting messages', () => {
  const request = { client: 'c0', seq: 1, command: put('k', 'v') };

  it('the leader appends a request, persists it, and replicates it to every follower', () => {
    const t = leader();
    t.msg('c0', 'ClientRequest', request);
    expect(t.state().log).toEqual([noop(1), req(1, 'c0', 1, put('k', 'v'))]);
    expect(t.state().ackedLength.get('n0')).toBe(2);
    expect(persists(t.ctx)).toEqual([
      { key: logKey(1), value: req(1, 'c0', 1, put('k', 'v')) as unknown as Json },
      { key: KEY_LOG_LENGTH, value: 2 },
    ]);
    expect(sent(t.ctx, 'LogRequest').map((r) => r.to)).toEqual(['n1', 'n2']);
    expect(sent(t.ctx, 'ClientReply')).toEqual([]); // not committed yet
    t.msg('c0', 'ClientRequest', request); // a retry in the same term is not appended again
    expect(t.state().log).toHaveLength(2);
  });

  it('a follower forwards to the leader it knows', () => {
    const { ctx, msg } = make();
    msg('n1', 'LogRequest', { term: 1, prefixLen: 0, prefixTerm: 0, leaderCommit: 0, suffix: [] });
    ctx.drain();
    msg('c0', 'ClientRequest', request);
    expect(sent(ctx, 'ForwardRequest')).toEqual([{ to: 'n1', body: request }]);
  });

  it('with no leader known, requests are buffered and forwarded once a leader is heard from', () => {
    const { ctx, state, msg } = make();
    msg('c0', 'ClientRequest', request);
    expect(sent(ctx, 'ForwardRequest')).toEqual([]);
    expect(state().buffered).toBe(1);
    msg('n2', 'LogRequest', { term: 1, prefixLen: 0, prefixTerm: 0, leaderCommit: 0, suffix: [] });
    expect(sent(ctx, 'ForwardRequest')).toEqual([{ to: 'n2', body: request }]);
    expect(state().buffered).toBe(0);
  });

  it('a candidate that wins appends its buffered requests after the no-op', () => {
    const { raft, state, msg } = make();
    msg('c0', 'ClientRequest', request);
    raft.onTimer(ELECTION_TIMER);
    msg('n1', 'VoteResponse', { term: 1, granted: true });
    expect(state().log).toEqual([noop(1), req(1, 'c0', 1, put('k', 'v'))]);
  });

  it('buffer full: the client is told "no leader, retry"', () => {
    const { ctx, msg } = make({ maxBuffered: 1 });
    msg('c0', 'ClientRequest', request);
    msg('c1', 'ClientRequest', { client: 'c1', seq: 1, command: put('k', 'w') });
    expect(sent(ctx, 'Redirect')).toEqual([{ to: 'c1', body: { seq: 1, leaderHint: null } }]);
  });

  it('a forwarded request that reaches a non-leader is redirected, not forwarded again', () => {
    const { ctx, msg } = make();
    msg('n1', 'LogRequest', { term: 1, prefixLen: 0, prefixTerm: 0, leaderCommit: 0, suffix: [] });
    msg('n2', 'ForwardRequest', request);
    expect(sent(ctx, 'ForwardRequest')).toEqual([]);
    expect(sent(ctx, 'Redirect')).toEqual([{ to: 'c0', body: { seq: 1, leaderHint: 'n1' } }]);
  });

  it('a ClientRequest is ignored unless its client is the authenticated sender', () => {
    const t = leader();
    t.msg('c1', 'ClientRequest', request); // c1 speaking for c0
    t.msg('n2', 'ClientRequest', { ...request, client: 'n2' }); // a replica is no client
    expect(t.state().log).toHaveLength(1);
  });

  it('periodically: the leader sends a LogRequest to every follower and re-arms its timer', () => {
    const t = leader();
    t.raft.onTimer(HEARTBEAT_TIMER);
    expect(sent(t.ctx, 'LogRequest').map((r) => r.to)).toEqual(['n1', 'n2']);
    expect(t.ctx.effects).toContainEqual({ type: 'setTimer', name: HEARTBEAT_TIMER, delayMs: 50 });
  });
});

describe('slide 5/9: ReplicateLog', () => {
  it('sends log[sentLength..] with prefixTerm and commitLength, cut at maxSuffix', () => {
    const log = [noop(1), noop(1), noop(2), noop(2), noop(2)];
    const t = leader({ maxSuffix: 2, recovered: { term: 2, log, commitLength: 1 } });
    t.msg('n1', 'LogResponse', { term: 3, ack: 0, success: false, hint: 1 });
    const body = sent(t.ctx, 'LogRequest')[0]?.body as LogRequest;
    expect(body).toEqual({
      term: 3,
      prefixLen: 1,
      prefixTerm: 1,
      leaderCommit: 1,
      suffix: [noop(1), noop(2)],
    });
  });
});

describe('slide 6/9: followers receiving LogRequests', () => {
  it('a higher term: adopt it, clear the vote, follow the sender, re-arm the election timer', () => {
    const { ctx, raft, state, msg } = make();
    raft.onTimer(ELECTION_TIMER); // candidate of term 1
    ctx.drain();
    msg('n2', 'LogRequest', { term: 4, prefixLen: 0, prefixTerm: 0, leaderCommit: 0, suffix: [] });
    expect(state()).toMatchObject({
      currentTerm: 4,
      votedFor: null,
      currentRole: 'follower',
      currentLeader: 'n2',
    });
    expect(ctx.effects.some((e) => e.type === 'setTimer' && e.name === ELECTION_TIMER)).toBe(true);
    expect(sent(ctx, 'LogResponse')).toEqual([
      { to: 'n2', body: { term: 4, ack: 0, success: true } },
    ]);
  });

  it('a follower that adopts a later term and its leader says so once in a role note', () => {
    // Its role does not change, yet /status and the disruption checks read the term and the
    // leader off this note: without it a rejoining replica looked stuck in its old term.
    const { ctx, msg } = make();
    expect(notes(ctx, 'role')).toEqual([{ term: 0, role: 'follower', leader: null }]);
    ctx.drain();
    const beat = { prefixLen: 0, prefixTerm: 0, leaderCommit: 0, suffix: [] };
    msg('n2', 'LogRequest', { term: 3, ...beat });
    msg('n2', 'LogRequest', { term: 3, ...beat });
    expect(notes(ctx, 'role')).toEqual([{ term: 3, role: 'follower', leader: 'n2' }]);
  });

  it('a candidate hearing the leader of its own term becomes a follower', () => {
    const { raft, state, msg } = make();
    raft.onTimer(ELECTION_TIMER);
    msg('n1', 'LogRequest', { term: 1, prefixLen: 0, prefixTerm: 0, leaderCommit: 0, suffix: [] });
    expect(state()).toMatchObject({ currentRole: 'follower', currentLeader: 'n1', votedFor: 'n0' });
  });

  it('a log shorter than prefixLen fails, hinting its length', () => {
    const { ctx, msg } = make({ recovered: { term: 1, log: [noop(1)] } });
    msg('n1', 'LogRequest', { term: 2, prefixLen: 4, prefixTerm: 2, leaderCommit: 0, suffix: [] });
    expect(sent(ctx, 'LogResponse')[0]?.body).toEqual({ term: 2, ack: 0, success: false, hint: 1 });
  });

  it('a prefixTerm mismatch fails, hinting the first index of the conflicting term', () => {
    const log = [noop(1), noop(2), noop(2), noop(2)];
    const { ctx, msg } = make({ recovered: { term: 2, log } });
    msg('n1', 'LogRequest', { term: 3, prefixLen: 4, prefixTerm: 3, leaderCommit: 0, suffix: [] });
    expect(sent(ctx, 'LogResponse')[0]?.body).toEqual({ term: 3, ack: 0, success: false, hint: 1 });
  });

  it('a LogRequest of an earlier term is refused with the current term', () => {
    const { ctx, state, msg } = make({ recovered: { term: 5 } });
    msg('n1', 'LogRequest', { term: 3, prefixLen: 0, prefixTerm: 0, leaderCommit: 0, suffix: [] });
    expect(sent(ctx, 'LogResponse')[0]?.body).toMatchObject({ term: 5, success: false });
    expect(state().currentLeader).toBeNull();
  });
});

describe('slide 7/9: AppendEntries', () => {
  it('LogRequest with a conflicting suffix truncates (and the storage follows)', () => {
    const log = [noop(1), noop(1), noop(2), noop(2)];
    const { ctx, state, msg } = make({ recovered: { term: 2, log, commitLength: 2 } });
    ctx.drain();
    msg('n1', 'LogRequest', {
      term: 3,
      prefixLen: 2,
      prefixTerm: 1,
      leaderCommit: 2,
      suffix: [noop(3)],
    });
    expect(state().log).toEqual([noop(1), noop(1), noop(3)]);
    expect(persists(ctx)).toEqual(
      expect.arrayContaining([
        { key: logKey(2), value: noop(3) as unknown as Json },
        { key: logKey(3), value: null },
        { key: KEY_LOG_LENGTH, value: 3 },
      ]),
    );
    expect(sent(ctx, 'LogResponse')[0]?.body).toEqual({ term: 3, ack: 3, success: true });
    expect(notes(ctx, 'truncate-committed')).toEqual([]);
  });

  it('cuts at the first conflicting index, keeping matching entries past prefixLen', () => {
    const log = [noop(1), noop(1), noop(2), noop(2)];
    const { state, msg } = make({ recovered: { term: 2, log, commitLength: 3 } });
    msg('n1', 'LogRequest', {
      term: 3,
      prefixLen: 1,
      prefixTerm: 1,
      leaderCommit: 3,
      suffix: [noop(1), noop(2), noop(3)],
    });
    expect(state().log).toEqual([noop(1), noop(1), noop(2), noop(3)]);
  });

  it('a suffix that agrees with the log truncates nothing (a late or repeated LogRequest)', () => {
    const log = [noop(1), noop(1), noop(1)];
    const { ctx, state, msg } = make({ recovered: { term: 1, log } });
    ctx.drain();
    msg('n1', 'LogRequest', {
      term: 1,
      prefixLen: 0,
      prefixTerm: 0,
      leaderCommit: 0,
      suffix: [noop(1)],
    });
    expect(state().log).toHaveLength(3);
    expect(persists(ctx)).toEqual([]);
    expect(sent(ctx, 'LogResponse')[0]?.body).toEqual({ term: 1, ack: 1, success: true });
  });

  it('appends only what is new, one storage key per entry', () => {
    const { ctx, state, msg } = make({ recovered: { term: 1, log: [noop(1)] } });
    ctx.drain();
    const suffix = [noop(1), req(1, 'c0', 1, put('a', '1')), req(1, 'c0', 2, put('b', '2'))];
    msg('n1', 'LogRequest', { term: 1, prefixLen: 0, prefixTerm: 0, leaderCommit: 0, suffix });
    expect(state().log).toEqual(suffix);
    expect(persists(ctx).map((p) => p.key)).toEqual([logKey(1), logKey(2), KEY_LOG_LENGTH]);
  });

  it('commits up to min(leaderCommit, prefixLen + suffix.length), delivering in order', () => {
    const log = [req(1, 'c0', 1, put('k', 'a')), req(1, 'c0', 2, put('k', 'b'))];
    const { ctx, state, msg } = make({ recovered: { term: 1, log } });
    // A heartbeat (empty suffix) at prefixLen 1 vouches only for log[0].
    msg('n1', 'LogRequest', { term: 1, prefixLen: 1, prefixTerm: 1, leaderCommit: 2, suffix: [] });
    expect(state().commitLength).toBe(1);
    expect(state().kv).toEqual([['k', 'a']]);
    msg('n1', 'LogRequest', { term: 1, prefixLen: 2, prefixTerm: 1, leaderCommit: 2, suffix: [] });
    expect(state().commitLength).toBe(2);
    expect(state().kv).toEqual([['k', 'b']]);
    expect(notes(ctx, 'commit').map((c) => c.index)).toEqual([0, 1]);
    expect(notes(ctx, 'apply')).toEqual([
      { index: 0, client: 'c0', seq: 1 },
      { index: 1, client: 'c0', seq: 2 },
    ]);
    expect(persists(ctx)).toContainEqual({ key: KEY_COMMIT, value: 2 });
    expect(sent(ctx, 'ClientReply')).toEqual([]); // followers do not reply
  });
});

describe('slide 8/9: leader receiving LogResponses', () => {
  it('success moves sentLength and ackedLength and commits a current-term entry', () => {
    const t = leader();
    t.msg('n1', 'LogResponse', { term: 1, ack: 1, success: true });
    expect(t.state().sentLength.get('n1')).toBe(1);
    expect(t.state().ackedLength.get('n1')).toBe(1);
    expect(t.state().commitLength).toBe(1);
  });

  it('failure backs off to the follower’s hint (faster than one per round trip)', () => {
    const log = Array.from({ length: 20 }, () => noop(1));
    const t = leader({ recovered: { term: 1, log } });
    expect(t.state().sentLength.get('n1')).toBe(20);
    t.msg('n1', 'LogResponse', { term: 2, ack: 0, success: false, hint: 3 });
    expect(t.state().sentLength.get('n1')).toBe(3);
    expect(sent(t.ctx, 'LogRequest')[0]?.body).toMatchObject({ prefixLen: 3 });
    // Without a hint: the slide's one step.
    t.msg('n1', 'LogResponse', { term: 2, ack: 0, success: false });
    expect(t.state().sentLength.get('n1')).toBe(2);
  });

  it('back-off never goes below ackedLength, and a late success does not count as failure', () => {
    const log = Array.from({ length: 10 }, () => noop(1));
    const t = leader({ recovered: { term: 1, log } });
    t.msg('n1', 'LogResponse', { term: 2, ack: 11, success: true });
    t.msg('n1', 'LogResponse', { term: 2, ack: 0, success: false, hint: 0 }); // stale failure
    expect(t.state().sentLength.get('n1')).toBe(11);
    t.msg('n1', 'LogResponse', { term: 2, ack: 5, success: true }); // stale success
    expect(t.state().sentLength.get('n1')).toBe(11);
    expect(t.state().ackedLength.get('n1')).toBe(11);
  });

  it('a LogResponse of a higher term makes the leader step down', () => {
    const t = leader();
    t.msg('n2', 'LogResponse', { term: 9, ack: 0, success: false });
    expect(t.state()).toMatchObject({ currentTerm: 9, currentRole: 'follower', votedFor: null });
    expect(t.state().currentLeader).toBeNull();
    expect(t.ctx.effects).toContainEqual({ type: 'cancelTimer', name: HEARTBEAT_TIMER });
  });

  it('a batch cut at maxSuffix is followed by the next part as soon as it is acknowledged', () => {
    const t = leader({ maxSuffix: 2 });
    for (let seq = 1; seq <= 4; seq++) {
      t.msg('c0', 'ClientRequest', { client: 'c0', seq, command: put('k', `${seq}`) });
      t.msg('n1', 'LogResponse', { term: 1, ack: 0, success: true }); // keeps sentLength 0
    }
    t.ctx.drain();
    t.msg('n1', 'LogResponse', { term: 1, ack: 2, success: true });
    t.raft.onTimer(HEARTBEAT_TIMER);
    t.ctx.drain();
    t.msg('n1', 'LogResponse', { term: 1, ack: 4, success: true });
    expect(sent(t.ctx, 'LogRequest')).toEqual([
      {
        to: 'n1',
        body: {
          term: 1,
          prefixLen: 4,
          prefixTerm: 1,
          leaderCommit: 4,
          suffix: [req(1, 'c0', 4, put('k', '4'))],
        },
      },
    ]);
  });
});

describe('slide 9/9: CommitLogEntries', () => {
  const earlier = { term: 1, log: [req(1, 'c0', 1, put('k', 'old'))] };

  it('CommitLogEntries does not commit an earlier-term entry by counting replicas', () => {
    const t = leader({ recovered: earlier }); // term 2, log [old(1), noop(2)]
    t.msg('n1', 'LogResponse', { term: 2, ack: 1, success: true });
    expect(t.state().ackedLength.get('n1')).toBe(1);
    expect(t.state().commitLength).toBe(0); // log[0] is on a majority, but of term 1
    t.msg('n1', 'LogResponse', { term: 2, ack: 2, success: true });
    expect(t.state().commitLength).toBe(2); // committed with the term-2 no-op after it
    expect(t.state().kv).toEqual([['k', 'old']]);
  });

  it('unsafeCommitAnyTerm removes exactly that condition (negative tests only)', () => {
    const t = leader({ recovered: earlier, unsafeCommitAnyTerm: true });
    t.msg('n1', 'LogResponse', { term: 2, ack: 1, success: true });
    expect(t.state().commitLength).toBe(1);
  });

  it('minAcks is ⌈(n+1)/2⌉: with n = 4, the leader and one follower are not enough', () => {
    const t = leader({ n: 4 });
    t.msg('n1', 'LogResponse', { term: 1, ack: 1, success: true });
    expect(t.state().commitLength).toBe(0);
    t.msg('n3', 'LogResponse', { term: 1, ack: 1, success: true });
    expect(t.state().commitLength).toBe(1);
  });
});

describe('the replicated state machine', () => {
  it('the leader replies only after the entry is committed and applied', () => {
    const t = leader();
    t.msg('c0', 'ClientRequest', { client: 'c0', seq: 1, command: put('k', 'v') });
    expect(sent(t.ctx, 'ClientReply')).toEqual([]);
    t.msg('n2', 'LogResponse', { term: 1, ack: 2, success: true });
    expect(sent(t.ctx, 'ClientReply')).toEqual([
      { to: 'c0', body: { seq: 1, result: { ok: true, value: 'v' }, leaderHint: 'n0' } },
    ]);
    const apply = effectIndex(t.ctx, (e) => e.type === 'note' && e.event === 'apply');
    const reply = effectIndex(t.ctx, (e) => e.type === 'send' && e.message.kind === 'ClientReply');
    expect(apply).toBeLessThan(reply);
  });

  it('duplicate (client, seq) is applied once', () => {
    const { ctx, state, msg } = make();
    const suffix = [
      req(1, 'c0', 1, { op: 'cas', key: 'k', from: null, to: 'x' }),
      req(1, 'c0', 1, { op: 'cas', key: 'k', from: null, to: 'x' }), // the retry, appended again
      req(1, 'c0', 1, { op: 'cas', key: 'k', from: null, to: 'x' }),
    ];
    msg('n1', 'LogRequest', { term: 1, prefixLen: 0, prefixTerm: 0, leaderCommit: 3, suffix });
    expect(state().commitLength).toBe(3);
    expect(notes(ctx, 'apply')).toEqual([{ index: 0, client: 'c0', seq: 1 }]);
    expect(state().kv).toEqual([['k', 'x']]);
  });

  it('the leader answers every copy of a committed duplicate with the first result', () => {
    const t = leader();
    const command: KvCommand = { op: 'cas', key: 'k', from: null, to: 'x' };
    t.msg('c0', 'ClientRequest', { client: 'c0', seq: 1, command });
    t.msg('n1', 'LogResponse', { term: 1, ack: 2, success: true });
    t.ctx.drain();
    // The retry arrives after the apply: answered from the session table, not appended.
    t.msg('c0', 'ClientRequest', { client: 'c0', seq: 1, command });
    expect(t.state().log).toHaveLength(2);
    expect(sent(t.ctx, 'ClientReply')).toEqual([
      { to: 'c0', body: { seq: 1, result: { ok: true, value: 'x' }, leaderHint: 'n0' } },
    ]);
    // An older request of a client that has moved on is dropped.
    t.msg('c0', 'ClientRequest', { client: 'c0', seq: 2, command: put('k', 'y') });
    t.msg('n1', 'LogResponse', { term: 1, ack: 3, success: true });
    t.ctx.drain();
    t.msg('c0', 'ClientRequest', { client: 'c0', seq: 1, command });
    expect(t.ctx.effects).toEqual([]);
  });

  it('reads go through the log: a get is answered after commit with the applied value', () => {
    const t = leader();
    t.msg('c0', 'ClientRequest', { client: 'c0', seq: 1, command: put('k', 'v') });
    t.msg('c1', 'ClientRequest', { client: 'c1', seq: 1, command: { op: 'get', key: 'k' } });
    expect(t.state().log).toHaveLength(3);
    expect(sent(t.ctx, 'ClientReply')).toEqual([]);
    t.msg('n1', 'LogResponse', { term: 1, ack: 3, success: true });
    expect(sent(t.ctx, 'ClientReply').map((r) => [r.to, r.body.result])).toEqual([
      ['c0', { ok: true, value: 'v' }],
      ['c1', { ok: true, value: 'v' }],
    ]);
  });
});

describe('thesis §9.6: PreVote', () => {
  const heartbeat = (term: number) => ({
    term,
    prefixLen: 0,
    prefixTerm: 0,
    leaderCommit: 0,
    suffix: [],
  });

  it('an election timeout holds a pre-election: term, vote and storage untouched', () => {
    const { ctx, raft, state } = make({ preVote: true, recovered: { term: 2, log: [noop(2)] } });
    ctx.drain();
    raft.onTimer(ELECTION_TIMER);
    expect(state()).toMatchObject({ currentTerm: 2, currentRole: 'follower', votedFor: null });
    expect(persists(ctx)).toEqual([]);
    expect(sent(ctx, 'VoteRequest')).toEqual([]);
    expect(sent(ctx, 'PreVoteRequest')).toEqual([
      { to: 'n1', body: { term: 3, logLength: 1, lastTerm: 2 } },
      { to: 'n2', body: { term: 3, logLength: 1, lastTerm: 2 } },
    ]);
  });

  it('a majority of pre-votes starts the real election in term + 1', () => {
    const { ctx, raft, state, msg } = make({ n: 5, preVote: true });
    raft.onTimer(ELECTION_TIMER);
    msg('n1', 'PreVoteResponse', { term: 1, granted: true });
    msg('n2', 'PreVoteResponse', { term: 0, granted: false });
    expect(state().currentTerm).toBe(0);
    ctx.drain();
    msg('n3', 'PreVoteResponse', { term: 1, granted: true });
    expect(state()).toMatchObject({ currentTerm: 1, currentRole: 'candidate', votedFor: 'n0' });
    expect(sent(ctx, 'VoteRequest')).toHaveLength(4);
  });

  it('a refusal from a higher term makes the pre-candidate follow that term', () => {
    const { raft, state, msg } = make({ preVote: true });
    raft.onTimer(ELECTION_TIMER);
    msg('n1', 'PreVoteResponse', { term: 4, granted: false });
    expect(state()).toMatchObject({ currentTerm: 4, currentRole: 'follower' });
  });

  it('a voter grants a pre-vote without changing its term or vote, and only for an up-to-date log', () => {
    const { ctx, state, msg } = make({ preVote: true, recovered: { term: 2, log: [noop(2)] } });
    ctx.drain();
    msg('n1', 'PreVoteRequest', { term: 3, logLength: 1, lastTerm: 2 });
    msg('n2', 'PreVoteRequest', { term: 3, logLength: 1, lastTerm: 1 });
    expect(sent(ctx, 'PreVoteResponse')).toEqual([
      { to: 'n1', body: { term: 3, granted: true } },
      { to: 'n2', body: { term: 2, granted: false } },
    ]);
    expect(state()).toMatchObject({ currentTerm: 2, votedFor: null });
    expect(persists(ctx)).toEqual([]);
  });

  it('a voter that heard its leader within the minimum election timeout refuses (stickiness)', () => {
    const { ctx, msg } = make({ preVote: true, electionTimeoutMs: [150, 300] });
    msg('n1', 'LogRequest', heartbeat(1));
    ctx.drain();
    ctx.time = 100;
    msg('n2', 'PreVoteRequest', { term: 2, logLength: 0, lastTerm: 0 });
    ctx.time = 160;
    msg('n2', 'PreVoteRequest', { term: 2, logLength: 0, lastTerm: 0 });
    expect(sent(ctx, 'PreVoteResponse').map((r) => r.body.granted)).toEqual([false, true]);
  });

  it('a leader refuses pre-votes: it is the leader the pre-candidate gave up on', () => {
    const t = leader();
    t.msg('n2', 'PreVoteRequest', { term: 2, logLength: 5, lastTerm: 1 });
    expect(sent(t.ctx, 'PreVoteResponse')).toEqual([
      { to: 'n2', body: { term: 1, granted: false } },
    ]);
  });
});

describe('thesis §6.2: CheckQuorum', () => {
  /** A leader with CheckQuorum whose first check is due (the timer was armed on election). */
  function checking(n: number) {
    const t = make({ n, checkQuorum: true });
    t.raft.onTimer(ELECTION_TIMER);
    for (let i = 1; i < Math.ceil((n + 1) / 2); i++) {
      t.msg(`n${i}`, 'VoteResponse', { term: 1, granted: true });
    }
    expect(t.ctx.effects).toContainEqual({
      type: 'setTimer',
      name: CHECK_QUORUM_TIMER,
      delayMs: 300,
    });
    t.ctx.drain();
    return t;
  }

  it('a leader that heard no LogResponse from a majority in an election timeout steps down', () => {
    const t = checking(5);
    t.msg('n1', 'LogResponse', { term: 1, ack: 1, success: true });
    t.raft.onTimer(CHECK_QUORUM_TIMER);
    expect(t.state()).toMatchObject({ currentRole: 'follower', currentTerm: 1, votedFor: 'n0' });
    expect(t.state().currentLeader).toBeNull();
    expect(notes(t.ctx, 'check-quorum-lost')).toEqual([{ term: 1, heard: ['n1'] }]);
    expect(persists(t.ctx)).toEqual([]);
  });

  it('a leader that heard a majority stays, and the next period must be heard afresh', () => {
    const t = checking(5);
    t.msg('n1', 'LogResponse', { term: 1, ack: 1, success: true });
    t.msg('n2', 'LogResponse', { term: 1, ack: 0, success: false, hint: 0 });
    t.raft.onTimer(CHECK_QUORUM_TIMER);
    expect(t.state().currentRole).toBe('leader');
    t.raft.onTimer(CHECK_QUORUM_TIMER);
    expect(t.state().currentRole).toBe('follower');
  });

  it('off: a leader that hears nobody keeps leading', () => {
    const t = leader({ n: 5, checkQuorum: false });
    t.raft.onTimer(CHECK_QUORUM_TIMER);
    expect(t.state().currentRole).toBe('leader');
    expect(t.ctx.effects.some((e) => e.type === 'setTimer' && e.name === CHECK_QUORUM_TIMER)).toBe(
      false,
    );
  });
});

describe('thesis §5.1: snapshots and log compaction', () => {
  const request = (seq: number, value: string) => ({ client: 'c0', seq, command: put('k', value) });

  /** A 3-node leader with snapshotInterval 2 that committed noop + two puts (log length 3). */
  function compacted() {
    const t = leader({ snapshotInterval: 2 });
    t.msg('c0', 'ClientRequest', request(1, 'a'));
    t.msg('c0', 'ClientRequest', request(2, 'b'));
    t.msg('n1', 'LogResponse', { term: 1, ack: 3, success: true });
    return t;
  }

  it('every snapshotInterval committed entries the state is persisted and the log before it deleted', () => {
    const t = compacted();
    expect(t.state()).toMatchObject({ commitLength: 3, snapshotLength: 3, log: [] });
    const writes = persists(t.ctx);
    const snapshotAt = writes.findIndex((w) => w.key === KEY_SNAPSHOT);
    expect(writes[snapshotAt]?.value).toMatchObject({
      length: 3,
      term: 1,
      runs: [[0, 1]],
      kv: [['k', 'b']],
      sessions: [['c0', 2, { ok: true, value: 'b' }]],
    });
    // The snapshot is written before the entries it replaces are deleted.
    const deletes = writes.flatMap((w, i) => (w.value === null ? [[w.key, i] as const] : []));
    expect(deletes.map(([key]) => key)).toEqual([logKey(0), logKey(1), logKey(2)]);
    expect(deletes.every(([, i]) => i > snapshotAt)).toBe(true);
  });

  it('a follower that needs compacted entries gets InstallSnapshot, then LogRequests after it', () => {
    const t = compacted();
    t.ctx.drain();
    t.raft.onTimer(HEARTBEAT_TIMER); // n2 has acknowledged nothing: it needs log[0..]
    expect(sent(t.ctx, 'LogRequest').map((r) => r.to)).toEqual(['n1']);
    const [install] = sent(t.ctx, 'InstallSnapshot');
    expect(install).toMatchObject({ to: 'n2', body: { term: 1, snapshot: { length: 3 } } });
    t.msg('c0', 'ClientRequest', request(3, 'c'));
    t.ctx.drain();
    t.msg('n2', 'LogResponse', { term: 1, ack: 3, success: true });
    expect(sent(t.ctx, 'LogRequest')).toMatchObject([
      { to: 'n2', body: { prefixLen: 3, prefixTerm: 1, suffix: [req(1, 'c0', 3, put('k', 'c'))] } },
    ]);
  });

  it('InstallSnapshot: the follower discards its log, restores the state machine and acknowledges', () => {
    const leaderSide = compacted();
    const snapshot = persists(leaderSide.ctx).find((w) => w.key === KEY_SNAPSHOT)?.value;
    const f = make({
      self: 'n2',
      recovered: { term: 1, log: [noop(1), noop(1)], commitLength: 1 },
    });
    f.ctx.drain();
    f.msg('n0', 'InstallSnapshot', { term: 1, snapshot });
    expect(f.state()).toMatchObject({
      commitLength: 3,
      snapshotLength: 3,
      log: [],
      kv: [['k', 'b']],
      currentLeader: 'n0',
    });
    expect(sent(f.ctx, 'LogResponse')).toEqual([
      { to: 'n0', body: { term: 1, ack: 3, success: true } },
    ]);
    const writes = persists(f.ctx);
    expect(writes[0]?.key).toBe(KEY_SNAPSHOT);
    expect(writes.filter((w) => w.value === null).map((w) => w.key)).toEqual([
      logKey(0),
      logKey(1),
    ]);
    // A retried request the snapshot's session table answered is not applied again.
    f.ctx.drain();
    f.msg('n0', 'LogRequest', {
      term: 1,
      prefixLen: 3,
      prefixTerm: 1,
      leaderCommit: 4,
      suffix: [req(1, 'c0', 2, put('k', 'z'))],
    });
    expect(f.state().kv).toEqual([['k', 'b']]);
    expect(f.state().commitLength).toBe(4);
  });

  it('a LogRequest reaching into the snapshot is checked from the snapshot on', () => {
    const leaderSide = compacted();
    const snapshot = persists(leaderSide.ctx).find((w) => w.key === KEY_SNAPSHOT)?.value;
    const f = make({ self: 'n2' });
    f.msg('n0', 'InstallSnapshot', { term: 1, snapshot });
    f.ctx.drain();
    // prefixLen 1 lies inside the snapshot; entries 1 and 2 are covered, entry 3 is new.
    f.msg('n0', 'LogRequest', {
      term: 1,
      prefixLen: 1,
      prefixTerm: 1,
      leaderCommit: 3,
      suffix: [req(1, 'c0', 1, put('k', 'a')), req(1, 'c0', 2, put('k', 'b')), noop(1)],
    });
    expect(sent(f.ctx, 'LogResponse')).toEqual([
      { to: 'n0', body: { term: 1, ack: 4, success: true } },
    ]);
    expect(f.state()).toMatchObject({ snapshotLength: 3, log: [noop(1)] });
  });

  it('recovery starts from the snapshot and replays only the committed entries after it', () => {
    const leaderSide = compacted();
    const snapshot = persists(leaderSide.ctx).find((w) => w.key === KEY_SNAPSHOT)?.value as Json;
    const store = new Map<string, Json>([
      [KEY_TERM, 1],
      [KEY_SNAPSHOT, snapshot],
      [logKey(3), req(1, 'c1', 1, put('j', 'x')) as unknown as Json],
      [logKey(4), req(1, 'c1', 2, put('j', 'y')) as unknown as Json],
      [KEY_LOG_LENGTH, 5],
      [KEY_COMMIT, 4],
    ]);
    const ctx = new FakeContext('n1', view(3));
    const raft = new RaftNode(ctx, { preVote: false });
    raft.start(store);
    expect(raft.inspect()).toMatchObject({
      commitLength: 4,
      snapshotLength: 3,
      kv: [
        ['j', 'x'],
        ['k', 'b'],
      ],
    });
    expect(raft.inspect().log).toHaveLength(2);
    expect(notes(ctx, 'recovered')).toEqual([
      { term: 1, logLength: 5, commitLength: 4, snapshotLength: 3 },
    ]);
  });
});
