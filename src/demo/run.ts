/**
 * `bftkit demo` (`npm run demo`): the signed ledger, live.
 *
 *   1. a fresh data directory: keys for 4 replicas and 64 accounts (keys/), one directory
 *      per replica;
 *   2. 4 PBFT replicas as processes (`bftkit cluster up`), one of them Byzantine — by default
 *      n0, the first primary, equivocating (`equivocating-primary`);
 *   3. one client per account, in this process, relaying its own signed transfers;
 *   4. progress on the terminal, and the dashboard (web/ledger-dashboard.ts) on localhost;
 *   5. at the end (the duration — longer, up to 2 min more, while no block is certified yet — or
 *      Ctrl-C): clients and replicas stop, then every honest
 *      replica's stored ledger is audited offline (the `ledger verify` of cli/ledger.ts), and
 *      a summary is printed — `ok` only if every honest replica's ledger verifies.
 */

import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { freeBasePort } from '../bench/cluster.js';
import type { ClusterFile } from '../core/cluster-file.js';
import { InputError } from '../core/errors.js';
import { readKeyFile, type SecretKey } from '../core/keyfile.js';
import { keygen } from '../core/keygen.js';
import type { Json } from '../crypto/json.js';
import type { AuditResult } from '../ledger/audit.js';
import { nodeLedgerCrypto } from '../ledger/node-crypto.js';
import { proveTx } from '../ledger/proof.js';
import { auditDataDir, LedgerStore, type ReadOnlyLedger } from '../ledger/store.js';
import { clusterUp, parseAdversarySpecs } from '../node/cluster-up.js';
import { adversaryFor, kitForCluster, kitForProtocol } from '../node/registry.js';
import { fetchStatus, type HostStatus } from '../node/status.js';
import { type DashboardServer, startDashboard } from '../web/ledger-dashboard.js';
import { TransferWorkload } from './workload.js';

export const DEMO_CLUSTER_ID = 'bftkit-ledger-demo';
export const DEMO_REPLICAS = 4;
export const DEMO_ACCOUNTS = 64;
export const DEFAULT_BYZANTINE = 'n0=equivocating-primary';

/**
 * PBFT parameters of the demo's replicas. A request relays 64 transfers and a batch holds 4
 * requests, so a full block has 256 transactions (MAX_BLOCK_TXS); 64 clients keep 4,096
 * transfers outstanding, so the primary's queue holds full batches while 2 are in flight.
 * (Measured on the 2-core machine, where the demo is CPU-bound: fuller blocks spread each
 * block's fixed cost — 3 PBFT phases, q BLOCK votes, one database append — over more
 * transactions; on node:crypto, 16 accounts gave ~2,300 tx/s with 140-tx blocks and 64 gave
 * ~3,000 with ~220. 32 accounts measure the same as 64 today, within the machine's noise.)
 */
const PARAMS = {
  batchSize: 4,
  maxInFlight: 2,
  checkpointInterval: 32,
  watermarkWindow: 128,
  viewChangeTimeoutMs: 1_000,
  requestTimeoutMs: 2_000,
};
const TRANSFERS_PER_REQUEST = 64;
/** How long the load may go on after the time is up while no block is certified yet. */
const OVERTIME_MS = 120_000;
/** How long the replicas may take to come up, and then the clients to connect. */
const STARTUP_MS = 180_000;
/** How long the clients' last requests may take once the time is up (then they are abandoned). */
const STOP_GRACE_MS = 10_000;

export interface DemoOptions {
  durationS: number;
  /** "I=NAME" specs, or [] for none. */
  byzantine: string[];
  protocol: 'pbft' | 'raft';
  data?: string;
  web: boolean;
  /** Progress lines (the terminal); nothing when --json. */
  print: (line: string) => void;
  /** A live status line to redraw in place (TTY), or null for plain lines. */
  redraw: ((line: string) => void) | null;
  /** Resolves to stop early (Ctrl-C). */
  stop: Promise<unknown>;
  /** Told the dashboard's address once it serves (tests open it in a browser). */
  onDashboard?: (url: string) => void;
}

