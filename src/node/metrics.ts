/**
 * Prometheus metrics of one process host (GET /metrics). Each host has its own registry, so
 * several hosts in one process (tests) do not share counters. Label values are bounded: peer
 * ids come from the cluster file, kinds from the protocol definition, reasons from fixed lists.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeId } from '../core/protocol.js';

export interface MetricsSources {
  peers(): readonly { id: NodeId; connected: boolean; pending: number }[];
}

export class HostMetrics {
  readonly registry = new Registry();
  private readonly registers = [this.registry];
  readonly framesIn: Counter = new Counter({
    name: 'bftkit_frames_in_total',
    help: 'Frames received from authenticated peers',
    registers: this.registers,
  });
  readonly framesOut: Counter = new Counter({
    name: 'bftkit_frames_out_total',
    help: 'Frames written to peer connections',
    registers: this.registers,
  });
  readonly framesDropped: Counter<'reason'> = new Counter({
    name: 'bftkit_frames_dropped_total',
    help: 'Frames not sent (no connection, socket buffer over its limit, too large)',
    labelNames: ['reason'],
    registers: this.registers,
  });
  readonly rejections: Counter<'stage' | 'reason'> = new Counter({
    name: 'bftkit_rejections_total',
    help: 'Refused handshakes and frames (stage transport) and messages refused by admission',
    labelNames: ['stage', 'reason'],
    registers: this.registers,
  });
  readonly persists: Counter = new Counter({
    name: 'bftkit_persists_total',
    help: 'Group commits to stable storage (one per step that persisted anything)',
    registers: this.registers,
  });
  readonly persistSeconds: Histogram = new Histogram({
    name: 'bftkit_persist_seconds',
    help: 'Duration of a group commit, fsync included',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: this.registers,
  });
  readonly delivered: Counter<'kind'> = new Counter({
    name: 'bftkit_messages_delivered_total',
    help: 'Messages admitted and delivered to the protocol core, by kind',
    labelNames: ['kind'],
    registers: this.registers,
  });
  readonly sent: Counter<'kind'> = new Counter({
    name: 'bftkit_messages_sent_total',
    help: 'Messages the protocol core sent, by kind',
    labelNames: ['kind'],
    registers: this.registers,
  });
  readonly incarnation: Gauge = new Gauge({
    name: 'bftkit_incarnation',
    help: 'Incarnation of this start of the node',
    registers: this.registers,
  });
  readonly coreErrors: Counter = new Counter({
    name: 'bftkit_core_errors_total',
    help: 'Exceptions thrown by the protocol core (bugs); the event was dropped',
    registers: this.registers,
  });
  readonly throttled: Counter = new Counter({
    name: 'bftkit_frames_throttled_total',
    help: 'Frames dropped unread because their peer was over its frame budget',
    registers: this.registers,
  });
  readonly bans: Counter = new Counter({
    name: 'bftkit_peer_bans_total',
    help: 'Peers disconnected and refused for a while: over their admission-failure budget',
    registers: this.registers,
  });

  constructor(
    sources: MetricsSources,
    labels: { node: NodeId; cluster: string },
    /**
     * Node.js process metrics (prom-client defaults: an event-loop-delay monitor and a GC
     * observer per registry). A replica serves them; a client serves no /metrics, and a
     * process running many clients would pay for one monitor each.
     */
    processMetrics = true,
  ) {
    const registers = this.registers;
    this.registry.setDefaultLabels(labels);
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'bftkit_link_pending',
      help: 'Messages sent over the perfect link to a peer and not yet acknowledged',
      labelNames: ['peer'],
      registers,
      collect() {
        for (const p of sources.peers()) this.set({ peer: p.id }, p.pending);
      },
    });
    new Gauge({
      name: 'bftkit_peer_connected',
      help: '1 if an authenticated connection to the peer is up',
      labelNames: ['peer'],
      registers,
      collect() {
        for (const p of sources.peers()) this.set({ peer: p.id }, p.connected ? 1 : 0);
      },
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
