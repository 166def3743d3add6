/**
 * The load of `bench cluster`: clients in worker threads, so that one event loop does not cap
 * it. Each client keeps one request outstanding (put k → v, wait for the reply, repeat); every
 * request is signed by its client and every reply checked, exactly as in production.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ClusterFile } from '../core/cluster-file.js';
import { readKeyFile } from '../core/keyfile.js';
import type { Params } from '../core/kit.js';
import { workerScript } from '../core/launcher.js';
import type { Json } from '../crypto/json.js';
import { ClientHost, RequestTimeout } from '../node/client-host.js';
import { kitForCluster } from '../node/registry.js';

const REQUEST_TIMEOUT_MS = 10_000;

export interface DriverInit {
  role: 'bftkit-bench-driver';
  entry: string;
  file: ClusterFile;
  keysDir: string;
  clients: string[];
  params: Params;
}

export type DriverCommand = { type: 'run'; warmupMs: number; windowMs: number } | { type: 'close' };

export type DriverReport =
  | { type: 'connected' }
  | { type: 'error'; message: string }
  | { type: 'done'; latencies: number[]; ops: number; timeouts: number }
  | { type: 'closed' };

/** One closed loop per client: put k → v, wait for the reply, repeat. */
async function driveClients(
  clients: readonly ClientHost[],
  warmupMs: number,
  windowMs: number,
): Promise<{ latencies: number[]; ops: number; timeouts: number }> {
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  const windowEnd = windowStart + windowMs;
  const latencies: number[] = [];
  let ops = 0;
  let timeouts = 0;
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = 0; performance.now() < windowEnd; i++) {
        const op: Json = { op: 'put', key: `k${c}`, value: `${client.id}.${i}` };
        const start = performance.now();
        try {
          await client.request(op, REQUEST_TIMEOUT_MS);
        } catch (e) {
          if (!(e instanceof RequestTimeout)) throw e;
          timeouts++;
          return;
        }
        const end = performance.now();
        if (end >= windowStart && end < windowEnd) ops++;
        if (start >= windowStart && end < windowEnd) latencies.push(end - start);
      }
    }),
  );
  return { latencies, ops, timeouts };
}

function makeClients(init: Omit<DriverInit, 'role' | 'entry'>): ClientHost[] {
  const kit = kitForCluster(init.file);
  return init.clients.map(
    (id) =>
      new ClientHost({
        file: init.file,
        id,
        key: readKeyFile(join(init.keysDir, `${id}.key`)),
        kit,
        params: init.params,
        transport: { backoff: { initialMs: 50, maxMs: 500 } },
      }),
  );
}

async function driverMain(init: DriverInit): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const post = (report: DriverReport) => port.postMessage(report);
  let clients: ClientHost[] = [];
  try {
    clients = makeClients(init);
    await Promise.all(clients.map((c) => c.waitConnected(undefined, 30_000)));
    post({ type: 'connected' });
  } catch (e) {
    post({ type: 'error', message: (e as Error).message });
  }
  port.on('message', (command: DriverCommand) => {
    if (command.type === 'run') {
      driveClients(clients, command.warmupMs, command.windowMs).then(
        (r) => post({ type: 'done', ...r }),
        (e: Error) => post({ type: 'error', message: e.message }),
      );
    } else {
      Promise.all(clients.map((c) => c.close())).finally(() => {
        post({ type: 'closed' });
        port.close();
      });
    }
  });
}

if (!isMainThread && (workerData as DriverInit | undefined)?.role === 'bftkit-bench-driver') {
  void driverMain(workerData as DriverInit);
}

export class Driver {
  private readonly worker: Worker;
  private readonly reports: DriverReport[] = [];
  private waiting: ((r: DriverReport) => void) | null = null;

  constructor(init: Omit<DriverInit, 'role' | 'entry'>) {
    const { script, entry } = workerScript(import.meta.url, './driver');
    const data: DriverInit = { role: 'bftkit-bench-driver', entry, ...init };
    this.worker = new Worker(script, {
      workerData: data,
      stdout: false,
      stderr: false,
    });
    this.worker.on('message', (r: DriverReport) => this.push(r));
    this.worker.on('error', (e) => this.push({ type: 'error', message: e.message }));
    this.worker.on('exit', () => this.push({ type: 'closed' }));
  }

  private push(report: DriverReport): void {
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting(report);
    } else this.reports.push(report);
  }

  next(): Promise<DriverReport> {
    const report = this.reports.shift();
    if (report !== undefined) return Promise.resolve(report);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  send(command: DriverCommand): void {
    this.worker.postMessage(command);
  }

  async close(): Promise<void> {
    this.send({ type: 'close' });
    const stop = sleep(5_000).then(() => this.worker.terminate());
    for (;;) {
      const r = await Promise.race([this.next(), stop.then(() => ({ type: 'closed' }) as const)]);
      if (r.type === 'closed') break;
    }
  }
}
