// Embed four PBFT replicas in this process (real WebSocket links, SQLite, /status), then put,
// get and compare-and-set through the KV client, as a client of the cluster file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchStatus, freeBasePort, KvClient, keygen, startNode } from 'bftkit';

process.env.BFTKIT_LOG_LEVEL ??= 'warn'; // the replicas log JSON lines to stdout
const dir = mkdtempSync(join(tmpdir(), 'bftkit-kv-'));
const basePort = await freeBasePort(4);
const file = keygen({
  nodes: 4,
  clients: 1,
  protocol: 'pbft',
  basePort,
  host: '127.0.0.1',
  out: join(dir, 'keys'),
});
const cluster = join(dir, 'keys', 'cluster.json');
const replicas = await Promise.all(
  file.nodes.map((n) => startNode({ cluster, id: n.id, data: join(dir, n.id) })),
);
const client = await KvClient.open({ cluster, key: join(dir, 'keys', 'c0.key') });
try {
  console.log('put', await client.put('color', 'blue'));
  console.log('get', await client.get('color'));
  console.log('cas blue→red', await client.cas('color', 'blue', 'red'));
  console.log('cas blue→green', await client.cas('color', 'blue', 'green'));
  const status = await fetchStatus(`http://127.0.0.1:${basePort}`, 2000);
  console.log(`n0 /status: ${status?.protocol}, cluster ${status?.cluster}`);
} finally {
  await client.close();
  await Promise.all(replicas.map((r) => r.close()));
  rmSync(dir, { recursive: true, force: true });
}
