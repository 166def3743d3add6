/**
 * The cluster file: who is in a cluster, where each node listens, and every public key.
 * It is the only thing an auditor needs besides the data (secret keys live in separate
 * 0600 key files). Loading validates it completely; an error names the offending field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { checkPublicKey } from '../crypto/ed25519.js';
import { fromHex } from '../crypto/hex.js';
import { type ClusterView, makeClusterView } from './cluster-view.js';
import type { AuthMode } from './definition.js';
import { InputError } from './errors.js';
import { ConfigError, checkFaultBound, type FaultModel } from './quorum.js';

export const CLUSTER_FORMAT = 'bftkit-cluster/1';

const id = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected an id like "n0" (lowercase, ≤ 32 chars)');
const publicKey = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters (32 bytes)');

export const PROTOCOL_MODELS = { pbft: 'byzantine', raft: 'crash', register: 'byzantine' } as const;
export type ClusterProtocol = keyof typeof PROTOCOL_MODELS;

/**
 * The protocols whose messages may be authenticated by the channel alone (their definitions
 * say `channelAuth: true`; src/core/definition.ts), and so default to auth 'channel'.
 */
const CHANNEL_AUTH: Readonly<Record<ClusterProtocol, boolean>> = {
  pbft: false,
  raft: true,
  register: false,
};

export const clusterFileSchema = z
  .object({
    format: z.literal(CLUSTER_FORMAT),
    clusterId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected lowercase letters, digits, dashes'),
    protocol: z.enum(['pbft', 'raft', 'register']),
    n: z.number().int().min(1).max(64),
    f: z.number().int().min(0).max(21),
    unsafe: z.boolean().default(false),
    /** What the replicas replicate: the key-value store, or the signed ledger (PBFT only). */
    app: z.enum(['kv', 'ledger']).default('kv'),
    /**
     * How replica and client messages are authenticated: 'signed' (an ed25519 signature on
     * every envelope) or 'channel' (the handshake-authenticated, MAC-protected link vouches
     * for the sender). Absent: 'channel' for raft, 'signed' for the others, which must sign.
     */
    auth: z.enum(['signed', 'channel']).optional(),
    nodes: z
      .array(
        z
          .object({
            id,
            host: z.string().min(1).max(253),
            port: z.number().int().min(1).max(65_535),
            publicKey,
          })
          .strict(),
      )
      .min(1)
      .max(64),
    clients: z.array(z.object({ id, publicKey }).strict()).max(1024).default([]),
  })
  .strict();

export type ClusterFile = z.output<typeof clusterFileSchema>;

/** Validate a parsed cluster file; throws InputError naming the field. */
export function parseClusterFile(raw: unknown, source = 'cluster file'): ClusterFile {
  const result = clusterFileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InputError(`${source}: ${jsonPath(issue.path)}: ${issue.message}`);
  }
  const file = result.data;
  const fail = (path: string, message: string): never => {
    throw new InputError(`${source}: ${path}: ${message}`);
  };
  if (file.nodes.length !== file.n) fail('n', `is ${file.n} but nodes lists ${file.nodes.length}`);
  if (file.app === 'ledger' && file.protocol !== 'pbft')
    fail('app', `the ledger runs over pbft only, not ${file.protocol}`);
  if (file.auth === 'channel' && !CHANNEL_AUTH[file.protocol])
    fail(
      'auth',
      `'channel' is refused for ${file.protocol}: its messages must convince third parties, so every one is signed`,
    );
  try {
    checkFaultBound(PROTOCOL_MODELS[file.protocol] as FaultModel, file.n, file.f, file.unsafe);
  } catch (e) {
    if (e instanceof ConfigError) fail('f', e.message);
    throw e;
  }
  const seenIds = new Map<string, string>();
  const seenKeys = new Map<string, string>();
  const seenAddresses = new Map<string, string>();
  const members = [
    ...file.nodes.map((node, i) => ({ path: `nodes[${i}]`, ...node })),
    ...file.clients.map((client, i) => ({ path: `clients[${i}]`, ...client })),
  ];
  for (const m of members) {
    const other = seenIds.get(m.id);
    if (other !== undefined) fail(`${m.path}.id`, `"${m.id}" is also used by ${other}`);
    seenIds.set(m.id, m.path);
    const sameKey = seenKeys.get(m.publicKey);
    if (sameKey !== undefined) fail(`${m.path}.publicKey`, `same key as ${sameKey}`);
    seenKeys.set(m.publicKey, m.path);
    const key = checkPublicKey(fromHex(m.publicKey));
    if (!key.ok) fail(`${m.path}.publicKey`, `${key.reason}: no signature under it can verify`);
  }
  file.nodes.forEach((node, i) => {
    const address = `${node.host}:${node.port}`;
    const other = seenAddresses.get(address);
    if (other !== undefined) fail(`nodes[${i}].port`, `${address} is also used by ${other}`);
    seenAddresses.set(address, `nodes[${i}]`);
  });
  return file;
}

export function loadClusterFile(path: string): ClusterFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(
      `cannot read cluster file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseClusterFile(raw, path);
}

/** The auth mode the cluster's nodes run with (the file's, else the protocol's default). */
export function clusterAuth(file: ClusterFile): AuthMode {
  return file.auth ?? (CHANNEL_AUTH[file.protocol] ? 'channel' : 'signed');
}

export function clusterView(file: ClusterFile): ClusterView {
  return makeClusterView({
    id: file.clusterId,
    protocol: file.protocol,
    model: PROTOCOL_MODELS[file.protocol],
    replicas: file.nodes.map((n) => n.id),
    clients: file.clients.map((c) => c.id),
    f: file.f,
    unsafe: file.unsafe,
  });
}

export function publicKeys(file: ClusterFile): Map<string, Uint8Array> {
  return new Map([...file.nodes, ...file.clients].map((m) => [m.id, fromHex(m.publicKey)]));
}

/** `$.nodes[2].publicKey` — the path of a field in JSON, as people write it. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  return out;
}
