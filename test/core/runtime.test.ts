/**
 * The runtime's rules (src/runtime/runtime.ts), with a scripted core and a host that records
 * what reaches it: a step's effects leave in the order persist → send → output → messages to
 * itself (each a step of its own); group commit writes the steps of one turn in one persist
 * before any of their messages; a step whose core throws leaks nothing and stops the runtime.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeClusterView } from '../../src/core/cluster-view.js';
import type { ProtocolDefinition } from '../../src/core/definition.js';
import { KeyRing, makeSigner } from '../../src/core/envelope.js';
import type { Envelope } from '../../src/core/envelope-types.js';
import type { Context, NodeId, Protocol } from '../../src/core/protocol.js';
import { fastBackend } from '../../src/crypto/backends.js';
import { CoreFailure, type HostIO, NodeRuntime } from '../../src/runtime/runtime.js';
import { simulatedSeed } from '../../src/sim/simulation.js';

const definition: ProtocolDefinition = {
  name: 'runtime-test',
  model: 'byzantine',
  messages: { Ping: z.object({ n: z.number() }).strict() },
};
const REPLICAS = ['n0', 'n1', 'n2', 'n3'] as const;
const cluster = makeClusterView({
  id: 'runtime-test',
  protocol: definition.name,
  model: 'byzantine',
  replicas: REPLICAS,
  f: 1,
});
const seeds = new Map<NodeId, Uint8Array>(
  REPLICAS.map((id) => [id, simulatedSeed(cluster.id, id)]),
);
const publicKeys = new Map([...seeds].map(([id, seed]) => [id, fastBackend.publicKey(seed)]));

type Event =
  | { type: 'start' }
  | { type: 'message'; from: NodeId; n: number }
  | { type: 'timer'; name: string };
type Script = (ctx: Context, event: Event) => void;

/** A core that does what the test's script says for each event. */
class ScriptedCore implements Protocol {
  constructor(
    private readonly ctx: Context,
    private readonly script: Script,
  ) {}
  start(): void {
    this.script(this.ctx, { type: 'start' });
  }
  onMessage(from: NodeId, message: Envelope): void {
    this.script(this.ctx, { type: 'message', from, n: (message.body as { n: number }).n });
  }
  onTimer(name: string): void {
    this.script(this.ctx, { type: 'timer', name });
  }
  onRequest(): void {}
}

const ping = (ctx: Context, n: number) => ctx.sign('Ping', { n });

/** What reached the host, in order: 'persist k1,k2', 'send n1 Ping 3', 'ack n1', 'output …'. */
interface Recorder {
  log: string[];
  frames: { to: NodeId; frame: string }[];
  io: HostIO;
  /** Group commit: run the deferred flush. */
  flush(): void;
  /** Async group commit: declare the write in flight durable. */
  durable(): void;
}

function recorder(mode: 'sync' | 'group' | 'async' = 'sync'): Recorder {
  const log: string[] = [];
  const frames: { to: NodeId; frame: string }[] = [];
  let deferred: (() => void) | null = null;
  let inFlight: (() => void) | null = null;
  const io: HostIO = {
    now: () => 0,
    random: () => 0.5,
    transmit(to, frame) {
      frames.push({ to, frame });
      const parsed = JSON.parse(frame) as { t: 'a' } | { t: 'd'; m: Envelope };
      log.push(
        parsed.t === 'a'
          ? `ack ${to}`
          : `send ${to} ${parsed.m.kind} ${(parsed.m.body as { n: number }).n}`,
      );
    },
    setTimer: () => {},
    cancelTimer: () => {},
    persist(writes) {
      log.push(`persist ${writes.map(([k]) => k).join(',')}`);
    },
    output(event) {
      log.push(`output ${JSON.stringify(event)}`);
    },
    trace: () => {},
  };
  if (mode !== 'sync') {
    io.defer = (flush) => {
      deferred = flush;
    };
  }
  if (mode === 'async') {
    io.persistAsync = (writes, done) => {
      log.push(`persist ${writes.map(([k]) => k).join(',')} (in flight)`);
      inFlight = done;
    };
  }
  return {
    log,
    frames,
    io,
    flush() {
      const f = deferred;
      deferred = null;
      f?.();
    },
    durable() {
      const done = inFlight;
      inFlight = null;
      done?.();
    },
  };
}

function runtime(self: NodeId, io: HostIO, script: Script): NodeRuntime {
  return new NodeRuntime(
    {
      self,
      cluster,
      definition,
      keys: new KeyRing(publicKeys, fastBackend),
      signer: makeSigner(self, seeds.get(self) as Uint8Array, fastBackend),
      incarnation: 1,
    },
    io,
    (ctx) => new ScriptedCore(ctx, script),
  );
}

