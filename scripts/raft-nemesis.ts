/**
 * A kill -9 nemesis on real Raft processes: `npx tsx scripts/raft-nemesis.ts [options]`.
 *
 * Starts an n-replica Raft cluster of `bftkit node` processes (each with its own SQLite data
 * directory), drives a closed-loop KV load from two clients, and every 2–5 s (seeded) kills a
 * random replica with SIGKILL and restarts it 0.3–1.5 s later from its data directory. After
 * `--seconds` it stops the nemesis, reads every key back and reports, from the replicas' logs
 * (every 'role' and 'became-leader' note is logged at info level) and their /status:
 *   the final term; candidacies (a 'role' note with role candidate: every election this
 *   replica stood in, since each raises the term and a 'role' note follows any term change);
 *   leaderships ('became-leader'); elections ('election' notes: every term raised to stand)
 *   and pre-elections ('pre-vote' notes), both read off the /status note counts polled twice
 *   a second, so the few made just before a kill may be missed; and whether the history is
 *   linearizable.
 * Measures; never asserts. Exit 1 only if the history is not linearizable or the run broke.
 *
 *   --prevote on|off      Raft's preVote option (default on)
 *   --checkquorum on|off  Raft's checkQuorum option (default on)
 *   --seconds S           length of the nemesis (default 90)
 *   --n N                 replicas (default 3)
 *   --seed K              the nemesis's and the workload's seed (default 1)
 */
import { parseArgs } from 'node:util';
import { checkLinearizability } from '../src/check/linearizability.js';
import type { HistoryEntry } from '../src/core/kit.js';
import { Rng } from '../src/core/rng.js';
import type { Json } from '../src/crypto/json.js';
import { ClientHost, RequestTimeout } from '../src/node/client-host.js';
import { findKit } from '../src/scenario/kits.js';
import {
  getStatus,
  kill9,
  killAll,
  makeCluster,
  type NodeProcess,
  sleep,
  spawnNode,
} from '../test/node/helpers.js';

const { values } = parseArgs({
  options: {
    prevote: { type: 'string', default: 'on' },
    checkquorum: { type: 'string', default: 'on' },
    seconds: { type: 'string', default: '90' },
    n: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
  },
});
const onOff = (name: string, v: string | undefined) => {
  if (v !== 'on' && v !== 'off') {
    process.stderr.write(`--${name}: expected on or off, got ${v}\n`);
    process.exit(2);
  }
  return v === 'on';
};
const positiveInt = (name: string, v: string | undefined) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) {
    process.stderr.write(`--${name}: expected a positive integer, got ${v}\n`);
    process.exit(2);
  }
  return x;
};
const preVote = onOff('prevote', values.prevote);
const checkQuorum = onOff('checkquorum', values.checkquorum);
const seconds = positiveInt('seconds', values.seconds);
const n = positiveInt('n', values.n);
const seed = positiveInt('seed', values.seed);

const kit = findKit('raft');
const params = { preVote, checkQuorum };
const cluster = await makeCluster(n, 2, 'raft');
const ids = cluster.file.nodes.map((node) => node.id);
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Counts from the replicas' JSON-line logs, over every incarnation. */
const counted = { candidacies: 0, leaderships: 0, maxTerm: 0 };
/** 'pre-vote' and 'election' counts per incarnation, from /status (the last poll before it died). */
const preVotes = new Map<string, number>();
const elections = new Map<string, number>();
const nodes = new Map<string, NodeProcess>();
let incarnation = 0;

