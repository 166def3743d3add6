import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseClusterFile } from '../../src/core/cluster-file.js';
import { makeClusterView } from '../../src/core/cluster-view.js';
import { type ProtocolDefinition, resolveAuth } from '../../src/core/definition.js';
import {
  admitEnvelope,
  type Domain,
  KeyRing,
  makeSigner,
  unsignedEnvelope,
} from '../../src/core/envelope.js';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { toHex } from '../../src/crypto/hex.js';
import { pbftDefinition } from '../../src/pbft/messages.js';
import { raftDefinition } from '../../src/raft/messages.js';
import { registerDefinition } from '../../src/register/messages.js';
import { NodeRuntime } from '../../src/runtime/runtime.js';

const seeds = { n0: new Uint8Array(32).fill(1), n1: new Uint8Array(32).fill(2) };
const keys = new Map(Object.entries(seeds).map(([id, seed]) => [id, nodeBackend.publicKey(seed)]));
const domain: Domain = { cluster: 'alpha', protocol: 'toy' };
const toy: ProtocolDefinition = {
  name: 'toy',
  model: 'crash',
  channelAuth: true,
  messages: { PING: z.object({ n: z.number().int() }).strict() },
};

describe("auth 'channel': the authenticated link vouches for the sender", () => {
  const ring = new KeyRing(keys, nodeBackend);
  const admit = (raw: unknown, peer: string, auth: 'signed' | 'channel') =>
    admitEnvelope(JSON.parse(JSON.stringify(raw)), peer, toy, domain, ring, auth);

  it('admits an unsigned envelope from the link peer it names, without verifying', () => {
    const result = admit(unsignedEnvelope('n0', 'PING', { n: 1 }), 'n0', 'channel');
    expect(result.ok).toBe(true);
    expect(ring.verifications).toBe(0);
  });

  it('refuses an unsigned envelope that names another node than the link peer', () => {
    const result = admit(unsignedEnvelope('n0', 'PING', { n: 1 }), 'n1', 'channel');
    expect(result).toMatchObject({ ok: false, reason: 'sender-mismatch' });
  });

  it('still checks shape and kind before trusting the channel', () => {
    expect(admit(unsignedEnvelope('n0', 'PING', { n: 'x' }), 'n0', 'channel')).toMatchObject({
      ok: false,
      reason: 'bad-shape',
    });
    expect(admit(unsignedEnvelope('n0', 'PONG', { n: 1 }), 'n0', 'channel')).toMatchObject({
      ok: false,
      reason: 'unknown-kind',
    });
  });

  it("refuses an unsigned envelope in a cluster that signs ('signed')", () => {
    const result = admit(unsignedEnvelope('n0', 'PING', { n: 1 }), 'n0', 'signed');
    expect(result).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('Raft defaults to channel; PBFT and the register sign and refuse channel', () => {
    expect(resolveAuth(raftDefinition)).toBe('channel');
    expect(resolveAuth(raftDefinition, 'signed')).toBe('signed');
    expect(resolveAuth(pbftDefinition)).toBe('signed');
    expect(() => resolveAuth(pbftDefinition, 'channel')).toThrow(/refused for pbft/);
    expect(() => resolveAuth(registerDefinition, 'channel')).toThrow(/refused for/);
  });

  it("a PBFT runtime refuses auth 'channel' at construction", () => {
    const cluster = makeClusterView({
      id: 'alpha',
      protocol: 'pbft',
      model: 'byzantine',
      replicas: ['n0', 'n1', 'n2', 'n3'],
      f: 1,
    });
    const build = () =>
      new NodeRuntime(
        {
          self: 'n0',
          cluster,
          definition: pbftDefinition,
          keys: ring,
          signer: makeSigner('n0', seeds.n0, nodeBackend),
          incarnation: 1,
          auth: 'channel',
        },
        {
          now: () => 0,
          random: () => 0.5,
          transmit: () => {},
          setTimer: () => {},
          cancelTimer: () => {},
          persist: () => {},
          output: () => {},
          trace: () => {},
        },
        () => ({ start() {}, onMessage() {}, onTimer() {}, onRequest() {} }),
      );
    expect(build).toThrow(/auth 'channel' is refused for pbft/);
  });
});

describe('the cluster file says how messages are authenticated', () => {
  const file = (protocol: string, auth?: string, n = 4) => ({
    format: 'bftkit-cluster/1',
    clusterId: 'alpha',
    protocol,
    n,
    f: 1,
    ...(auth === undefined ? {} : { auth }),
    nodes: Array.from({ length: n }, (_, i) => ({
      id: `n${i}`,
      host: '127.0.0.1',
      port: 7000 + i,
      publicKey: toHex(nodeBackend.publicKey(new Uint8Array(32).fill(i + 1))),
    })),
  });

  it("accepts 'channel' and 'signed' for raft", () => {
    expect(parseClusterFile(file('raft', 'channel', 3)).auth).toBe('channel');
    expect(parseClusterFile(file('raft', 'signed', 3)).auth).toBe('signed');
  });

  it("refuses 'channel' for pbft and the register with a clear error", () => {
    expect(() => parseClusterFile(file('pbft', 'channel'))).toThrow(
      /auth: 'channel' is refused for pbft/,
    );
    expect(() => parseClusterFile(file('register', 'channel'))).toThrow(/refused for register/);
    expect(() => parseClusterFile(file('raft', 'mac', 3))).toThrow(/auth/);
  });
});
