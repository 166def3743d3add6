/**
 * `bftkit client --cluster FILE --key KEYFILE [--timeout MS] [--json] OP ARGS…`: one KV
 * operation against a running cluster, as the client whose key file is given.
 *
 *   put KEY VALUE        set KEY to VALUE
 *   get KEY              print KEY's value
 *   cas KEY FROM TO      set KEY to TO if its value is FROM; FROM "-" means "KEY is absent"
 *                        (so a CAS from the one-character value "-" cannot be written here)
 *
 * The client is a ClientHost (src/node/client-host.ts) running the kit's client core for the
 * cluster's protocol over the authenticated transport: for PBFT it signs the request and
 * accepts a result on f+1 matching signed replies; for Raft it follows the replicas'
 * redirects to the leader. A value that starts with "-" goes after "--".
 *
 * Exit codes: 0 success; 1 a definite failure (the CAS found another value, the key of a get
 * is absent); 2 bad input (unknown client id, unreadable key file, bad arguments); 3 no answer
 * within --timeout (default 5000 ms; e.g. the cluster is down).
 *
 * Request numbers must grow from one invocation to the next. With --data DIR the client keeps
 * its counter in DIR (like a node); without it the counter starts from the wall clock in
 * microseconds, which grows as long as the clock does.
 */
import type { ClusterFile } from '../core/cluster-file.js';
import { loadClusterFile } from '../core/cluster-file.js';
import { EXIT, InputError } from '../core/errors.js';
import { readKeyFile } from '../core/keyfile.js';
import type { Json } from '../crypto/json.js';
import { ClientHost, RequestTimeout } from '../node/client-host.js';
import { ClockStore, COUNTER_KEY } from '../node/clock-store.js';
import { checkIdentity } from '../node/identity.js';
import { parseOperation } from '../node/kv-operation.js';
import { parseParams } from '../node/params.js';
import { kitForCluster } from '../node/registry.js';
import { SqliteStore, type Store } from '../node/storage.js';
import type { KvCommand, KvResult } from '../smr/kv.js';

export interface ClientCommandOptions {
  cluster: string;
  key: string;
  timeout: number;
  json?: boolean;
  data?: string;
  params?: string;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

/** What the operation's result means for the exit code, and how it is printed. */
function judge(command: KvCommand, result: KvResult): { ok: boolean; text: string } {
  const shown = result.value === null ? '(absent)' : result.value;
  switch (command.op) {
    case 'put':
      return { ok: result.ok, text: result.ok ? 'ok' : `failed: ${shown}` };
    case 'get':
      return result.value === null
        ? { ok: false, text: `${command.key}: absent` }
        : { ok: true, text: result.value };
    case 'cas':
      return result.ok
        ? { ok: true, text: 'ok' }
        : { ok: false, text: `mismatch: ${command.key} is ${shown}` };
  }
}

async function connect(client: ClientHost, file: ClusterFile, deadline: number): Promise<void> {
  // Wait for every replica, but not long once enough are up to be answered.
  const enough = file.protocol === 'raft' ? 1 : file.n - file.f;
  let enoughSince: number | null = null;
  while (Date.now() < deadline) {
    const up = client.connected().length;
    if (up >= file.n) return;
    if (up >= enough) {
      enoughSince ??= Date.now();
      if (Date.now() - enoughSince > 300) return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function clientCommand(
  op: string,
  args: readonly string[],
  o: ClientCommandOptions,
): Promise<number> {
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = o.err ?? ((line: string) => process.stderr.write(`bftkit: ${line}\n`));
  const command = parseOperation(op, args);
  const file = loadClusterFile(o.cluster);
  if (COUNTER_KEY[file.protocol] === undefined)
    throw new InputError(`bftkit client speaks to pbft and raft clusters, not ${file.protocol}`);
  const key = readKeyFile(o.key);
  if (key.clusterId !== file.clusterId)
    throw new InputError(
      `the key file is for cluster "${key.clusterId}", not "${file.clusterId}" (${o.key})`,
    );
  checkIdentity(file, key.id, key, 'client');
  const kit = kitForCluster(file);
  const params = parseParams(o.params);
  const store: Store =
    o.data === undefined
      ? new ClockStore(file.protocol)
      : new SqliteStore(o.data, { cluster: file.clusterId, node: key.id });
  const deadline = Date.now() + o.timeout;
  const client = new ClientHost({
    file,
    id: key.id,
    key,
    kit,
    params,
    store,
    transport: { backoff: { initialMs: 50, maxMs: 500 } },
  });
  try {
    await connect(client, file, deadline);
    let result: Json;
    try {
      result = await client.request(command, Math.max(1, deadline - Date.now()));
    } catch (e) {
      if (!(e instanceof RequestTimeout)) throw e;
      const up = client.connected().length;
      const message = `no answer from cluster ${file.clusterId} within ${o.timeout} ms (${up}/${file.n} replicas reachable)`;
      if (o.json === true)
        out(JSON.stringify({ ...command, ok: false, error: 'timeout', message }));
      else err(message);
      return EXIT.timeout;
    }
    const verdict = judge(command, result as KvResult);
    if (o.json === true) {
      out(JSON.stringify({ ...command, ok: verdict.ok, value: (result as KvResult).value }));
    } else if (verdict.ok) out(verdict.text);
    else err(verdict.text);
    return verdict.ok ? EXIT.ok : EXIT.failed;
  } finally {
    await client.close();
  }
}
