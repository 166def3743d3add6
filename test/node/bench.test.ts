/**
 * `bftkit bench cluster`: a short smoke run per protocol (the JSON shape, ops > 0 — never a
 * speed) and clean-up on Ctrl-C. Then the machinery the speed-ups rest on, each checked to
 * keep its rule: group commit (one fsync for many steps, nothing sent before it is durable),
 * the background sync of SqliteStore, delayed cumulative ACKs and resend-on-reconnect in the
 * perfect links, PBFT's in-flight batching, Raft's LogRequest pipelining, and the PBFT
 * client's prefilter of replies it no longer needs.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeClusterView } from '../../src/core/cluster-view.js';
import type { ProtocolDefinition } from '../../src/core/definition.js';
import { KeyRing, makeSigner } from '../../src/core/envelope.js';
import { generateKey } from '../../src/core/keyfile.js';
import type { Context, Protocol } from '../../src/core/protocol.js';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import type { Json } from '../../src/crypto/json.js';
import { ACK_TIMER, type LinkFrame, PerfectLinks } from '../../src/links/perfect-link.js';
import { SqliteStore } from '../../src/node/storage.js';
import { PbftClient } from '../../src/pbft/client.js';
import { ELECTION_TIMER } from '../../src/raft/options.js';
import { RaftNode } from '../../src/raft/raft.js';
import { type HostIO, NodeRuntime } from '../../src/runtime/runtime.js';
import { FakeContext } from '../helpers/fake-context.js';
import {
  commit,
  deliver,
  makeReplica,
  cluster as pbftCluster,
  prepare,
  request,
  signed,
} from '../pbft/helpers.js';
import { getStatus, runBftkit } from './helpers.js';

function bench(args: string[], onStderr?: (text: string, interrupt: () => void) => void) {
  return runBftkit(['bench', 'cluster', ...args], onStderr === undefined ? {} : { onStderr });
}

const dataDir = (stderr: string) => /data in (\S+)/.exec(stderr)?.[1] ?? null;
const ports = (stderr: string) => {
  const m = /ports (\d+)…(\d+)/.exec(stderr);
  if (m === null) return [];
  const [a, b] = [Number(m[1]), Number(m[2])];
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
};

describe('bftkit bench cluster', () => {
  it('runs a short closed loop on each protocol and prints the JSON figures', async () => {
    const runs = await Promise.all(
      [
        bench(['--protocol', 'raft', '--nodes', '3', '--concurrency', '2', '--duration', '2']),
        bench(['--protocol', 'pbft', '--nodes', '4', '--concurrency', '2', '--duration', '2']),
      ].map((p, i) => p.then((r) => ({ r, protocol: i === 0 ? 'raft' : 'pbft' }))),
    );
    for (const { r, protocol } of runs) {
      expect(r.code, r.stderr).toBe(0);
      // --json is not given: the human-readable report.
      expect(r.stdout).toMatch(/throughput +\d+ ops\/s/);
      expect(r.stdout).toMatch(/peak RSS/);
      const dir = dataDir(r.stderr);
      expect(dir, `${protocol}: ${r.stderr}`).not.toBeNull();
      expect(existsSync(dir!)).toBe(false);
    }
    const json = await bench([
      '--protocol',
      'raft',
      '--nodes',
      '3',
      '--concurrency',
      '3',
      '--duration',
      '2',
      '--json',
    ]);
    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({ protocol: 'raft', nodes: 3, concurrency: 3 });
    for (const field of ['opsPerSec', 'p50Ms', 'p99Ms', 'peakRssMb'])
      expect(typeof result[field], field).toBe('number');
    expect(result.opsPerSec).toBeGreaterThan(0);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    expect(Object.keys(result.rssMbByNode)).toEqual(['n0', 'n1', 'n2']);
    expect(existsSync(dataDir(json.stderr)!)).toBe(false);
  });

  it('Ctrl-C stops every node and removes the temporary directory (exit 130)', async () => {
    let sent = false;
    const r = await bench(
      ['--protocol', 'raft', '--nodes', '3', '--concurrency', '1', '--duration', '120'],
      (stderr, kill) => {
        if (!sent && stderr.includes('measuring')) {
          sent = true;
          kill();
        }
      },
    );
    expect(sent, r.stderr).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted; cluster stopped and removed/);
    expect(existsSync(dataDir(r.stderr)!)).toBe(false);
    for (const port of ports(r.stderr)) expect(await getStatus(port)).toBeNull();
  });

  it('refuses bad input with exit 2', async () => {
    const r = await bench(['--protocol', 'pbft', '--nodes', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/at least 4 replicas/);
  });
});

// ─── the machinery ────────────────────────────────────────────────────────────────────────

/** A tiny protocol: a request persists its number, sends it to "b" and outputs it. */
const echoDefinition: ProtocolDefinition = {
  name: 'echo',
  model: 'crash',
  messages: { Echo: z.strictObject({ n: z.number() }) },
};