export interface NodeView {
  id: string;
  byzantine: string | null;
  /** It answered /status in the last DOWN_AFTER_MS. */
  up: boolean;
  /** Up, but its latest answer did not come in time (a busy replica, not a dead one). */
  slow: boolean;
  view: number | null;
  lastCommitted: number | null;
  height: number | null;
  rejections: number;
}

export interface EvidenceView {
  node: string;
  kind: string;
  culprit: string;
  detail: string;
}

export interface DemoSummary {
  ok: boolean;
  protocol: 'pbft';
  nodes: number;
  byzantine: { node: string; adversary: string }[];
  blocks: number;
  transactions: number;
  applied: number;
  rejected: number;
  txPerSecond: number;
  durationS: number;
  viewChanges: number;
  evidence: EvidenceView[];
  verified: { node: string; ok: boolean; blocks: number; detail: string }[];
  dataDir: string;
  dashboard: string | null;
  interrupted: boolean;
}

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const setup = await prepare(o);
  const { file, dataDir, byzantine } = setup;
  const cluster = startCluster(o, setup);
  const workload = new TransferWorkload({
    file,
    kit: kitForCluster(file),
    keys: new Map<string, SecretKey>(
      file.clients.map((c) => [c.id, readKeyFile(join(setup.keysDir, `${c.id}.key`))]),
    ),
    params: PARAMS,
    perRequest: TRANSFERS_PER_REQUEST,
    requestTimeoutMs: 30_000,
    logger: pino({ level: 'silent' }),
  });
  const monitor = new Monitor(file, byzantine, join(dataDir, 'nodes'));
  let dashboard: DashboardServer | null = null;
  let interrupted = false;
  const load: LoadWindow = { started: Date.now(), seconds: 0, confirmed: 0 };
  try {
    const stopped = o.stop.then(() => {
      interrupted = true;
    });
    // Patient: on a starved machine four processes may take minutes to start and connect.
    await Promise.race([monitor.waitUp(STARTUP_MS), stopped]);
    if (!interrupted) await Promise.race([workload.waitConnected(STARTUP_MS), stopped]);
    if (o.web && !interrupted) dashboard = await openDashboard(o, file, monitor, workload, load);
    if (!interrupted)
      await runLoad(o, setup, { monitor, workload, load }, stopped, () => interrupted);
  } finally {
    await workload.close();
    cluster.stop();
    await cluster.done.catch(() => undefined);
    monitor.close();
    await dashboard?.close();
  }

  o.print('auditing the stored ledger of every honest replica (ledger verify)');
  const honest = file.nodes.map((n) => n.id).filter((id) => !byzantine.has(id));
  const verified = honest.map((node) => verifyNode(file, join(dataDir, 'nodes', node), node));
  for (const v of verified) o.print(`  ${v.node}: ${v.ok ? 'ok' : 'FAILED'} — ${v.detail}`);
  const best = verified.reduce((a, b) => (b.blocks > a.blocks ? b : a), verified[0]!);
  const live = monitor.live(workload, load.started);
  return {
    ok: verified.length > 0 && verified.every((v) => v.ok) && best.blocks > 0,
    protocol: 'pbft',
    nodes: file.n,
    byzantine: [...byzantine].map(([node, adversary]) => ({ node, adversary })),
    blocks: best.blocks,
    transactions: best.transactions,
    applied: workload.counts.applied,
    rejected: workload.counts.rejected,
    txPerSecond: load.seconds > 0 ? Math.round(load.confirmed / load.seconds) : 0,
    durationS: Math.round(load.seconds * 10) / 10,
    viewChanges: live.viewChanges,
    evidence: live.evidence,
    verified: verified.map(({ node, ok, blocks, detail }) => ({ node, ok, blocks, detail })),
    dataDir,
    dashboard: dashboard?.url ?? null,
    interrupted,
  };
}

interface DemoSetup {
  file: ClusterFile;
  dataDir: string;
  keysDir: string;
  byzantine: Map<string, string>;
}

