/** `bftkit keygen`: a cluster file and one 0600 secret key file per node and client. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../crypto/hex.js';
import {
  CLUSTER_FORMAT,
  type ClusterFile,
  PROTOCOL_MODELS,
  parseClusterFile,
} from './cluster-file.js';
import { InputError } from './errors.js';
import { generateKey, writeKeyFile } from './keyfile.js';
import { maxFaults } from './quorum.js';

export interface KeygenOptions {
  nodes: number;
  clients: number;
  protocol: 'pbft' | 'raft';
  basePort: number;
  host: string;
  f?: number;
  out: string;
  clusterId?: string;
  /** What the cluster replicates (default: the key-value store). */
  app?: 'kv' | 'ledger';
  /** How messages are authenticated (default: the protocol's; src/core/cluster-file.ts). */
  auth?: 'signed' | 'channel';
}

export function keygen(options: KeygenOptions): ClusterFile {
  const clusterFile = join(options.out, 'cluster.json');
  if (existsSync(clusterFile))
    throw new InputError(
      `${clusterFile} already exists; choose another --out (keys are never overwritten)`,
    );
  const model = PROTOCOL_MODELS[options.protocol];
  const f = options.f ?? maxFaults(model, options.nodes);
  const clusterId =
    options.clusterId ?? `${options.protocol}-${toHex(new Uint8Array(randomBytes(4)))}`;
  const nodeKeys = Array.from({ length: options.nodes }, (_, i) => generateKey(`n${i}`, clusterId));
  const clientKeys = Array.from({ length: options.clients }, (_, i) =>
    generateKey(`c${i}`, clusterId),
  );
  // Validate before writing anything, so a refused configuration leaves no files behind.
  const file = parseClusterFile(
    {
      format: CLUSTER_FORMAT,
      clusterId,
      protocol: options.protocol,
      ...(options.app === undefined || options.app === 'kv' ? {} : { app: options.app }),
      ...(options.auth === undefined ? {} : { auth: options.auth }),
      n: options.nodes,
      f,
      nodes: nodeKeys.map((key, i) => ({
        id: key.id,
        host: options.host,
        port: options.basePort + i,
        publicKey: toHex(key.publicKey),
      })),
      clients: clientKeys.map((key) => ({ id: key.id, publicKey: toHex(key.publicKey) })),
    },
    'keygen',
  );
  mkdirSync(options.out, { recursive: true });
  for (const key of [...nodeKeys, ...clientKeys])
    writeKeyFile(join(options.out, `${key.id}.key`), key);
  writeFileSync(clusterFile, `${JSON.stringify(file, null, 2)}\n`);
  return file;
}