function echoRuntime(io: Partial<HostIO>) {
  const a = generateKey('a', 'test');
  const b = generateKey('b', 'test');
  const log: string[] = [];
  const fullIo: HostIO = {
    now: () => 0,
    random: () => 0.5,
    transmit: (to, frame) => {
      const f = JSON.parse(frame) as LinkFrame;
      log.push(f.t === 'd' ? `send ${to} ${(f.m.body as { n: number }).n}` : `ack ${to}`);
    },
    setTimer: () => {},
    cancelTimer: () => {},
    persist: (writes) => {
      log.push(`persist ${writes.map(([, v]) => String(v)).join(',')}`);
    },
    output: (event) => log.push(`output ${String(event)}`),
    trace: () => {},
    ...io,
  };
  const runtime = new NodeRuntime(
    {
      self: 'a',
      cluster: makeClusterView({
        id: 'test',
        protocol: 'echo',
        model: 'crash',
        replicas: ['a', 'b', 'c'],
        f: 1,
      }),
      definition: echoDefinition,
      keys: new KeyRing(
        new Map([
          ['a', a.publicKey],
          ['b', b.publicKey],
        ]),
        nodeBackend,
      ),
      signer: makeSigner('a', a.seed, nodeBackend),
      incarnation: 1,
    },
    fullIo,
    (ctx: Context): Protocol => ({
      start() {},
      onMessage() {},
      onTimer() {},
      onRequest(r) {
        const n = r as number;
        ctx.persist(`k${n}`, n);
        ctx.send('b', ctx.sign('Echo', { n }));
        ctx.output(n);
      },
    }),
  );
  runtime.start(null);
  return { runtime, log };
}

describe('group commit (NodeRuntime)', () => {
  it('without defer (the simulator): every step persists, then sends, then outputs', () => {
    const { runtime, log } = echoRuntime({});
    runtime.request(1);
    runtime.request(2);
    expect(log).toEqual(['persist 1', 'send b 1', 'output 1', 'persist 2', 'send b 2', 'output 2']);
  });

  it('with defer: the steps of one turn share one persist, and nothing leaves before it', () => {
    const deferred: (() => void)[] = [];
    const { runtime, log } = echoRuntime({ defer: (flush) => deferred.push(flush) });
    for (const f of deferred.splice(0)) f(); // start
    runtime.request(1);
    runtime.request(2);
    runtime.request(3);
    expect(log).toEqual([]);
    expect(deferred).toHaveLength(1);
    for (const f of deferred.splice(0)) f();
    expect(log).toEqual([
      'persist 1,2,3',
      'send b 1',
      'send b 2',
      'send b 3',
      'output 1',
      'output 2',
      'output 3',
    ]);
  });

  it('with persistAsync: a group leaves once durable; what comes meanwhile waits behind it', () => {
    const deferred: (() => void)[] = [];
    const durable: (() => void)[] = [];
    const { runtime, log } = echoRuntime({
      defer: (flush) => deferred.push(flush),
      persistAsync: (writes, done) => {
        log.push(`commit ${writes.map(([, v]) => String(v)).join(',')}`);
        durable.push(done);
      },
    });
    const turn = () => {
      for (const f of deferred.splice(0)) f();
    };
    turn();
    runtime.request(1);
    turn();
    expect(log).toEqual(['commit 1']); // syncing; nothing sent
    runtime.request(2);
    runtime.request(3);
    turn();
    expect(log).toEqual(['commit 1']); // one commit in flight at a time
    durable.shift()!();
    // Group 1 leaves; group 2 (everything handled meanwhile) is committed as one.
    expect(log).toEqual(['commit 1', 'send b 1', 'output 1', 'commit 2,3']);
    durable.shift()!();
    expect(log.slice(4)).toEqual(['send b 2', 'send b 3', 'output 2', 'output 3']);
  });
});

