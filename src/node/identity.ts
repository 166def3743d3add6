import type { ClusterFile } from '../core/cluster-file.js';
import { InputError } from '../core/errors.js';
import type { SecretKey } from '../core/keyfile.js';
import type { NodeId } from '../core/protocol.js';
import { toHex } from '../crypto/hex.js';

export type HostRole = 'replica' | 'client';

/** Check that `id` is a `role` of the cluster and that `key` is its key; InputError if not. */
export function checkIdentity(file: ClusterFile, id: NodeId, key: SecretKey, role: HostRole) {
  const members = role === 'replica' ? file.nodes : file.clients;
  const member = members.find((m) => m.id === id);
  if (member === undefined)
    throw new InputError(
      `"${id}" is not a ${role} of cluster ${file.clusterId} (${role}s: ${members.map((m) => m.id).join(', ') || 'none'})`,
    );
  if (key.id !== id) throw new InputError(`the key file is for "${key.id}", not "${id}"`);
  if (key.clusterId !== file.clusterId)
    throw new InputError(`the key file is for cluster "${key.clusterId}", not "${file.clusterId}"`);
  if (toHex(key.publicKey) !== member.publicKey)
    throw new InputError(
      `the key file of "${id}" does not match its public key in the cluster file`,
    );
  return member;
}
