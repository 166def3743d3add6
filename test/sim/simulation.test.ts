import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ProtocolDefinition } from '../../src/core/definition.js';
import type { Context, NodeId, Protocol } from '../../src/core/protocol.js';
import { Simulation } from '../../src/sim/simulation.js';

/** Every replica sends `count` numbered messages to every other; each records what it got. */
const echoDefinition: ProtocolDefinition = {
  name: 'echo',
  model: 'byzantine',
  messages: { MSG: z.object({ n: z.number().int() }).strict() },
};

class Chatter implements Protocol {
  constructor(
    private readonly ctx: Context,
    private readonly count: number,
  ) {}
  start(): void {
    for (let n = 0; n < this.count; n++) {
      this.ctx.broadcast(this.ctx.sign('MSG', { n }), { includeSelf: false });
    }
  }
  onMessage(from: NodeId, message: { body: unknown }): void {
    const { n } = message.body as { n: number };
    this.ctx.output({ from, n });
  }
  onTimer(): void {}
  onRequest(): void {}
}

function run(seed: number, network: { loss: number; duplicate: number }, count = 20) {
  const sim = new Simulation({
    seed,
    cluster: { id: 'echo-test', replicas: ['n0', 'n1', 'n2', 'n3'], f: 1 },
    definition: echoDefinition,
    factory: () => (ctx) => new Chatter(ctx, count),
    network: { latency: { min: 1, max: 20 }, ...network },
  });
  const received = new Map<string, { from: string; n: number }[]>();
  sim.onOutput((instance, event) => {
    const list = received.get(instance) ?? [];
    list.push(event as { from: string; n: number });
    received.set(instance, list);
  });
  sim.start();
  sim.runUntil(20_000);
  return { sim, received };
}

describe('simulator', () => {
  it('is deterministic: one seed, byte-identical traces', () => {
    const a = run(7, { loss: 0.3, duplicate: 0.2 }).sim.traceJsonl();
    const b = run(7, { loss: 0.3, duplicate: 0.2 }).sim.traceJsonl();
    expect(a).toBe(b);
    expect(a.split('\n').length).toBeGreaterThan(100);
  });

  it('different seeds give different schedules', () => {
    const a = run(1, { loss: 0.1, duplicate: 0.1 }).sim.traceJsonl();
    const b = run(2, { loss: 0.1, duplicate: 0.1 }).sim.traceJsonl();
    expect(a).not.toBe(b);
  });

  it('perfect links deliver every message exactly once, in order, despite 30% loss, duplication and reordering', () => {
    for (const seed of [1, 2, 3]) {
      const { sim, received } = run(seed, { loss: 0.3, duplicate: 0.3 }, 50);
      expect(sim.stats.framesLost).toBeGreaterThan(0);
      expect(sim.stats.framesDuplicated).toBeGreaterThan(0);
      for (const node of ['n0', 'n1', 'n2', 'n3']) {
        const got = received.get(node) ?? [];
        for (const from of ['n0', 'n1', 'n2', 'n3'].filter((x) => x !== node)) {
          const ns = got.filter((m) => m.from === from).map((m) => m.n);
          expect(ns).toEqual([...Array(50).keys()]);
        }
      }
    }
  });

  it('a crashed node loses its memory and timers but keeps what it persisted', () => {
    const seen: string[] = [];
    const def: ProtocolDefinition = { name: 'p', model: 'crash', messages: {} };
    const sim = new Simulation({
      seed: 1,
      cluster: { id: 'p', replicas: ['n0'], f: 0 },
      definition: def,
      factory: () => (ctx) => ({
        start(recovered) {
          seen.push(recovered === null ? 'fresh' : `recovered:${recovered.get('x')}`);
          ctx.persist('x', 42);
          ctx.setTimer('t', 100);
        },
        onMessage() {},
        onTimer(name) {
          seen.push(`timer:${name}@${ctx.now()}`);
        },
        onRequest() {},
      }),
    });
    sim.start();
    sim.at(50, () => sim.crash('n0'));
    sim.at(60, () => sim.restart('n0'));
    sim.runUntil(1000);
    expect(seen).toEqual(['fresh', 'recovered:42', 'timer:t@160']);
  });

  it('a partition stops frames between blocks until it heals', () => {
    const { sim: base } = run(3, { loss: 0, duplicate: 0 }, 1);
    expect(base.stats.messagesDelivered).toBe(12);
    const sim = new Simulation({
      seed: 3,
      cluster: { id: 'echo-test', replicas: ['n0', 'n1', 'n2', 'n3'], f: 1 },
      definition: echoDefinition,
      factory: () => (ctx) => new Chatter(ctx, 1),
    });
    sim.partition([
      ['n0', 'n1'],
      ['n2', 'n3'],
    ]);
    sim.start();
    sim.runUntil(500);
    expect(sim.stats.messagesDelivered).toBe(4);
    sim.heal();
    sim.runUntil(5_000);
    expect(sim.stats.messagesDelivered).toBe(12);
  });
});

describe('traces', () => {
  it('carry Lamport and vector clocks that respect causality', () => {
    const { sim } = run(5, { loss: 0, duplicate: 0 }, 2);
    const lines = sim.trace;
    const sends = new Map(
      lines.filter((l) => l.event.type === 'send').map((l) => [(l.event as { id: string }).id, l]),
    );
    let checked = 0;
    for (const line of lines) {
      if (line.event.type !== 'deliver') continue;
      const send = sends.get(line.event.id)!;
      expect(line.lamport).toBeGreaterThan(send.lamport);
      // send → deliver: the send's vector clock is below the delivery's, component-wise.
      expect(send.vc.every((v, i) => v <= line.vc[i]!)).toBe(true);
      expect(send.vc.some((v, i) => v < line.vc[i]!)).toBe(true);
      checked++;
    }
    expect(checked).toBe(24);
  });

  it('never contain a secret key', async () => {
    const { simulatedSeed } = await import('../../src/sim/simulation.js');
    const { toHex } = await import('../../src/crypto/hex.js');
    const text = run(5, { loss: 0.1, duplicate: 0.1 }, 3).sim.traceJsonl();
    for (const id of ['n0', 'n1', 'n2', 'n3']) {
      expect(text).not.toContain(toHex(simulatedSeed('echo-test', id)));
    }
  });
});