describe('SqliteStore background sync', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('persistAsync calls back once durable, in order; a reopened store recovers it all', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'bftkit-bench-store-'));
    dirs.push(parent);
    const dir = join(parent, 'n0');
    const store = new SqliteStore(dir, { cluster: 'c', node: 'n0' });
    const order: number[] = [];
    const big = 'x'.repeat(40_000);
    await new Promise<void>((resolve, reject) => {
      let left = 150;
      for (let i = 0; i < 150; i++) {
        // 150 × 40 KB: more than one checkpoint's worth of WAL (4 MiB).
        store.persistAsync(
          [
            [`k${i % 10}`, `${i}:${big}`],
            ['last', i],
          ],
          (error) => {
            if (error !== null) reject(error);
            order.push(i);
            if (--left === 0) resolve();
          },
        );
      }
    });
    expect(order).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(statSync(`${store.path}-wal`).size).toBeLessThan(4 << 20); // checkpointed
    store.persist([['sync', true]]);
    store.close();
    const again = new SqliteStore(dir, { cluster: 'c', node: 'n0' });
    expect(again.recovered?.get('last')).toBe(149);
    expect(again.recovered?.get('sync')).toBe(true);
    expect(String(again.recovered?.get('k9')).startsWith('149:')).toBe(true);
    again.close();
  });
});

describe('perfect links over a reliable stream', () => {
  function links(options: { ackDelayMs: number; ackEvery?: number }) {
    const sent: { to: string; frame: LinkFrame }[] = [];
    const timers: string[] = [];
    const pl = new PerfectLinks(
      7,
      {
        transmit: (to, frame) => sent.push({ to, frame }),
        setTimer: (name) => timers.push(name),
        cancelTimer: () => {},
      },
      {
        retransmitMs: 1000,
        maxRetransmitMs: 4000,
        maxQueue: 100,
        window: 100,
        incarnationsPerPeer: 4,
        ackEvery: options.ackEvery ?? 128,
        ackDelayMs: options.ackDelayMs,
      },
    );
    return { pl, sent, timers };
  }
  const data = (s: number): LinkFrame => ({
    t: 'd',
    i: 3,
    s,
    b: 1,
    m: signed('p', 'X', { s }),
  });

  it('acknowledges at once without a delay (the simulator), cumulatively with one', () => {
    const now = links({ ackDelayMs: 0 });
    for (const s of [1, 2, 3]) now.pl.onFrame('p', data(s));
    expect(now.sent.map((x) => x.frame)).toEqual([
      { t: 'a', i: 3, s: 1 },
      { t: 'a', i: 3, s: 2 },
      { t: 'a', i: 3, s: 3 },
    ]);
    const later = links({ ackDelayMs: 100 });
    const delivered = [1, 2, 3].flatMap((s) => later.pl.onFrame('p', data(s)));
    expect(delivered.map((d) => d.seq)).toEqual([1, 2, 3]); // delivery is not delayed
    expect(later.sent).toEqual([]);
    expect(later.timers).toEqual([`${ACK_TIMER}p`]);
    later.pl.onTimer(`${ACK_TIMER}p`);
    expect(later.sent.map((x) => x.frame)).toEqual([{ t: 'a', i: 3, s: 3 }]);
    const every = links({ ackDelayMs: 100, ackEvery: 2 });
    for (const s of [1, 2]) every.pl.onFrame('p', data(s));
    expect(every.sent.map((x) => x.frame)).toEqual([{ t: 'a', i: 3, s: 2 }]);
  });

  it('resends what a peer has not acknowledged when its connection comes back', () => {
    const { pl, sent } = links({ ackDelayMs: 100 });
    pl.send('q', signed('me', 'X', { n: 1 }));
    pl.send('q', signed('me', 'X', { n: 2 }));
    pl.onFrame('q', { t: 'a', i: 7, s: 1 });
    sent.length = 0;
    pl.resend('q');
    expect(sent.map((x) => x.frame)).toMatchObject([{ t: 'd', s: 2, b: 2 }]);
  });
});