/** Every option checked before anything is created; then the keys of a fresh cluster. */
async function prepare(o: DemoOptions): Promise<DemoSetup> {
  if (o.protocol !== 'pbft')
    throw new InputError(
      '--protocol raft: the ledger runs over PBFT only (its blocks need q replica signatures; Raft replicas sign nothing) — use --protocol pbft',
    );
  if (!Number.isFinite(o.durationS) || o.durationS <= 0)
    throw new InputError('--duration: expected a positive number of seconds');
  const ids = Array.from({ length: DEMO_REPLICAS }, (_, i) => `n${i}`);
  const byzantine = parseAdversarySpecs(o.byzantine, ids);
  for (const name of byzantine.values()) adversaryFor(name, kitForProtocol('pbft'));
  const dataDir = prepareDataDir(o.data);
  const keysDir = join(dataDir, 'keys');
  const file = keygen({
    nodes: DEMO_REPLICAS,
    clients: DEMO_ACCOUNTS,
    protocol: 'pbft',
    app: 'ledger',
    basePort: await freeBasePort(DEMO_REPLICAS),
    host: '127.0.0.1',
    out: keysDir,
    clusterId: DEMO_CLUSTER_ID,
  });
  return { file, dataDir, keysDir, byzantine };
}

/** `bftkit cluster up` of the demo's cluster, its lines printed indented; `stop` ends it. */
function startCluster(o: DemoOptions, { dataDir, keysDir, byzantine }: DemoSetup) {
  let stop: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    stop = r;
  });
  const done = clusterUp({
    cluster: join(keysDir, 'cluster.json'),
    data: join(dataDir, 'nodes'),
    adversary: [...byzantine].map(([id, name]) => `${id}=${name}`),
    params: JSON.stringify(PARAMS),
    out: (line) => o.print(`  cluster: ${line}`),
    stop: stopped,
  });
  return { done, stop };
}

async function openDashboard(
  o: DemoOptions,
  file: ClusterFile,
  monitor: Monitor,
  workload: TransferWorkload,
  load: LoadWindow,
): Promise<DashboardServer> {
  const dashboard = await startDashboard({
    cluster: () => file,
    summary: async () => monitor.live(workload, load.started),
    blocks: async (limit) => monitor.blocks(limit),
    proof: async (id) => monitor.proof(id),
  });
  o.print(`dashboard: ${dashboard.url}/`);
  o.onDashboard?.(dashboard.url);
  return dashboard;
}

/** When the load started, how long it ran, and the transfers confirmed meanwhile. */
interface LoadWindow {
  started: number;
  seconds: number;
  confirmed: number;
}

/**
 * The load, with a progress line every second (redrawn) or every 5 s (printed), until the time
 * is up or Ctrl-C; then the clients stop and the last blocks gather their votes. `load` is
 * filled in as it goes (the dashboard reads when it started).
 */
async function runLoad(
  o: DemoOptions,
  { file, byzantine }: DemoSetup,
  { monitor, workload, load }: { monitor: Monitor; workload: TransferWorkload; load: LoadWindow },
  stopped: Promise<void>,
  interrupted: () => boolean,
): Promise<void> {
  const started = Date.now();
  load.started = started;
  workload.start();
  o.print(
    `running for ${o.durationS} s: ${file.clients.length} clients relay signed transfers to ${file.n} replicas (Byzantine: ${describeByzantine(byzantine)}); Ctrl-C stops early`,
  );
  const going = overtime(o, started, () => monitor.live(workload, started).blocks > 0);
  let lastPlain = 0;
  while (!interrupted() && going()) {
    await Promise.race([sleep(1_000), stopped]);
    await monitor.poll();
    const line = progressLine(monitor.live(workload, started));
    if (o.redraw !== null) o.redraw(line);
    else if (Date.now() - lastPlain >= 5_000) {
      lastPlain = Date.now();
      o.print(line);
    }
  }
  // tx/s, as a closed-loop benchmark counts: transfers confirmed to their clients (f+1
  // matching replies) within the load window, over its length. (They are all in the
  // audited ledger; so are the ones still in flight now, which the clients wait for.)
  load.seconds = (Date.now() - started) / 1000;
  load.confirmed = workload.counts.applied + workload.counts.rejected;
  if (o.redraw !== null) o.redraw('');
  o.print(interrupted() ? 'interrupted: stopping' : 'time is up: stopping the clients');
  await (interrupted() ? workload.close() : workload.stop(STOP_GRACE_MS));
  // The last blocks gather their votes.
  if (!interrupted()) await sleep(1_500);
  await monitor.poll();
}

