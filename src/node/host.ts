/**
 * The process host: the same NodeRuntime the simulator embeds, over real IO —
 *
 *   HostIO.now/random   the wall clock (ms) and crypto.randomInt
 *   HostIO.setTimer     setTimeout (unref'd: timers never keep a stopped process alive)
 *   HostIO.transmit     the authenticated WebSocket transport (src/net/transport.ts)
 *   HostIO.persist      one SQLite transaction, fsynced before it returns (./storage.ts)
 *
 * Replicas also serve HTTP on the port they accept WebSocket connections on: GET /status
 * (JSON) and GET /metrics (Prometheus text). Clients use the same host without listening
 * (see ./client-host.ts). Logs are JSON lines through pino; secrets are never logged.
 * Nothing protocol-specific lives here: the core comes from a ProtocolKit.
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import type { AdversaryDefinition } from '../adversary/api.js';
import { type ClusterFile, clusterAuth, clusterView, publicKeys } from '../core/cluster-file.js';
import { KeyRing, makeSigner } from '../core/envelope.js';
import { InputError } from '../core/errors.js';
import type { SecretKey } from '../core/keyfile.js';
import type { HostedKit, Params } from '../core/kit.js';
import type { NodeId, ProtocolFactory } from '../core/protocol.js';
import { fastBackend } from '../crypto/backends.js';
import { fromHex } from '../crypto/hex.js';
import type { Json } from '../crypto/json.js';
import type { LinkOptions } from '../links/perfect-link.js';
import { type PeerSpec, Transport, type TransportOptions } from '../net/transport.js';
import { NodeRuntime, type RuntimeEvent } from '../runtime/runtime.js';
import { checkIdentity, type HostRole } from './identity.js';
import { FAILURE_BUDGET, HTTP_LIMITS, PROCESS_LINK_OPTIONS, VERDICT_CACHE_SIZE } from './limits.js';
import { noteLevel } from './logging.js';
import { HostMetrics } from './metrics.js';
import { NoteTracker } from './notes.js';
import type { HostStatus } from './status.js';
import type { Store } from './storage.js';

export interface HostOptions {
  file: ClusterFile;
  id: NodeId;
  key: SecretKey;
  role: HostRole;
  kit: HostedKit;
  params?: Params;
  /** An adversary (src/scenario/adversaries.ts, by adversaryFor) that replaces the honest core. */
  adversary?: AdversaryDefinition | null;
  store: Store;
  logger?: Logger;
  maxFrameBytes?: number;
  link?: Partial<LinkOptions>;
  transport?: Partial<
    Pick<
      TransportOptions,
      | 'handshakeTimeoutMs'
      | 'backoff'
      | 'heartbeatMs'
      | 'maxBufferedBytes'
      | 'maxPendingHandshakes'
      | 'maxPendingPerAddress'
      | 'framesPerSecond'
    >
  >;
  /** Outputs of the core (decisions, a client's replies). */
  onOutput?: (event: unknown) => void;
  /** What the application adds to /status (the ledger: its stored height). */
  appStatus?: () => Json;
  /**
   * GET routes of the application beside /status and /metrics (the ledger: its blocks): the
   * query in, a JSON answer out, null for 404; an InputError is the client's fault (400).
   */
  appRoutes?: Readonly<Record<string, (query: URLSearchParams) => Json | null>>;
  /** HTTP deadlines (tests shorten them); HTTP_LIMITS by default. */
  http?: Partial<typeof HTTP_LIMITS>;
  /**
   * Storage failed or a core threw: the node must stop (default: print `bftkit: fatal: …` on
   * stderr and exit the process with code 70).
   */
  fatal?: (error: Error) => void;
}

/** The core this host runs: the kit's replica or client, inside its adversary if it has one. */
function coreFactory(options: HostOptions): ProtocolFactory {
  const { id, role, kit } = options;
  let factory: ProtocolFactory;
  try {
    const params = options.params ?? {};
    factory = role === 'replica' ? kit.replica(id, params) : kit.client(id, params);
  } catch (e) {
    const issue = (e as { issues?: { path: PropertyKey[]; message: string }[] }).issues?.[0];
    const detail =
      issue === undefined
        ? (e as Error).message
        : `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`;
    throw new InputError(`${kit.name} parameters: ${detail}`);
  }
  if (options.adversary) {
    const { adversary } = options;
    factory = adversary.create(factory, adversary.params.parse({}));
  }
  return factory;
}

/** Every other member of the cluster, as the transport dials or accepts it. */
function peerSpecs(file: ClusterFile, id: NodeId): PeerSpec[] {
  return [
    ...file.nodes.map((n, rank) => ({
      id: n.id,
      publicKey: fromHex(n.publicKey),
      replica: true,
      rank,
      host: n.host,
      port: n.port,
    })),
    ...file.clients.map((c) => ({
      id: c.id,
      publicKey: fromHex(c.publicKey),
      replica: false,
      rank: Number.POSITIVE_INFINITY,
    })),
  ].filter((p) => p.id !== id);
}

