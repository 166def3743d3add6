/**
 * The attacker of `bftkit bench flood` (./flood.ts), in a process of its own as it would be
 * on a machine of its own: `bftkit bench flood-attacker` (hidden) is started by the bench
 * with an IPC channel, reports what it sent every 250 ms, and stops when told to.
 *
 *   bad-signatures    a client of the cluster sends well-formed REQUESTs with bad signatures
 *                     to every replica, as fast as its event loop goes;
 *   unauthenticated   no key: from two other loopback addresses it keeps 200 WebSocket
 *                     connections open to every replica, half of them silent and half stopped
 *                     after a hello (a half-done handshake), reopening what gets closed.
 */

import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { ClusterFile } from '../core/cluster-file.js';
import { makeSigner, signEnvelope } from '../core/envelope.js';
import { InputError } from '../core/errors.js';
import { readKeyFile } from '../core/keyfile.js';
import { fastBackend } from '../crypto/backends.js';
import { freshEphemeral } from '../net/channel.js';
import { freshNonce, HANDSHAKE_VERSION } from '../net/handshake.js';
import { WS_PATH } from '../net/transport.js';
import { ClientHost } from '../node/client-host.js';
import { kitForCluster } from '../node/registry.js';

export const PROCESS_ATTACKS = ['bad-signatures', 'unauthenticated'] as const;
export type ProcessAttack = (typeof PROCESS_ATTACKS)[number];

/** Messages from the attacker process to the bench. */
export type AttackerReport = { sent: number; ready?: true; done?: true };

interface Target {
  file: ClusterFile;
  keysDir: string;
  /** A client identity no load driver uses (bad-signatures signs in its name). */
  client: string;
}

/** Run `attack` until the parent says 'stop' on the IPC channel (or goes away). */
export async function runAttackerProcess(attack: ProcessAttack, target: Target): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined)
    throw new InputError(
      'flood-attacker: started without an IPC channel (`bench flood` starts it)',
    );
  let sent = 0;
  const count = (n: number) => {
    sent += n;
  };
  const stop =
    attack === 'bad-signatures'
      ? await badSignatures(target, count)
      : unauthenticated(target, count);
  send({ sent, ready: true } satisfies AttackerReport);
  const ticker = setInterval(() => send({ sent } satisfies AttackerReport), 250);
  await new Promise<void>((resolve) => {
    process.on('message', (m) => m === 'stop' && resolve());
    process.on('disconnect', resolve);
  });
  clearInterval(ticker);
  await stop();
  if (process.connected) send({ sent, done: true } satisfies AttackerReport);
  process.disconnect?.();
}

/** A client of the cluster sending REQUESTs with bad signatures to every replica, flat out. */
async function badSignatures(cluster: Target, count: (n: number) => void) {
  const id = cluster.client;
  const key = readKeyFile(join(cluster.keysDir, `${id}.key`));
  const host = new ClientHost({ file: cluster.file, id, key, kit: kitForCluster(cluster.file) });
  await host.waitConnected(1, 10_000).catch(() => {});
  const signer = makeSigner(id, key.seed, fastBackend);
  const domain = { cluster: cluster.file.clusterId, protocol: 'pbft' };
  // One well-formed REQUEST with a broken signature, sent under fresh link sequence numbers:
  // the replicas pay for each check, the attacker only for a string (it may share their machine).
  const request = signEnvelope(domain, signer, 'REQUEST', {
    client: id,
    timestamp: 1,
    command: { op: 'put', key: 'k', value: 'v' },
  });
  const bad = JSON.stringify({ ...request, sig: `${request.sig.slice(0, 126)}00` });
  let seq = 0;
  let running = true;
  const burst = () => {
    if (!running) return;
    let sent = 0;
    for (let k = 0; k < 64; k++) {
      seq++;
      const frame = `{"t":"d","i":${2 ** 40},"s":${seq},"b":${seq},"m":${bad}}`;
      for (const node of cluster.file.nodes) if (host.host.transport.send(node.id, frame)) sent++;
    }
    count(sent);
    // Refused everywhere (banned): wait a little instead of spinning.
    if (sent === 0) setTimeout(burst, 10);
    else setImmediate(burst);
  };
  burst();
  return async () => {
    running = false;
    await host.close();
  };
}

/** No key: silent connections and half-done handshakes from two other loopback addresses. */
function unauthenticated(cluster: Target, count: (n: number) => void) {
  const sockets = new Set<WebSocket>();
  let running = true;
  const client = cluster.file.clients[0];
  const open = (node: (typeof cluster.file.nodes)[number], index: number) => {
    if (!running) return;
    const ws = new WebSocket(`ws://${node.host}:${node.port}${WS_PATH}`, {
      localAddress: index % 2 === 0 ? '127.0.0.2' : '127.0.0.3',
      perMessageDeflate: false,
    });
    count(1);
    sockets.add(ws);
    ws.on('open', () => {
      if (index % 4 >= 2 && client !== undefined)
        ws.send(
          JSON.stringify({
            t: 'hello',
            v: HANDSHAKE_VERSION,
            cluster: cluster.file.clusterId,
            from: client.id,
            to: node.id,
            key: client.publicKey,
            nonce: freshNonce(),
            share: freshEphemeral().share,
          }),
        );
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      sockets.delete(ws);
      if (running) setTimeout(() => open(node, index), 500).unref();
    });
  };
  for (const node of cluster.file.nodes) for (let i = 0; i < 200; i++) open(node, i);
  return async () => {
    running = false;
    for (const ws of sockets) ws.terminate();
  };
}