function start(id: string): void {
  const node = spawnNode(cluster, id, { real: true, args: ['--params', JSON.stringify(params)] });
  nodes.set(id, node);
  const tag = `${id}#${++incarnation}`;
  node.child.stdout?.setEncoding('utf8');
  let partial = '';
  node.child.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"msg":"note"')) continue;
      const entry = JSON.parse(line) as { event?: string; data?: { term?: number; role?: string } };
      const term = entry.data?.term ?? 0;
      counted.maxTerm = Math.max(counted.maxTerm, term);
      if (entry.event === 'role' && entry.data?.role === 'candidate') counted.candidacies++;
      if (entry.event === 'became-leader') counted.leaderships++;
    }
  });
  const poll = async () => {
    while (
      nodes.get(id) === node &&
      node.child.exitCode === null &&
      node.child.signalCode === null
    ) {
      const status = await getStatus(cluster.port(id));
      const count = status?.notes['pre-vote']?.count;
      if (typeof count === 'number') preVotes.set(tag, count);
      const started = status?.notes.election?.count;
      if (typeof started === 'number') elections.set(tag, started);
      await sleep(500);
    }
  };
  void poll();
}

const clients: ClientHost[] = [];
const history: HistoryEntry[] = [];
const stuck: string[] = [];
let exitCode = 0;
try {
  for (const id of ids) start(id);
  for (const c of cluster.file.clients) {
    clients.push(
      new ClientHost({
        file: cluster.file,
        id: c.id,
        key: cluster.key(c.id),
        kit,
        params,
        transport: { backoff: { initialMs: 50, maxMs: 500 } },
      }),
    );
  }
  for (const c of clients) await c.waitConnected(n, 120_000);

  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const issue = async (client: ClientHost, op: Json, index: number) => {
    const entry: HistoryEntry = {
      client: client.id,
      index,
      op,
      invokedAt: now(),
      result: null,
      respondedAt: null,
    };
    history.push(entry);
    try {
      entry.result = await client.request(op, 30_000);
      entry.respondedAt = now();
      return true;
    } catch (e) {
      if (!(e instanceof RequestTimeout)) throw e;
      stuck.push(`${client.id}#${index} ${JSON.stringify(op)}`);
      return false;
    }
  };
  const workload = new Rng(seed, 7);
  const loops = clients.map(async (client) => {
    for (let index = 0; now() < seconds * 1000; index++) {
      const op = kit.nextOperation(workload, client.id, index, params);
      if (!(await issue(client, op, index))) return;
    }
  });
  const nemesis = new Rng(seed, 11);
  let kills = 0;
  const faults = (async () => {
    while (true) {
      await sleep(nemesis.int(2_000, 5_000));
      if (now() > seconds * 1000 - 2_000) return;
      const id = ids[nemesis.int(0, ids.length - 1)]!;
      await kill9(nodes.get(id)!);
      kills++;
      await sleep(nemesis.int(300, 1_500));
      start(id);
    }
  })();
  await Promise.all([...loops, faults]);
  log(`t=${Math.round(now())} nemesis over after ${kills} kills; reading every key back`);
  for (const [i, key] of ['k0', 'k1', 'k2', 'k3'].entries()) {
    await issue(clients[0]!, { op: 'get', key }, 1_000_000 + i);
  }
  await sleep(1_000); // let the last /status polls and log lines in
  const statuses = await Promise.all(ids.map((id) => getStatus(cluster.port(id))));
  const finalTerm = Math.max(...statuses.map((s) => s?.term ?? 0));
  const violations = checkLinearizability(history);
  if (violations.length > 0) exitCode = 1;
  const completed = history.filter((h) => h.respondedAt !== null).length;
  const summary = {
    preVote,
    checkQuorum,
    n,
    seed,
    seconds,
    kills,
    finalTerm,
    highestTermLogged: counted.maxTerm,
    candidacies: counted.candidacies,
    leaderships: counted.leaderships,
    elections: [...elections.values()].reduce((a, b) => a + b, 0),
    preElections: [...preVotes.values()].reduce((a, b) => a + b, 0),
    operations: history.length,
    completed,
    stuck: stuck.length,
    linearizable: violations.length === 0,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (violations.length > 0) log(JSON.stringify(violations.slice(0, 3)));
} catch (e) {
  exitCode = 1;
  log(`nemesis run broke: ${(e as Error).stack}`);
  for (const node of nodes.values()) log(`--- ${node.id}\n${node.output().slice(-3000)}`);
} finally {
  for (const c of clients) await c.close();
  nodes.clear();
  await killAll();
  cluster.cleanup();
}
process.exit(exitCode);
