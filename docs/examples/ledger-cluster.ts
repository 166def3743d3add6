// A signed-ledger cluster of four embedded PBFT replicas; the ledger client signs transfers
// from its own account, and each one comes back with its id, block height and outcome.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeBasePort, keygen, LedgerClient, startNode } from 'bftkit';

process.env.BFTKIT_LOG_LEVEL ??= 'warn';
const dir = mkdtempSync(join(tmpdir(), 'bftkit-ledger-'));
const file = keygen({
  nodes: 4,
  clients: 2,
  protocol: 'pbft',
  app: 'ledger',
  basePort: await freeBasePort(4),
  host: '127.0.0.1',
  out: join(dir, 'keys'),
});
const cluster = join(dir, 'keys', 'cluster.json');
const replicas = await Promise.all(
  file.nodes.map((n) => startNode({ cluster, id: n.id, data: join(dir, n.id) })),
);
const alice = await LedgerClient.open({ cluster, key: join(dir, 'keys', 'c0.key') });
try {
  for (const amount of [10, 25]) {
    const receipt = await alice.transfer('c1', amount);
    console.log(`c0 → c1 ${amount}: ${receipt.outcome.status} in block ${receipt.height}`);
  }
  const tooMuch = await alice.transfer('c1', 10 ** 9);
  console.log(`c0 → c1 10^9: ${tooMuch.outcome.status}`, tooMuch.outcome);
} finally {
  await alice.close();
  await Promise.all(replicas.map((r) => r.close()));
  rmSync(dir, { recursive: true, force: true });
}