/** Frames from n1 to n0 carrying Ping 1, 2, … (n1's own runtime makes them). */
function framesFromN1(count: number): string[] {
  const rec = recorder();
  runtime('n1', rec.io, (ctx, event) => {
    if (event.type === 'start') for (let n = 1; n <= count; n++) ctx.send('n0', ping(ctx, n));
  }).start(null);
  return rec.frames.map((f) => f.frame);
}

describe('NodeRuntime: one step', () => {
  it('releases its effects in order: persist, then send, then output, then messages to itself', () => {
    const rec = recorder();
    const rt = runtime('n0', rec.io, (ctx, event) => {
      if (event.type === 'start') {
        // queued in the "wrong" order on purpose: the runtime puts them right
        ctx.output({ step: 'start' });
        ctx.send('n0', ping(ctx, 100));
        ctx.send('n1', ping(ctx, 1));
        ctx.persist('a', 1);
        ctx.persist('b', 2);
      } else if (event.type === 'message' && event.from === 'n0') {
        // a message to itself is a step of its own, after the first step's effects left
        rec.log.push(`core: Ping ${event.n} from itself`);
        ctx.persist('c', 3);
        ctx.send('n2', ping(ctx, 2));
      }
    });
    rt.start(null);
    expect(rec.log).toEqual([
      'persist a,b',
      'send n1 Ping 1',
      'output {"step":"start"}',
      'core: Ping 100 from itself',
      'persist c',
      'send n2 Ping 2',
    ]);
  });

  it('a step that persists nothing sends at once', () => {
    const rec = recorder();
    runtime('n0', rec.io, (ctx, event) => {
      if (event.type === 'start') ctx.send('n1', ping(ctx, 1));
    }).start(null);
    expect(rec.log).toEqual(['send n1 Ping 1']);
  });
});

describe('NodeRuntime: group commit', () => {
  /** n0 persists and answers each Ping from n1. */
  const answer: Script = (ctx, event) => {
    if (event.type !== 'message') return;
    ctx.persist(`seen/${event.n}`, event.n);
    ctx.send('n1', ping(ctx, event.n * 10));
  };

  it('the steps of one turn: all their writes in one persist, then all their messages', () => {
    const rec = recorder('group');
    const rt = runtime('n0', rec.io, answer);
    rt.start(null);
    const [f1, f2] = framesFromN1(2);
    rt.receive('n1', f1 as string);
    rt.receive('n1', f2 as string);
    expect(rec.log).toEqual([]); // nothing leaves before the deferred flush
    rec.flush();
    const persists = rec.log.filter((l) => l.startsWith('persist'));
    expect(persists).toEqual(['persist seen/1,seen/2']);
    expect(rec.log[0]).toBe('persist seen/1,seen/2');
    expect(rec.log.filter((l) => l.startsWith('send'))).toEqual([
      'send n1 Ping 10',
      'send n1 Ping 20',
    ]);
  });

  it('with an asynchronous sync: messages wait until the group is durable; the next group waits behind it', () => {
    const rec = recorder('async');
    const rt = runtime('n0', rec.io, answer);
    rt.start(null);
    const [f1, f2] = framesFromN1(2);
    rt.receive('n1', f1 as string);
    rec.flush();
    expect(rec.log).toEqual(['persist seen/1 (in flight)']);
    rt.receive('n1', f2 as string); // handled while the disk works
    rec.flush();
    expect(rec.log).toEqual(['persist seen/1 (in flight)']);
    rec.durable();
    // group 1's messages leave; then group 2 (handled meanwhile) is committed
    expect(rec.log.slice(1, 3)).toEqual(['ack n1', 'send n1 Ping 10']);
    expect(rec.log.at(-1)).toBe('persist seen/2 (in flight)');
    expect(rec.log.filter((l) => l.startsWith('send'))).toEqual(['send n1 Ping 10']);
    rec.durable();
    expect(rec.log.filter((l) => l.startsWith('send'))).toEqual([
      'send n1 Ping 10',
      'send n1 Ping 20',
    ]);
  });
});