describe('PBFT: batches in flight (maxInFlight)', () => {
  it('an idle primary proposes at once; a busy one batches until the pipeline drains', () => {
    const { ctx, replica } = makeReplica('r0', {
      batchSize: 8,
      batchTimeoutMs: 50,
      maxInFlight: 1,
    });
    const pps = () =>
      ctx.effects.flatMap((e) =>
        e.type === 'broadcast' && e.message.kind === 'PRE-PREPARE' ? [e.message] : [],
      );
    deliver(replica, request('c0', 1));
    expect(pps()).toHaveLength(1); // no batch timer wait
    deliver(replica, request('c1', 1));
    expect(pps()).toHaveLength(1); // one batch in flight: c1 waits for it
    expect(ctx.timers.has('batch')).toBe(true);
    const d = (pps()[0]!.body as { digest: string }).digest;
    for (const r of ['r1', 'r2']) deliver(replica, prepare(r, 0, 1, d));
    for (const r of ['r1', 'r2']) deliver(replica, commit(r, 0, 1, d));
    // Slot 1 executed: the waiting request goes out in the next batch.
    expect(pps()).toHaveLength(2);
    expect((pps()[1]!.body as { seq: number; batch: unknown[] }).seq).toBe(2);
  });

  it('with maxInFlight 0 the textbook rule holds: wait for a full batch or the timer', () => {
    const { ctx, replica } = makeReplica('r0', {
      batchSize: 2,
      batchTimeoutMs: 10,
      maxInFlight: 0,
    });
    deliver(replica, request('c0', 1));
    expect(ctx.effects.some((e) => e.type === 'broadcast')).toBe(false);
  });
});

describe('Raft: LogRequests in flight (maxInflight)', () => {
  it('a burst of requests costs a few LogRequests per follower, all entries delivered', () => {
    const view = makeClusterView({
      id: 't',
      protocol: 'raft',
      model: 'crash',
      replicas: ['n0', 'n1', 'n2'],
      clients: ['c0', 'c1', 'c2', 'c3', 'c4'],
      f: 1,
    });
    const ctx = new FakeContext('n0', view);
    // PreVote off: the test starts an election with one timer, as in the slides.
    const raft = new RaftNode(ctx, { maxInflight: 2, preVote: false });
    raft.start(null);
    const msg = (from: string, kind: string, body: unknown) =>
      raft.onMessage(from, { kind, from, body: body as Json, sig: `sig:${from}` });
    raft.onTimer(ELECTION_TIMER);
    msg('n1', 'VoteResponse', { term: 1, granted: true });
    for (let c = 0; c < 5; c++)
      msg(`c${c}`, 'ClientRequest', {
        client: `c${c}`,
        seq: 1,
        command: { op: 'put', key: 'k', value: `${c}` },
      });
    const toN1 = () =>
      ctx.effects.flatMap((e) =>
        e.type === 'send' && e.to === 'n1' && e.message.kind === 'LogRequest'
          ? [e.message.body as { prefixLen: number; suffix: unknown[] }]
          : [],
      );
    // The no-op's LogRequest and the first request's; the other four wait.
    expect(toN1()).toHaveLength(2);
    msg('n1', 'LogResponse', { term: 1, ack: 1, success: true });
    expect(toN1()).toHaveLength(2);
    msg('n1', 'LogResponse', { term: 1, ack: 2, success: true });
    const third = toN1()[2];
    expect(third).toMatchObject({ prefixLen: 2 });
    expect(third?.suffix).toHaveLength(4);
    expect(raft.inspect().commitLength).toBe(2);
  });
});

describe('PBFT client prefilter', () => {
  it('has no use for replies to a request it has already accepted', () => {
    const ctx = new FakeContext('c0', pbftCluster);
    const client = new PbftClient(ctx, { requestTimeoutMs: 100 });
    client.start(null);
    client.onRequest({ op: 'put', key: 'k', value: 'v' });
    const reply = (from: string) =>
      signed(from, 'REPLY', {
        view: 0,
        timestamp: 1,
        client: 'c0',
        replica: from,
        result: { ok: true, value: 'v' },
      });
    expect(client.wants('r0', reply('r0'))).toBe(true);
    client.onMessage('r0', reply('r0'));
    client.onMessage('r1', reply('r1')); // f + 1 = 2 matching: accepted
    expect(ctx.effects.some((e) => e.type === 'output')).toBe(true);
    expect(client.wants('r2', reply('r2'))).toBe(false);
    // Anything else still goes through admission.
    expect(client.wants('r2', { kind: 'REPLY', body: 'junk' })).toBe(true);
    expect(client.wants('r2', null)).toBe(true);
    expect(client.wants('r2', { kind: 'REPLY', body: { timestamp: 2 } })).toBe(true);
  });
});
