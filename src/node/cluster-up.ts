/**
 * `bftkit cluster up --cluster FILE --data DIR [--adversary I=NAME]…`: start every node of a
 * cluster file as a child process (`bftkit node`), print where each listens and its status
 * once it answers, report any child that dies, and stop them all on Ctrl-C or SIGTERM.
 * Each node keeps its state in DIR/<id>/ and writes its JSON-lines log to DIR/<id>.log.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadClusterFile } from '../core/cluster-file.js';
import { EXIT, InputError } from '../core/errors.js';
import { readKeyFile } from '../core/keyfile.js';
import { bftkitProcessArgs } from '../core/launcher.js';
import { parseParams } from './params.js';
import { adversaryFor, kitForCluster } from './registry.js';
import { fetchStatus, type HostStatus } from './status.js';

export interface ClusterUpOptions {
  cluster: string;
  data: string;
  adversary?: string[];
  params?: string;
  /** How long to wait for each node's /status before saying it is not up. */
  statusTimeoutMs?: number;
  out?: (line: string) => void;
  /**
   * What runs a node instead of `<node> scripts/bftkit.mjs node` (tests host a test kit this
   * way); the node's flags are appended. The cluster file's kit is then not checked here.
   */
  nodeCommand?: string[];
  /** Resolves to stop the cluster, like a signal (in-process callers). */
  stop?: Promise<unknown>;
}

interface Child {
  id: string;
  url: string;
  log: string;
  process: ChildProcess;
  exited: boolean;
}

export function parseAdversarySpecs(specs: readonly string[], ids: readonly string[]) {
  const out = new Map<string, string>();
  for (const spec of specs) {
    const match = /^([^=]+)=(.+)$/.exec(spec);
    if (match === null) throw new InputError(`--adversary: expected I=NAME, got "${spec}"`);
    const [, id, name] = match as unknown as [string, string, string];
    if (!ids.includes(id))
      throw new InputError(`--adversary: "${id}" is not a node (nodes: ${ids.join(', ')})`);
    if (out.has(id)) throw new InputError(`--adversary: node "${id}" is given twice`);
    out.set(id, name);
  }
  return out;
}

export async function clusterUp(o: ClusterUpOptions): Promise<number> {
  const print = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const checked = checkInputs(o);
  const children = spawnNodes(o, checked);
  const watch = watchChildren(children, print);
  const signalled = untilSignal(o.stop);
  print(
    `starting ${children.length} nodes of ${checked.file.protocol} cluster ${checked.file.clusterId}; data and logs in ${checked.data}`,
  );
  const reports = children.map((child) =>
    reportWhenUp(child, o.statusTimeoutMs ?? 30_000, watch.stopping, print),
  );
  const outcome = await Promise.race([
    signalled.then((s) => ({ signal: s })),
    watch.dead.then(() => ({ signal: null })),
    Promise.all(reports).then(() => null),
  ]);
  let signal: NodeJS.Signals | null;
  if (outcome === null) {
    print('cluster up; Ctrl-C stops every node');
    signal = await Promise.race([signalled, watch.dead.then(() => null)]);
  } else signal = outcome.signal;

  if (signal === null) {
    print('every node has exited');
    return EXIT.failed;
  }
  print(`${signal}: stopping every node`);
  await watch.stopAll();
  print('stopped');
  return EXIT.ok;
}

interface CheckedInputs {
  clusterPath: string;
  file: ReturnType<typeof loadClusterFile>;
  adversaries: Map<string, string>;
  data: string;
}