export class ProcessHost {
  readonly runtime: NodeRuntime;
  readonly transport: Transport;
  readonly metrics: HostMetrics;
  readonly log: Logger;
  private readonly notes: NoteTracker;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly startedAt = Date.now();
  private server: Server | null = null;
  private listenAddress: { host: string; port: number } | null = null;
  private persists = 0;
  private outputs = 0;
  private coreErrors = 0;
  private readonly admissionLogged = new Map<string, number>();
  /** Admission failures per peer in the current second, and how often each was banned. */
  private readonly failures = new Map<
    NodeId,
    { second: number; count: number; bans: number; until: number }
  >();
  private started = false;
  private closed = false;
  private readonly closeHooks: (() => void)[] = [];

  constructor(readonly options: HostOptions) {
    const { file, id, key, role, store } = options;
    checkIdentity(file, id, key, role);
    const factory = coreFactory(options);
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ node: id });
    this.notes = new NoteTracker(id);
    this.metrics = new HostMetrics(
      {
        peers: () =>
          this.transport.status().map((p) => ({
            id: p.id,
            connected: p.connected,
            pending: this.runtime.pendingTo(p.id),
          })),
      },
      { node: id, cluster: file.clusterId },
      role === 'replica',
    );
    this.metrics.incarnation.set(store.incarnation);
    this.transport = this.openTransport(peerSpecs(file, id));
    this.runtime = this.createRuntime(factory);
  }

  private openTransport(peers: PeerSpec[]): Transport {
    const { options } = this;
    const { file, id, key, role } = options;
    return new Transport(
      {
        self: id,
        cluster: file.clusterId,
        signer: makeSigner(id, key.seed, fastBackend),
        publicKey: key.publicKey,
        backend: fastBackend,
        peers,
        rank: role === 'replica' ? file.nodes.findIndex((n) => n.id === id) : null,
        ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
        ...options.transport,
        random: () => this.random(),
        logger: this.log,
      },
      {
        frame: (peer, text) => this.onFrame(peer, text),
        peerUp: (peer) => {
          if (!this.closed && this.started) this.guard(() => this.runtime.peerUp(peer));
        },
        rejected: (reason) => this.metrics.rejections.inc({ stage: 'transport', reason }),
        throttled: () => this.metrics.throttled.inc(),
        dropped: (_peer, reason) => this.metrics.framesDropped.inc({ reason }),
      },
    );
  }

  private createRuntime(factory: ProtocolFactory): NodeRuntime {
    const { options } = this;
    const { file, id, key, kit, store } = options;
    return new NodeRuntime(
      {
        self: id,
        cluster: clusterView(file),
        definition: kit.definition,
        keys: new KeyRing(publicKeys(file), fastBackend, VERDICT_CACHE_SIZE),
        signer: makeSigner(id, key.seed, fastBackend),
        incarnation: store.incarnation,
        ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
        link: { ...PROCESS_LINK_OPTIONS, ...options.link },
        auth: clusterAuth(file),
      },
      {
        now: () => Date.now(),
        random: () => this.random(),
        transmit: (to, frame) => {
          if (this.transport.send(to, frame)) this.metrics.framesOut.inc();
        },
        setTimer: (k, delay) => this.setTimer(k, delay),
        cancelTimer: (k) => this.cancelTimer(k),
        persist: (writes) => this.persist(writes),
        output: (event) => {
          this.outputs++;
          options.onOutput?.(event);
        },
        trace: (event) => this.onTrace(event),
        // Group commit: one fsync for every step of an event-loop turn, synced in the
        // background when the store can (see runtime.ts).
        defer: (flush) =>
          setImmediate(() => {
            if (!this.closed) this.guard(flush);
          }),
        ...(store.persistAsync === undefined
          ? {}
          : { persistAsync: (writes, done) => this.persistAsync(writes, done) }),
      },
      factory,
    );
  }

  get id(): NodeId {
    return this.options.id;
  }

  /** Replicas: serve WebSocket and HTTP on the port the cluster file gives this node. */
  async listen(): Promise<{ host: string; port: number }> {
    const member = this.options.file.nodes.find((n) => n.id === this.options.id);
    if (member === undefined) throw new Error('only replicas listen');
    const http = { ...HTTP_LIMITS, ...this.options.http };
    // Deadlines are checked every connectionsCheckingInterval (Node's default of 30 s let a
    // slowloris connection live 36 s): a connection that has not sent a whole request within
    // requestMs, idle ones included, gets a 408 and is closed.
    const server = createServer(
      { connectionsCheckingInterval: http.checkIntervalMs },
      (req, res) => {
        this.serveHttp(req, res).catch((e: Error) => {
          this.log.error({ err: e.message }, 'http handler failed');
          if (!res.headersSent) res.writeHead(500).end();
        });
      },
    );
    server.headersTimeout = http.requestMs;
    server.requestTimeout = http.requestMs;
    server.keepAliveTimeout = Math.min(server.keepAliveTimeout, http.idleMs);
    this.transport.attach(server);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        reject(
          new InputError(`cannot listen on ${member.host}:${member.port}: ${e.code ?? e.message}`),
        );
      };
      server.once('error', onError);
      server.listen(member.port, member.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (e) => this.log.error({ err: e.message }, 'http server error'));
    this.server = server;
    this.listenAddress = { host: member.host, port: member.port };
    return this.listenAddress;
  }

  /** Start the core (recovering from the store) and the links. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { store } = this.options;
    this.log.info(
      {
        incarnation: store.incarnation,
        starts: store.starts,
        recovered: store.recovered !== null,
        kit: this.options.kit.name,
        adversary: this.options.adversary?.name ?? null,
        listen: this.listenAddress,
      },
      'starting',
    );
    this.guard(() => this.runtime.start(store.recovered));
    this.transport.start();
  }

  /** A request from the layer above (a client's operation). */
  request(request: Json): void {
    if (this.closed) return;
    this.guard(() => this.runtime.request(request));
  }

  status(): HostStatus {
    const derived = this.notes.derived();
    const { store } = this.options;
    return {
      id: this.options.id,
      cluster: this.options.file.clusterId,
      protocol: this.options.file.protocol,
      auth: this.runtime.auth,
      kit: this.options.kit.name,
      ...derived,
      adversary: this.options.adversary?.name ?? null,
      incarnation: store.incarnation,
      starts: store.starts,
      recovered: store.recovered !== null,
      pid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      listen: this.listenAddress,
      peers: this.transport
        .status()
        .map((p) => ({ ...p, pendingUnacked: this.runtime.pendingTo(p.id) })),
      rejections: {
        transport: { ...this.transport.rejections },
        admission: { ...this.runtime.rejections },
      },
      dropped: { transport: { ...this.transport.drops }, links: this.runtime.droppedByLinks },
      frames: { in: this.transport.framesIn, out: this.transport.framesOut },
      persists: this.persists,
      outputs: this.outputs,
      coreErrors: this.coreErrors,
      notes: this.notes.snapshot(),
      app: this.options.appStatus?.() ?? null,
    };
  }

  /** Run `hook` once the host has closed (after its store). */
  onClose(hook: () => void): void {
    this.closeHooks.push(hook);
  }

  /** Stop: no more events reach the core, sockets close, the database closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    // What the last steps persisted and sent is released before the store closes.
    this.guard(() => this.runtime.flushPending());
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.transport.close();
    const server = this.server;
    if (server !== null) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    this.options.store.close();
    for (const hook of this.closeHooks.splice(0)) hook();
    this.log.info({}, 'stopped');
  }

  // --- HostIO -------------------------------------------------------------------------

  private random(): number {
    return randomInt(0, 2 ** 48 - 1) / 2 ** 48;
  }

  private setTimer(key: string, delayMs: number): void {
    const previous = this.timers.get(key);
    if (previous !== undefined) clearTimeout(previous);
    const timer = setTimeout(
      () => {
        if (this.timers.get(key) !== timer) return;
        this.timers.delete(key);
        if (!this.closed) this.guard(() => this.runtime.fireTimer(key));
      },
      Math.max(0, delayMs),
    );
    timer.unref();
    this.timers.set(key, timer);
  }

  private cancelTimer(key: string): void {
    const timer = this.timers.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(key);
  }

  private persist(writes: ReadonlyArray<readonly [string, Json | null]>): void {
    const stop = this.metrics.persistSeconds.startTimer();
    try {
      this.options.store.persist(writes);
    } catch (e) {
      this.persistFailed(e as Error);
      throw e;
    }
    stop();
    this.persists++;
    this.metrics.persists.inc();
  }

  /** The same, synced in the background: `done` (the runtime's release) once durable. */
  private persistAsync(writes: ReadonlyArray<readonly [string, Json | null]>, done: () => void) {
    const store = this.options.store;
    const stop = this.metrics.persistSeconds.startTimer();
    try {
      store.persistAsync?.(writes, (error) => {
        if (this.closed) return;
        if (error !== null) {
          this.persistFailed(error);
          return;
        }
        stop();
        this.persists++;
        this.metrics.persists.inc();
        this.guard(done);
      });
    } catch (e) {
      this.persistFailed(e as Error);
      throw e;
    }
  }

  /** Continuing would send messages whose state is not durable: stop the node instead. */
  private persistFailed(error: Error): void {
    this.log.fatal({ err: error.message }, 'persist failed; stopping');
    this.closed = true;
    (this.options.fatal ?? defaultFatal)(error);
  }

  private onFrame(peer: NodeId, text: string): void {
    if (this.closed || !this.started) return;
    this.metrics.framesIn.inc();
    this.guard(() => this.runtime.receive(peer, text));
  }

  /**
   * A core that throws has a bug, and its state may no longer back what it would send: the
   * runtime has dropped the step's effects and stopped (runtime.ts), and the node stops too —
   * crash-stop, exit 70 by default. Restarted, it recovers from what it persisted before.
   */
  private guard(action: () => void): void {
    try {
      action();
    } catch (e) {
      if (this.closed) return;
      this.coreErrors++;
      this.metrics.coreErrors.inc();
      const error = e instanceof Error ? e : new Error(String(e));
      this.log.fatal(
        { err: (error.cause instanceof Error ? error.cause : error).stack ?? String(e) },
        `${error.message}; none of the step's effects left; stopping (crash-stop)`,
      );
      this.closed = true;
      (this.options.fatal ?? defaultFatal)(error);
    }
  }

  private onTrace(event: RuntimeEvent): void {
    switch (event.type) {
      case 'send':
        this.metrics.sent.inc({ kind: event.kind });
        break;
      case 'deliver':
        this.metrics.delivered.inc({ kind: event.kind });
        break;
      case 'reject': {
        this.metrics.rejections.inc({ stage: 'admission', reason: event.reason });
        this.admissionFailed(event.from);
        const count = (this.admissionLogged.get(event.reason) ?? 0) + 1;
        this.admissionLogged.set(event.reason, count);
        if (count <= 10 || (count & (count - 1)) === 0)
          this.log.warn(
            { peer: event.from, reason: event.reason, detail: event.detail, count },
            'message rejected',
          );
        break;
      }
      case 'note':
        this.notes.record(event.event, event.data, Date.now());
        this.log[noteLevel(event.event)]({ event: event.event, data: event.data }, 'note');
        break;
      case 'start':
        this.log.info({ recovered: event.recovered }, 'core started');
        break;
      default:
        break;
    }
  }

  /**
   * The verification-failure budget: a peer whose frames fail admission (bad signatures,
   * malformed or unknown messages — an honest peer sends none) more than
   * FAILURE_BUDGET.perSecond times in a second is disconnected and refused for a back-off
   * period that doubles with every ban (one log line each). Each failure it can cause costs
   * the node a parse, a validation, at worst a signature check; this bounds how many.
   */
  private admissionFailed(peer: NodeId): void {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    const state = this.failures.get(peer) ?? { second, count: 0, bans: 0, until: 0 };
    // What a banned peer sent before its connection closed is not a new offence.
    if (now < state.until) return;
    if (state.second !== second) {
      state.second = second;
      state.count = 0;
    }
    this.failures.set(peer, state);
    if (++state.count <= FAILURE_BUDGET.perSecond) return;
    state.count = 0;
    const ms = Math.min(FAILURE_BUDGET.maxBanMs, FAILURE_BUDGET.banMs * 2 ** state.bans);
    state.bans++;
    state.until = now + ms;
    this.transport.ban(peer, ms);
    this.metrics.bans.inc();
    this.log.warn({ peer, banMs: ms, bans: state.bans }, 'peer over its failure budget; banned');
  }

  private async serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Origin-form only ("/status?x"): new URL("//status", base) would read a host "status".
    const target = req.url ?? '/';
    if (!target.startsWith('/') || target.startsWith('//')) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request target\n');
      return;
    }
    const url = new URL(`http://node${target}`);
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/status') {
      const body = `${JSON.stringify(this.status(), null, 2)}\n`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } else if (path === '/metrics') {
      const body = await this.metrics.text();
      res.writeHead(200, { 'content-type': this.metrics.contentType }).end(body);
    } else if (
      this.options.appRoutes !== undefined &&
      Object.hasOwn(this.options.appRoutes, path)
    ) {
      const route = this.options.appRoutes[path] as (query: URLSearchParams) => Json | null;
      let answer: Json | null;
      try {
        answer = route(url.searchParams);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`${e.message}\n`);
        return;
      }
      if (answer === null) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    } else if (path === '/') {
      res
        .writeHead(200, { 'content-type': 'text/plain' })
        .end(`bftkit node ${this.options.id}: GET /status, GET /metrics, WebSocket at /bftkit\n`);
    } else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
}

function defaultFatal(error: Error): void {
  process.stderr.write(`bftkit: fatal: ${error.message}\n`);
  process.exit(70);
}