describe('NodeRuntime: sendAhead and afterDurable (Raft thesis §10.2.1)', () => {
  /** n0 persists each Ping, replicates it ahead to n2, answers n1 after the write. */
  const replicate: Script = (ctx, event) => {
    if (event.type !== 'message') return;
    ctx.persist(`log/${event.n}`, event.n);
    ctx.sendAhead?.('n2', ping(ctx, event.n));
    ctx.send('n1', ping(ctx, event.n * 10));
    ctx.afterDurable?.(() => ctx.output({ durable: event.n }));
  };

  it('with an asynchronous sync: an ahead message leaves while the write is in flight, the rest after', () => {
    const rec = recorder('async');
    const rt = runtime('n0', rec.io, replicate);
    rt.start(null);
    const [f1] = framesFromN1(1);
    rt.receive('n1', f1 as string);
    expect(rec.log).toEqual(['send n2 Ping 1']); // at the end of the step, before any flush
    rec.flush();
    expect(rec.log).toEqual(['send n2 Ping 1', 'persist log/1 (in flight)']);
    rec.durable();
    expect(rec.log.slice(2)).toEqual(['ack n1', 'send n1 Ping 10', 'output {"durable":1}']);
  });

  it('an ahead message carries no ACK: the peer may forget its message only once its effect is durable', () => {
    const rec = recorder('async');
    // Over a stream (the process host): ACKs ride on DATA frames, none standalone for 250 ms.
    const rt = new NodeRuntime(
      {
        self: 'n0',
        cluster,
        definition,
        keys: new KeyRing(publicKeys, fastBackend),
        signer: makeSigner('n0', seeds.get('n0') as Uint8Array, fastBackend),
        incarnation: 1,
        link: { ackDelayMs: 250 },
      },
      rec.io,
      (ctx) =>
        new ScriptedCore(ctx, (c, event) => {
          if (event.type !== 'message') return;
          c.persist(`log/${event.n}`, event.n);
          c.sendAhead?.('n1', ping(c, event.n));
          c.send('n1', ping(c, event.n * 10));
        }),
    );
    rt.start(null);
    const [f1] = framesFromN1(1);
    rt.receive('n1', f1 as string);
    rec.flush();
    rec.durable();
    const sent = rec.frames.map(
      (f) => JSON.parse(f.frame) as { m: { body: { n: number } }; k?: unknown },
    );
    expect(sent.map((f) => [f.m.body.n, f.k ?? null])).toEqual([
      [1, null], // ahead of the write: n1 must keep Ping 1 until it is durable here
      [10, [1, 1]], // after it: the ACK for n1's incarnation 1, seq 1
    ]);
  });

  it('with a synchronous persist: an ahead message is an ordinary send, after the write', () => {
    const rec = recorder();
    const rt = runtime('n0', rec.io, replicate);
    rt.start(null);
    const [f1] = framesFromN1(1);
    rt.receive('n1', f1 as string);
    expect(rec.log).toEqual([
      'persist log/1',
      'ack n1',
      'send n2 Ping 1',
      'send n1 Ping 10',
      'output {"durable":1}',
    ]);
  });
});

describe('NodeRuntime: a step is atomic', () => {
  /** On Ping 2 the core persists, sends, outputs, messages itself — then throws. */
  const brokenOnTwo: Script = (ctx, event) => {
    if (event.type !== 'message' || event.from !== 'n1') return;
    ctx.persist(`seen/${event.n}`, event.n);
    ctx.send('n2', ping(ctx, event.n));
    ctx.output({ seen: event.n });
    ctx.send('n0', ping(ctx, 99));
    if (event.n === 2) throw new Error('invariant broken');
  };

  it('a core that throws leaks none of the step: no write, no message, no output', () => {
    const rec = recorder();
    const rt = runtime('n0', rec.io, brokenOnTwo);
    rt.start(null);
    const [f1, f2, f3] = framesFromN1(3);
    rt.receive('n1', f1 as string);
    const before = [...rec.log];
    expect(before).toContain('send n2 Ping 1');
    expect(() => rt.receive('n1', f2 as string)).toThrow(CoreFailure);
    expect(rec.log).toEqual(before); // not even the link's acknowledgement of the frame
    expect(rt.failed?.message).toBe(
      'protocol core threw while handling a frame from n1: invariant broken',
    );
    expect(rt.failed?.cause).toEqual(new Error('invariant broken'));
    // stopped for good: every later event throws the same failure, and nothing leaves
    expect(() => rt.receive('n1', f3 as string)).toThrow(rt.failed as CoreFailure);
    expect(() => rt.fireTimer('p:any')).toThrow(rt.failed as CoreFailure);
    expect(() => rt.request(null)).toThrow(rt.failed as CoreFailure);
    rt.flushPending();
    expect(rec.log).toEqual(before);
  });

  it('with group commit, nothing queued for the flush leaves once a step threw', () => {
    const rec = recorder('group');
    const rt = runtime('n0', rec.io, brokenOnTwo);
    rt.start(null);
    const [f1, f2] = framesFromN1(2);
    rt.receive('n1', f1 as string); // fine, but waiting for the flush
    expect(() => rt.receive('n1', f2 as string)).toThrow(CoreFailure);
    rec.flush();
    rt.flushPending();
    expect(rec.log).toEqual([]);
  });

  it('a message to itself that throws: the step that sent it is out, its own effects are not', () => {
    const rec = recorder();
    const rt = runtime('n0', rec.io, (ctx, event) => {
      if (event.type === 'start') {
        ctx.persist('a', 1);
        ctx.send('n1', ping(ctx, 1));
        ctx.send('n0', ping(ctx, 2));
      } else if (event.type === 'message') {
        ctx.persist('b', 2);
        ctx.send('n2', ping(ctx, 3));
        throw new Error('bad self message');
      }
    });
    expect(() => rt.start(null)).toThrow(/a message from n0 to itself: bad self message/);
    expect(rec.log).toEqual(['persist a', 'send n1 Ping 1']);
  });
});
