/**
 * A small, known run for the trace viewer's tests: four replicas exchange a few messages;
 * n3 is marked Byzantine and notes an "adversary" deed, every node notes a "commit" once it
 * heard from all others, n1 notes a "view" change, n2 crashes and restarts, the network is
 * partitioned and healed, requests arm a timer, and the last message is never delivered.
 */
import { z } from 'zod';
import type { ProtocolDefinition } from '../../src/core/definition.js';
import type { Context, NodeId, Protocol } from '../../src/core/protocol.js';
import { Simulation } from '../../src/sim/simulation.js';

const definition: ProtocolDefinition = {
  name: 'chatter',
  model: 'byzantine',
  messages: { MSG: z.object({ n: z.number().int() }).strict(), PING: z.object({}).strict() },
};

class Chatter implements Protocol {
  private readonly heard = new Set<NodeId>();
  constructor(
    private readonly ctx: Context,
    private readonly count: number,
  ) {}
  start(): void {
    for (let n = 0; n < this.count; n++) {
      this.ctx.broadcast(this.ctx.sign('MSG', { n }), { includeSelf: false });
    }
    if (this.ctx.self === 'n1') this.ctx.note('view', { view: 1 });
    if (this.ctx.self === 'n3') this.ctx.note('adversary', { action: 'equivocate' });
  }
  onMessage(from: NodeId, message: { kind: string; body: unknown }): void {
    if (message.kind === 'PING') return;
    const { n } = message.body as { n: number };
    this.ctx.output({ from, n });
    this.heard.add(from);
    if (this.heard.size === this.ctx.cluster.replicas.length - 1 && n === this.count - 1) {
      this.ctx.note('commit', { n });
    }
  }
  onTimer(name: string): void {
    this.ctx.note('timeout', { timer: name });
  }
  onRequest(): void {
    this.ctx.send('n3', this.ctx.sign('PING', {}));
    this.ctx.setTimer('tick', 10);
  }
}

export function buildTrace(): string {
  const sim = new Simulation({
    seed: 11,
    cluster: { id: 'viewer-test', replicas: ['n0', 'n1', 'n2', 'n3'], f: 1 },
    definition,
    factory: () => (ctx) => new Chatter(ctx, 2),
    network: { latency: { min: 2, max: 12 } },
    byzantine: ['n3'],
    meta: { scenario: 'viewer-fixture', seed: 11 },
  });
  sim.start();
  sim.at(4, () => sim.crash('n2'));
  sim.at(30, () => sim.restart('n2'));
  sim.at(40, () =>
    sim.partition([
      ['n0', 'n1'],
      ['n2', 'n3'],
    ]),
  );
  sim.at(41, () => sim.request('n0', { op: 'ping' }));
  sim.at(70, () => sim.heal());
  // Sent one millisecond before the end, with a latency of at least two: never delivered.
  sim.at(149, () => sim.request('n1', { op: 'ping' }));
  sim.runUntil(150);
  return sim.traceJsonl();
}
