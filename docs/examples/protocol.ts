// A protocol of your own on the sans-IO interface, run in the simulator: every replica echoes
// a value it is asked to spread, signed; a replica accepts the value once a Byzantine quorum
// of distinct replicas echoed it.
import type { Context, Envelope, Protocol, ProtocolDefinition, ProtocolFactory } from 'bftkit';
import { Simulation } from 'bftkit';
import { z } from 'zod';

// What the host checks before the core sees a message: kinds and their body schemas.
const definition: ProtocolDefinition = {
  name: 'echo',
  model: 'byzantine',
  messages: { ECHO: z.strictObject({ value: z.string().max(100) }) },
};

type Accepted = { accepted: string };

function echo(ctx: Context<Accepted>): Protocol<{ value: string }> {
  const echoed = new Map<string, Set<string>>(); // value → replicas that echoed it
  const sent = new Set<string>();
  const accepted = new Set<string>();
  const echoOnce = (value: string) => {
    if (sent.has(value)) return;
    sent.add(value);
    ctx.broadcast(ctx.sign('ECHO', { value })); // our own copy is delivered to us too
  };
  return {
    start() {},
    onTimer() {},
    onRequest(request) {
      echoOnce(request.value);
    },
    onMessage(from: string, message: Envelope) {
      const { value } = message.body as { value: string };
      const senders = echoed.get(value) ?? new Set<string>();
      echoed.set(value, senders.add(from));
      echoOnce(value);
      if (senders.size >= ctx.cluster.quorum && !accepted.has(value)) {
        accepted.add(value);
        ctx.output({ accepted: value });
      }
    },
  };
}

const sim = new Simulation({
  seed: 1,
  cluster: { id: 'echo-demo', replicas: ['n0', 'n1', 'n2', 'n3'], f: 1 },
  definition,
  factory: () => echo as ProtocolFactory,
  network: { latency: { min: 1, max: 20 }, loss: 0.1 },
  trace: 'full',
});
sim.onOutput((instance, event, time) => console.log(`${time.toFixed(1)} ms ${instance}:`, event));
sim.start();
sim.at(10, () => sim.request('n0', { value: 'hello' }));
sim.runUntil(1000);
console.log(`${sim.stats.messagesSent} messages, ${sim.trace.length} trace events`);
