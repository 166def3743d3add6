/**
 * `bftkit node --cluster FILE --id I --data DIR [--key FILE] [--adversary NAME]`: run one
 * replica of a cluster in this process until SIGTERM or SIGINT. The key defaults to
 * `<directory of the cluster file>/<id>.key` and must be readable by its owner only (it is
 * never chmod'ed here: fix its mode yourself). Bad input exits 2 before anything listens.
 */
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { loadClusterFile } from '../core/cluster-file.js';
import { EXIT, InputError } from '../core/errors.js';
import { readKeyFile } from '../core/keyfile.js';
import type { ProtocolKit } from '../core/kit.js';
import { ProcessHost } from '../node/host.js';
import { checkIdentity } from '../node/identity.js';
import { LedgerSink } from '../node/ledger-sink.js';
import { processLogger } from '../node/logging.js';
import { parseParams } from '../node/params.js';
import { adversaryFor, kitForCluster } from '../node/registry.js';
import { SqliteStore } from '../node/storage.js';

export interface NodeCommandOptions {
  cluster: string;
  id: string;
  data: string;
  key?: string;
  adversary?: string;
  /** Protocol parameters as a JSON object (timeouts, …), as in a scenario file. */
  params?: string;
}

export interface NodeOverrides {
  /** Host this kit instead of the one the cluster file's protocol names (tests). */
  kit?: ProtocolKit;
  logger?: Logger;
}

/** Validate everything, open the store, listen and start; returns the running host. */
export async function startNode(
  o: NodeCommandOptions,
  overrides: NodeOverrides = {},
): Promise<ProcessHost> {
  const file = loadClusterFile(o.cluster);
  if (!file.nodes.some((n) => n.id === o.id))
    throw new InputError(
      `--id: "${o.id}" is not a node of ${o.cluster} (nodes: ${file.nodes.map((n) => n.id).join(', ')})`,
    );
  const key = readKeyFile(o.key ?? join(dirname(o.cluster), `${o.id}.key`));
  const kit = overrides.kit ?? kitForCluster(file);
  const params = parseParams(o.params);
  // Refuse bad input before the store counts a start.
  checkIdentity(file, o.id, key, 'replica');
  const adversary = o.adversary === undefined ? null : adversaryFor(o.adversary, kit);
  const store = new SqliteStore(o.data, { cluster: file.clusterId, node: o.id });
  const logger = overrides.logger ?? processLogger();
  let ledger: LedgerSink | null = null;
  let host: ProcessHost;
  try {
    if (file.app === 'ledger') ledger = new LedgerSink(o.data, file, o.id, logger);
    host = new ProcessHost({
      file,
      id: o.id,
      key,
      role: 'replica',
      kit,
      params,
      adversary,
      store,
      logger,
      ...(ledger === null
        ? {}
        : {
            onOutput: (event) => ledger?.onOutput(event),
            appStatus: () => ({ ledger: ledger?.status() ?? null }),
            appRoutes: {
              '/ledger/blocks': (query: URLSearchParams) => ledger?.serveBlocks(query) ?? null,
            },
          }),
    });
  } catch (e) {
    ledger?.close();
    store.close();
    throw e;
  }
  if (ledger !== null) {
    const sink = ledger;
    host.onClose(() => sink.close());
  }
  try {
    await host.listen();
  } catch (e) {
    await host.close();
    throw e;
  }
  host.start();
  return host;
}

/** `bftkit node`: run until SIGTERM/SIGINT, then shut down cleanly. */
export async function runNode(
  o: NodeCommandOptions,
  overrides: NodeOverrides = {},
): Promise<number> {
  const host = await startNode(o, overrides);
  const address = host.status().listen;
  process.stderr.write(
    `bftkit node ${o.id}: listening on ws://${address?.host}:${address?.port}/bftkit (status: http://${address?.host}:${address?.port}/status)\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (reason: string) => {
      host.log.info({ reason }, 'shutting down');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // Started by `bftkit cluster up` (or a test) over an IPC channel: stop with the parent.
    if (process.channel !== undefined) {
      process.channel.unref();
      process.once('disconnect', () => stop('parent exited'));
    }
  });
  await host.close();
  // Everything is closed; if some handle still lingers, do not hang on it.
  setTimeout(() => process.exit(EXIT.ok), 2_000).unref();
  return EXIT.ok;
}