/**
 * Whether the load goes on. A slow machine makes the demo slower, not a failure: with no block
 * certified when the time is up, the load goes on (at most OVERTIME_MS) until one is.
 */
function overtime(o: DemoOptions, started: number, certified: () => boolean): () => boolean {
  const end = started + o.durationS * 1000;
  let said = false;
  return () => {
    if (Date.now() < end) return true;
    if (certified() || Date.now() >= end + OVERTIME_MS) return false;
    if (!said) {
      said = true;
      o.print('no block certified yet (a slow machine?): the load goes on until one is');
    }
    return true;
  };
}

function prepareDataDir(data: string | undefined): string {
  if (data === undefined) return mkdtempSync(join(tmpdir(), 'bftkit-demo-'));
  const dir = resolve(data);
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new InputError(`--data ${data}: not a directory`);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new InputError(
      `--data ${data}: not empty; the demo starts a fresh ledger in an empty or new directory`,
    );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function describeByzantine(byzantine: ReadonlyMap<string, string>): string {
  return byzantine.size === 0
    ? 'none'
    : [...byzantine].map(([id, name]) => `${id} ${name}`).join(', ');
}

function verifyNode(
  file: ClusterFile,
  dir: string,
  node: string,
): { node: string; ok: boolean; blocks: number; transactions: number; detail: string } {
  let result: AuditResult;
  try {
    result = auditDataDir(dir, file);
  } catch (e) {
    return { node, ok: false, blocks: 0, transactions: 0, detail: (e as Error).message };
  }
  if (!result.ok)
    return {
      node,
      ok: false,
      blocks: result.height - 1,
      transactions: 0,
      detail: `height ${result.height}: ${result.problem}: ${result.reason}`,
    };
  return {
    node,
    ok: true,
    blocks: result.blocks,
    transactions: result.transactions,
    detail: `${result.blocks} blocks, ${result.transactions} transactions (${result.applied} applied, ${result.rejected} rejected), tip ${result.tipHash.slice(0, 16)}…`,
  };
}

export interface LiveSummary {
  protocol: 'pbft';
  running: boolean;
  elapsedSeconds: number;
  blocks: number;
  transactions: number;
  txPerSecond: number;
  viewChanges: number;
  nodes: NodeView[];
  evidence: EvidenceView[];
  recentTxIds: string[];
}

function progressLine(s: LiveSummary): string {
  const up = s.nodes.filter((n) => n.up).length;
  return `${s.elapsedSeconds.toFixed(0).padStart(4)} s  blocks ${String(s.blocks).padStart(5)}  tx ${String(s.transactions).padStart(7)}  ${String(s.txPerSecond).padStart(5)} tx/s  view changes ${s.viewChanges}  evidence ${s.evidence.length}  replicas up ${up}/${s.nodes.length}`;
}

/** How long a replica may leave /status unanswered before it is shown down. */
const DOWN_AFTER_MS = 10_000;
/** One /status request's patience (a starved replica answers late, not never). */
const STATUS_TIMEOUT_MS = 2_000;

/** Polls every replica's /status and reads the stored ledgers (read-only). */
class Monitor {
  /** Each replica's last answer (kept through slow polls), when it came, and if the latest poll missed. */
  private readonly statuses = new Map<string, HostStatus>();
  private readonly answeredAt = new Map<string, number>();
  private readonly missed = new Set<string>();
  private readonly ledgers = new Map<string, ReadOnlyLedger>();

  constructor(
    private readonly file: ClusterFile,
    private readonly byzantine: ReadonlyMap<string, string>,
    private readonly nodesDir: string,
  ) {}

  async waitUp(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.poll();
      if (this.statuses.size === this.file.nodes.length) return;
      if (Date.now() > deadline) throw new Error('the replicas did not come up in time');
      await sleep(250);
    }
  }

  async poll(): Promise<void> {
    await Promise.all(
      this.file.nodes.map(async (n) => {
        const status = await fetchStatus(`http://${n.host}:${n.port}`, STATUS_TIMEOUT_MS);
        if (status === null) {
          this.missed.add(n.id);
          return;
        }
        this.statuses.set(n.id, status);
        this.answeredAt.set(n.id, Date.now());
        this.missed.delete(n.id);
      }),
    );
  }

  live(workload: TransferWorkload, started: number): LiveSummary {
    const nodes: NodeView[] = this.file.nodes.map((n) => {
      const s = this.statuses.get(n.id) ?? null;
      const app = s?.app as { ledger?: { height?: number } } | null | undefined;
      const up =
        Date.now() - (this.answeredAt.get(n.id) ?? Number.NEGATIVE_INFINITY) < DOWN_AFTER_MS;
      return {
        id: n.id,
        byzantine: this.byzantine.get(n.id) ?? null,
        up,
        slow: up && this.missed.has(n.id),
        view: s?.view ?? null,
        lastCommitted: s?.lastCommitted ?? null,
        height: app?.ledger?.height ?? null,
        rejections: s === null ? 0 : sum(s.rejections.admission) + sum(s.rejections.transport),
      };
    });
    const honest = nodes.filter((n) => n.byzantine === null);
    const blocks = Math.max(0, ...honest.map((n) => n.height ?? 0));
    const elapsedSeconds = (Date.now() - started) / 1000;
    const transactions = workload.counts.applied + workload.counts.rejected;
    return {
      protocol: 'pbft',
      running: true,
      elapsedSeconds,
      blocks,
      transactions,
      txPerSecond: elapsedSeconds > 0 ? Math.round(transactions / elapsedSeconds) : 0,
      viewChanges: Math.max(0, ...honest.map((n) => n.view ?? 0)),
      nodes,
      evidence: this.evidence(),
      recentTxIds: [...workload.counts.lastTxIds],
    };
  }

  /** The latest evidence each honest replica noted (equivocation: two signed messages). */
  private evidence(): EvidenceView[] {
    const out: EvidenceView[] = [];
    for (const [node, s] of this.statuses) {
      if (this.byzantine.has(node)) continue;
      const note = s.notes.evidence;
      if (note === undefined) continue;
      const data = note.data as {
        kind?: string;
        replica?: string;
        a?: { kind?: string; body?: { view?: number; seq?: number } };
      } | null;
      const a = data?.a;
      out.push({
        node,
        kind: data?.kind ?? 'evidence',
        culprit: data?.replica ?? '?',
        detail: `${note.count} × two different signed ${a?.kind ?? 'messages'} for one slot (latest: view ${a?.body?.view ?? '?'}, seq ${a?.body?.seq ?? '?'})`,
      });
    }
    return out;
  }

  /** The honest replica with the most stored blocks, read-only. */
  private bestLedger(): ReadOnlyLedger | null {
    let best: { id: string; height: number } | null = null;
    for (const n of this.file.nodes) {
      if (this.byzantine.has(n.id)) continue;
      const app = this.statuses.get(n.id)?.app as { ledger?: { height?: number } } | null;
      const height = app?.ledger?.height ?? 0;
      if (best === null || height > best.height) best = { id: n.id, height };
    }
    if (best === null) return null;
    let ledger = this.ledgers.get(best.id);
    if (ledger === undefined) {
      try {
        ledger = LedgerStore.openReadOnly(join(this.nodesDir, best.id));
      } catch {
        return null; // not created yet
      }
      this.ledgers.set(best.id, ledger);
    }
    return ledger;
  }

  blocks(limit: number): unknown[] {
    return (
      this.bestLedger()
        ?.latest(limit)
        .map((r) => r.block) ?? []
    );
  }

  proof(id: string): Json | null {
    const ledger = this.bestLedger();
    if (ledger === null) return null;
    return proveTx(ledger.newestFirst(), id, this.file.clusterId, nodeLedgerCrypto) as Json | null;
  }

  close(): void {
    for (const l of this.ledgers.values()) l.close();
    this.ledgers.clear();
  }
}

function sum(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}