/** Every input checked before anything starts, so that bad input fails once and cleanly. */
function checkInputs(o: ClusterUpOptions): CheckedInputs {
  const clusterPath = resolve(o.cluster);
  const file = loadClusterFile(clusterPath);
  const ids = file.nodes.map((n) => n.id);
  const adversaries = parseAdversarySpecs(o.adversary ?? [], ids);
  if (o.nodeCommand === undefined) {
    const kit = kitForCluster(file);
    for (const name of adversaries.values()) adversaryFor(name, kit);
  }
  if (o.params !== undefined) parseParams(o.params);
  for (const id of ids) readKeyFile(join(dirname(clusterPath), `${id}.key`));
  const data = resolve(o.data);
  try {
    mkdirSync(data, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new InputError(`cannot create ${data}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  return { clusterPath, file, adversaries, data };
}

/** One `bftkit node` child per node, its output appended to DATA/<id>.log. */
function spawnNodes(o: ClusterUpOptions, { clusterPath, file, adversaries, data }: CheckedInputs) {
  return file.nodes.map((node): Child => {
    const log = join(data, `${node.id}.log`);
    const fd = openSync(log, 'a', 0o600);
    const flags = ['--cluster', clusterPath, '--id', node.id, '--data', join(data, node.id)];
    const adversary = adversaries.get(node.id);
    if (adversary !== undefined) flags.push('--adversary', adversary);
    if (o.params !== undefined) flags.push('--params', o.params);
    const args =
      o.nodeCommand !== undefined
        ? [...o.nodeCommand, ...flags]
        : bftkitProcessArgs(['node', ...flags]);
    const child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd, 'ipc'] });
    closeSync(fd);
    const host = node.host.includes(':') ? `[${node.host}]` : node.host;
    return { id: node.id, url: `http://${host}:${node.port}`, log, process: child, exited: false };
  });
}

/**
 * Says when a child exits (unless we are stopping them), resolves `dead` once all have, and
 * stops them all: SIGTERM, then SIGKILL after 5 s.
 */
function watchChildren(children: readonly Child[], print: (line: string) => void) {
  let stopping = false;
  let allDead: () => void = () => {};
  const dead = new Promise<void>((r) => {
    allDead = r;
  });
  for (const child of children) {
    child.process.on('exit', (code, signal) => {
      child.exited = true;
      if (!stopping)
        print(
          `${child.id} exited (${signal === null ? `code ${code}` : `signal ${signal}`}); see ${child.log}`,
        );
      if (children.every((c) => c.exited)) allDead();
    });
    child.process.on('error', (e) => print(`${child.id}: cannot start: ${e.message}`));
  }
  const stopAll = async () => {
    stopping = true;
    for (const c of children) if (!c.exited) c.process.kill('SIGTERM');
    const deadline = setTimeout(() => {
      for (const c of children) if (!c.exited) c.process.kill('SIGKILL');
    }, 5_000);
    await dead;
    clearTimeout(deadline);
  };
  return { dead, stopAll, stopping: () => stopping };
}

/** The first SIGINT or SIGTERM (or `stop`, for tests). */
function untilSignal(stop: Promise<unknown> | undefined): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((r) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      r(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
    stop?.then(() => on('SIGTERM'));
  });
}

/** Prints a node's addresses once its /status answers (or that it never did). */
async function reportWhenUp(
  child: Child,
  timeoutMs: number,
  stopping: () => boolean,
  print: (line: string) => void,
): Promise<void> {
  const status = await pollStatus(child, timeoutMs);
  if (stopping()) return;
  if (status === null) {
    if (!child.exited) print(`${child.id} did not answer ${child.url}/status; see ${child.log}`);
    return;
  }
  const ws = child.url.replace(/^http/, 'ws');
  print(
    `${child.id} up: ${ws}/bftkit  status ${child.url}/status  metrics ${child.url}/metrics  ` +
      `(role ${status.role ?? '-'}, incarnation ${status.incarnation}, recovered ${status.recovered})`,
  );
}

async function pollStatus(child: Child, timeoutMs: number): Promise<HostStatus | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !child.exited) {
    const status = await fetchStatus(child.url, 1_000);
    if (status !== null) return status;
    await sleep(200); // not up yet
  }
  return null;
}
