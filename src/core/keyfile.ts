/**
 * Secret key files: one per node or client, JSON, created with mode 0600 and never logged.
 * A key file holds the 32-byte ed25519 seed; the public key is stored beside it so a
 * mismatched or corrupted file is detected on load rather than when signatures start failing.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { fastBackend } from '../crypto/backends.js';
import { fromHex, toHex } from '../crypto/hex.js';
import { InputError } from './errors.js';

export const KEY_FORMAT = 'bftkit-secret-key/1';

const keyFileSchema = z
  .object({
    format: z.literal(KEY_FORMAT),
    id: z.string().min(1).max(32),
    clusterId: z.string().min(1).max(64),
    seed: z.string().regex(/^[0-9a-f]{64}$/),
    publicKey: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

export interface SecretKey {
  id: string;
  clusterId: string;
  seed: Uint8Array;
  publicKey: Uint8Array;
}

export function generateKey(id: string, clusterId: string): SecretKey {
  const seed = new Uint8Array(randomBytes(32));
  return { id, clusterId, seed, publicKey: fastBackend.publicKey(seed) };
}

/** Write a key file readable by its owner only (mode 0600 from creation, no window). */
export function writeKeyFile(path: string, key: SecretKey): void {
  const text = JSON.stringify(
    {
      format: KEY_FORMAT,
      id: key.id,
      clusterId: key.clusterId,
      seed: toHex(key.seed),
      publicKey: toHex(key.publicKey),
    },
    null,
    2,
  );
  writeFileSync(path, `${text}\n`, { mode: 0o600, flag: 'wx' });
}

export function readKeyFile(path: string): SecretKey {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(`cannot read key file ${path}: ${(e as Error).message}`);
  }
  const parsed = keyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if ((statSync(path).mode & 0o077) !== 0)
    throw new InputError(`${path}: secret key file is readable by others (chmod 600 it)`);
  const seed = fromHex(parsed.data.seed);
  const publicKey = fastBackend.publicKey(seed);
  if (toHex(publicKey) !== parsed.data.publicKey)
    throw new InputError(`${path}: publicKey does not match the seed`);
  return { id: parsed.data.id, clusterId: parsed.data.clusterId, seed, publicKey };
}
