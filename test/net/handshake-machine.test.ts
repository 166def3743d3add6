/**
 * The handshake's state machines (src/net/handshake-machine.ts) driven directly, without a
 * socket: every rule either side enforces, each with the refusal it counts and the actions it
 * asks for, and an honest dialer and acceptor talking to each other.
 */
import { describe, expect, it } from 'vitest';
import { makeSigner } from '../../src/core/envelope.js';
import { generateKey } from '../../src/core/keyfile.js';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { toHex } from '../../src/crypto/hex.js';
import { freshEphemeral } from '../../src/net/channel.js';
import { freshNonce, proofDigest } from '../../src/net/handshake.js';
import {
  type AcceptorAction,
  type AcceptorContext,
  type AcceptorState,
  acceptorStep,
  type Candidate,
  CLOSE_REFUSED,
  type DialerAction,
  type DialerContext,
  type DialerState,
  dialerStep,
  type HandshakeEvent,
  type HandshakeFrame,
  HELLO_TIMEOUT_MS,
  type Step,
  startAcceptor,
  startDialer,
} from '../../src/net/handshake-machine.js';

const CLUSTER = 'test-cluster';
const T0 = 1_000_000;
const keys = {
  n0: generateKey('n0', CLUSTER),
  n1: generateKey('n1', CLUSTER),
  n2: generateKey('n2', CLUSTER),
  c0: generateKey('c0', CLUSTER),
};
type Id = keyof typeof keys;

function side(self: Id) {
  return {
    cluster: CLUSTER,
    self,
    publicKeyHex: toHex(keys[self].publicKey),
    signer: makeSigner(self, keys[self].seed, nodeBackend),
    backend: nodeBackend,
    handshakeTimeoutMs: 5_000,
    nonce: freshNonce(),
    ephemeral: freshEphemeral(),
  };
}

/** n1 accepts: c0 and n0 (ranked before it) may dial it; n2 (ranked after) may not. */
function acceptorCtx(over: Partial<Record<Id, Partial<Candidate<string>>>> = {}) {
  const members = new Map<string, Candidate<string>>();
  for (const id of ['n0', 'n2', 'c0'] as const)
    members.set(id, {
      peer: id,
      publicKey: keys[id].publicKey,
      mayAccept: id !== 'n2',
      bannedUntil: 0,
      ...over[id],
    });
  const ctx: AcceptorContext<string> = { ...side('n1'), lookup: (id) => members.get(id) };
  return ctx;
}

function dialerCtx(self: Id = 'c0', to: Id = 'n1'): DialerContext {
  return { ...side(self), peer: to, peerKey: keys[to].publicKey };
}

function text(message: unknown): HandshakeFrame {
  const t = typeof message === 'string' ? message : JSON.stringify(message);
  return { binary: false, size: Buffer.byteLength(t), text: () => t };
}

function frame(message: unknown, now = T0): HandshakeEvent {
  return { type: 'frame', frame: text(message), now };
}

type AnyAction = DialerAction | AcceptorAction<string>;

function sent(actions: readonly AnyAction[]): Record<string, unknown>[] {
  return actions.flatMap((a) => (a.type === 'send' ? [JSON.parse(a.text)] : []));
}

function reasons(actions: readonly AnyAction[]): string[] {
  return actions.flatMap((a) => (a.type === 'reject' ? [a.reason] : []));
}

function helloFrom(d: DialerContext, over: Record<string, unknown> = {}) {
  const [send] = sent(dialerStep(d, startDialer(d).state, { type: 'opened' }).actions);
  return { ...send, ...over };
}

/** Run the acceptor through a list of events, from its start at T0. */
function runAcceptor(ctx: AcceptorContext<string>, ...events: HandshakeEvent[]) {
  let step: Step<AcceptorState<string>, AcceptorAction<string>> = startAcceptor(ctx, T0);
  const all: AcceptorAction<string>[] = [...step.actions];
  for (const e of events) {
    step = acceptorStep(ctx, step.state, e);
    all.push(...step.actions);
  }
  return { state: step.state, last: step.actions, all };
}

function refusal(reason: string, failed: boolean): AcceptorAction<string>[] {
  return [
    { type: 'release' },
    { type: 'strike', failed },
    expect.objectContaining({ type: 'reject', reason }),
    { type: 'close', code: CLOSE_REFUSED, reason },
  ];
}

/** c0's proof for `challenge` as a dialer with `d`'s nonce and share, signed with `seed`. */
function dialerProof(
  d: { nonce: string; ephemeral: { share: string } },
  challenge: Record<string, string>,
  seed: Uint8Array,
): string {
  const digest = proofDigest({
    role: 'dialer',
    cluster: CLUSTER,
    dialer: 'c0',
    acceptor: 'n1',
    dialerNonce: d.nonce,
    acceptorNonce: challenge.nonce as string,
    dialerShare: d.ephemeral.share,
    acceptorShare: challenge.share as string,
  });
  return toHex(nodeBackend.sign(seed, digest));
}

describe('an honest dialer and acceptor', () => {
  it('reach a shared MAC channel, each established with the other', () => {
    const a = acceptorCtx();
    const d = dialerCtx('c0', 'n1');
    let ds: Step<DialerState, DialerAction> = startDialer(d);
    expect(ds.actions).toEqual([{ type: 'arm', timer: 'handshake', ms: 5_000 }]);
    ds = dialerStep(d, ds.state, { type: 'opened' });
    const [hello] = sent(ds.actions);
    expect(hello).toMatchObject({ t: 'hello', v: 2, from: 'c0', to: 'n1', nonce: d.nonce });

    const afterHello = runAcceptor(a, frame(hello));
    expect(afterHello.state.stage).toBe('auth');
    expect(afterHello.last[0]).toEqual({ type: 'disarm', timer: 'hello' });
    const [challenge] = sent(afterHello.last);
    ds = dialerStep(d, ds.state, frame(challenge));
    expect(ds.state.stage).toBe('welcome');
    const [auth] = sent(ds.actions);

    const afterAuth = acceptorStep(a, afterHello.state, frame(auth));
    expect(afterAuth.state.stage).toBe('open');
    const [welcome] = sent(afterAuth.actions);
    expect(welcome).toEqual({ t: 'welcome' });
    const acceptorEnd = afterAuth.actions.find((x) => x.type === 'established');
    expect(acceptorEnd).toMatchObject({ peer: 'c0' });
    expect(afterAuth.actions.filter((x) => x.type === 'release')).toHaveLength(1);

    ds = dialerStep(d, ds.state, frame(welcome));
    const dialerEnd = ds.actions.find((x) => x.type === 'established');
    expect(dialerEnd).toMatchObject({ peer: 'n1' });
    expect(ds.actions[0]).toEqual({ type: 'disarm', timer: 'handshake' });
    if (dialerEnd?.type !== 'established' || acceptorEnd?.type !== 'established')
      throw new Error('not established');
    expect(acceptorEnd.channel.open(dialerEnd.channel.seal('ping'))).toBe('ping');
    expect(dialerEnd.channel.open(acceptorEnd.channel.seal('pong'))).toBe('pong');
  });
});

describe('the acceptor', () => {
  it('arms the handshake deadline and the hello deadline when it accepts', () => {
    expect(startAcceptor(acceptorCtx(), T0).actions).toEqual([
      { type: 'arm', timer: 'handshake', ms: 5_000 },
      { type: 'arm', timer: 'hello', ms: HELLO_TIMEOUT_MS },
    ]);
  });

  it('refuses a binary message, and an oversized one without decoding it', () => {
    const a = acceptorCtx();
    const binary = { binary: true, size: 10, text: () => '' };
    expect(runAcceptor(a, { type: 'frame', frame: binary, now: T0 }).last).toEqual(
      refusal('malformed', true),
    );
    const huge = {
      binary: false,
      size: 4097,
      text: () => {
        throw new Error('decoded an oversized message');
      },
    };
    expect(runAcceptor(a, { type: 'frame', frame: huge, now: T0 }).last).toEqual(
      refusal('too-large', true),
    );
    expect(runAcceptor(a, { type: 'oversized' }).last).toEqual(refusal('too-large', true));
  });

  it('refuses a hello of another version as such, and what is no hello as malformed', () => {
    const a = acceptorCtx();
    const d = dialerCtx();
    expect(runAcceptor(a, frame(helloFrom(d, { v: 1 }))).last).toEqual(
      refusal('wrong-version', true),
    );
    expect(runAcceptor(a, frame('not json')).last).toEqual(refusal('malformed', true));
    expect(runAcceptor(a, frame(helloFrom(d, { extra: 1 }))).last).toEqual(
      refusal('malformed', true),
    );
  });

  it('refuses the wrong cluster and the wrong target, naming the claimed id', () => {
    const a = acceptorCtx();
    const d = dialerCtx();
    const cluster = runAcceptor(a, frame(helloFrom(d, { cluster: 'other' }))).last;
    expect(cluster).toEqual(refusal('wrong-cluster', true));
    expect(cluster[2]).toMatchObject({ claimed: 'c0' });
    expect(runAcceptor(a, frame(helloFrom(d, { to: 'n2' }))).last).toEqual(
      refusal('wrong-target', true),
    );
  });

  it('refuses an id not in the cluster file (itself included), and a key not listed for the id', () => {
    const a = acceptorCtx();
    const stranger = { ...dialerCtx(), self: 'x9' };
    expect(runAcceptor(a, frame(helloFrom(stranger, { from: 'x9' }))).last).toEqual(
      refusal('unknown-peer', true),
    );
    expect(runAcceptor(a, frame(helloFrom(dialerCtx('n1', 'n1')))).last).toEqual(
      refusal('unknown-peer', true),
    );
    const impostor = { ...dialerCtx(), publicKeyHex: toHex(keys.n2.publicKey) };
    expect(runAcceptor(a, frame(helloFrom(impostor))).last).toEqual(refusal('key-mismatch', true));
  });

  it('refuses a replica that must wait for our dial, and a banned peer, without a strike', () => {
    expect(runAcceptor(acceptorCtx(), frame(helloFrom(dialerCtx('n2')))).last).toEqual(
      refusal('wrong-direction', false),
    );
    const banned = acceptorCtx({ c0: { bannedUntil: T0 + 1 } });
    expect(runAcceptor(banned, frame(helloFrom(dialerCtx()), T0)).last).toEqual(
      refusal('banned', false),
    );
    // The ban is over at its end: `now` decides.
    expect(runAcceptor(banned, frame(helloFrom(dialerCtx()), T0 + 1)).state.stage).toBe('auth');
  });

  it('refuses a proof signed with a key other than the listed one', () => {
    const a = acceptorCtx();
    const d = dialerCtx();
    const { state, last } = runAcceptor(a, frame(helloFrom(d)));
    const challenge = sent(last)[0] as Record<string, string>;
    const other = generateKey('c0', CLUSTER);
    const sig = dialerProof(d, challenge, other.seed);
    const step = acceptorStep(a, state, frame({ t: 'auth', sig }));
    expect(step.actions).toEqual(refusal('bad-signature', true));
    expect(step.actions[2]).toMatchObject({ claimed: 'c0' });
  });

  it('refuses a replayed proof: its own nonce is fresh in every handshake', () => {
    const d = dialerCtx();
    const hello = helloFrom(d);
    const first = runAcceptor(acceptorCtx(), frame(hello));
    const dialed = dialerStep(d, { stage: 'challenge' }, frame(sent(first.last)[0]));
    const [auth] = sent(dialed.actions);
    expect(acceptorStep(acceptorCtx(), first.state, frame(auth)).state.stage).toBe('open');
    const again = runAcceptor(acceptorCtx(), frame(hello));
    expect(acceptorStep(acceptorCtx(), again.state, frame(auth)).actions).toEqual(
      refusal('bad-signature', true),
    );
  });

  it('refuses a reflected proof: its own acceptor proof is no dialer proof', () => {
    const a = acceptorCtx();
    const { state, last } = runAcceptor(a, frame(helloFrom(dialerCtx())));
    const challenge = sent(last)[0] as Record<string, string>;
    expect(acceptorStep(a, state, frame({ t: 'auth', sig: challenge.sig })).actions).toEqual(
      refusal('bad-signature', true),
    );
  });

  it('refuses a share of small order, whose shared secret anyone knows', () => {
    const a = acceptorCtx();
    const d = { ...dialerCtx(), ephemeral: { ...freshEphemeral(), share: '00'.repeat(32) } };
    const { state, last } = runAcceptor(a, frame(helloFrom(d)));
    const challenge = sent(last)[0] as Record<string, string>;
    const sig = dialerProof(d, challenge, keys.c0.seed);
    expect(acceptorStep(a, state, frame({ t: 'auth', sig })).actions).toEqual(
      refusal('bad-share', true),
    );
  });

  it('refuses a second hello where the auth is due, as malformed', () => {
    const a = acceptorCtx();
    const hello = helloFrom(dialerCtx());
    expect(runAcceptor(a, frame(hello), frame(hello)).last).toEqual(refusal('malformed', true));
  });

  it('refuses when the handshake deadline passes, in either stage', () => {
    const a = acceptorCtx();
    const timer: HandshakeEvent = { type: 'timer', timer: 'handshake', now: T0 + 5_000 };
    expect(runAcceptor(a, timer).last).toEqual(refusal('timeout', true));
    const late = runAcceptor(a, frame(helloFrom(dialerCtx())), timer).last;
    expect(late).toEqual(refusal('timeout', true));
    expect(late[2]).toMatchObject({ claimed: 'c0' });
  });

  it('refuses a connection silent past the hello deadline, unless the deadline fired late', () => {
    const a = acceptorCtx();
    const onTime: HandshakeEvent = { type: 'timer', timer: 'hello', now: T0 + HELLO_TIMEOUT_MS };
    const silent = runAcceptor(a, onTime).last;
    expect(silent).toEqual(refusal('timeout', true));
    expect(silent[2]).toMatchObject({ detail: `no hello within ${HELLO_TIMEOUT_MS} ms` });
    // Starved: fired more than two periods after it was armed. Another period, no verdict.
    const starved = T0 + 2 * HELLO_TIMEOUT_MS + 1;
    const rearmed = runAcceptor(a, { type: 'timer', timer: 'hello', now: starved });
    expect(rearmed.last).toEqual([{ type: 'arm', timer: 'hello', ms: HELLO_TIMEOUT_MS }]);
    // The new period counts from the re-arm.
    const next: HandshakeEvent = { type: 'timer', timer: 'hello', now: starved + HELLO_TIMEOUT_MS };
    expect(acceptorStep(a, rearmed.state, next).actions).toEqual(refusal('timeout', true));
    // Once the hello is in, the hello deadline judges nobody.
    expect(runAcceptor(a, frame(helloFrom(dialerCtx())), onTime).last).toEqual([]);
  });

  it('counts a close during the handshake, frees its slot once, and ignores what follows a refusal', () => {
    const a = acceptorCtx();
    const closed: HandshakeEvent = { type: 'closed', code: 1006, reason: '' };
    const disarm = [
      { type: 'disarm', timer: 'handshake' },
      { type: 'disarm', timer: 'hello' },
    ];
    expect(runAcceptor(a, closed).last).toEqual([
      ...disarm,
      { type: 'release' },
      { type: 'reject', reason: 'closed', detail: 'closed during the handshake', claimed: null },
    ]);
    const refused = runAcceptor(a, frame('junk'), frame(helloFrom(dialerCtx())), closed);
    expect(refused.all.filter((x) => x.type === 'release')).toHaveLength(1);
    expect(reasons(refused.all)).toEqual(['malformed']);
    expect(refused.last).toEqual(disarm);
  });
});

describe('the dialer', () => {
  /** An acceptor's challenge to `d`, made by hand so that any part of it can be wrong. */
  function challengeTo(
    d: DialerContext,
    over: { from?: Id; key?: Id; signedBy?: Id; role?: 'acceptor' | 'dialer'; share?: string },
  ) {
    const ephemeral = freshEphemeral();
    const nonce = freshNonce();
    const share = over.share ?? ephemeral.share;
    const digest = proofDigest({
      role: over.role ?? 'acceptor',
      cluster: CLUSTER,
      dialer: d.self,
      acceptor: d.peer,
      dialerNonce: d.nonce,
      acceptorNonce: nonce,
      dialerShare: d.ephemeral.share,
      acceptorShare: share,
    });
    return {
      t: 'challenge',
      from: over.from ?? d.peer,
      key: toHex(keys[over.key ?? (d.peer as Id)].publicKey),
      nonce,
      share,
      sig: toHex(nodeBackend.sign(keys[over.signedBy ?? (d.peer as Id)].seed, digest)),
    };
  }

  function dialerRefusal(reason: string): DialerAction[] {
    return [
      expect.objectContaining({ type: 'reject', reason, claimed: null }),
      { type: 'close', code: CLOSE_REFUSED, reason },
    ];
  }

  const challenge: DialerState = { stage: 'challenge' };

  it('accepts an honest challenge and answers with its proof', () => {
    const d = dialerCtx();
    const step = dialerStep(d, challenge, frame(challengeTo(d, {})));
    expect(step.state.stage).toBe('welcome');
    expect(sent(step.actions)).toEqual([
      { t: 'auth', sig: expect.stringMatching(/^[0-9a-f]{128}$/) },
    ]);
  });

  it('refuses an answer from someone other than whom it dialed', () => {
    const d = dialerCtx();
    const step = dialerStep(
      d,
      challenge,
      frame(challengeTo(d, { from: 'n2', key: 'n2', signedBy: 'n2' })),
    );
    expect(step.actions).toEqual(dialerRefusal('wrong-peer'));
  });

  it('refuses a key not the listed one, and a proof that does not verify under it', () => {
    const d = dialerCtx();
    expect(dialerStep(d, challenge, frame(challengeTo(d, { key: 'n2' }))).actions).toEqual(
      dialerRefusal('key-mismatch'),
    );
    expect(dialerStep(d, challenge, frame(challengeTo(d, { signedBy: 'n2' }))).actions).toEqual(
      dialerRefusal('bad-signature'),
    );
    expect(dialerStep(d, challenge, frame(challengeTo(d, { role: 'dialer' }))).actions).toEqual(
      dialerRefusal('bad-signature'),
    );
  });

  it('refuses a share of small order', () => {
    const d = dialerCtx();
    const bad = challengeTo(d, { share: '00'.repeat(32) });
    expect(dialerStep(d, challenge, frame(bad)).actions).toEqual(dialerRefusal('bad-share'));
  });

  it('refuses what is not a challenge: malformed, binary or oversized', () => {
    const d = dialerCtx();
    expect(dialerStep(d, challenge, frame({ t: 'welcome' })).actions).toEqual(
      dialerRefusal('malformed'),
    );
    const binary = { binary: true, size: 10, text: () => JSON.stringify(challengeTo(d, {})) };
    expect(dialerStep(d, challenge, { type: 'frame', frame: binary, now: T0 }).actions).toEqual(
      dialerRefusal('malformed'),
    );
    const huge = { ...text(challengeTo(d, {})), size: 4097 };
    expect(dialerStep(d, challenge, { type: 'frame', frame: huge, now: T0 }).actions).toEqual(
      dialerRefusal('malformed'),
    );
  });

  it('refuses anything but a welcome after its proof, and is established by one', () => {
    const d = dialerCtx();
    const waiting = dialerStep(d, challenge, frame(challengeTo(d, {}))).state;
    expect(dialerStep(d, waiting, frame(challengeTo(d, {}))).actions).toEqual(
      dialerRefusal('malformed'),
    );
    const done = dialerStep(d, waiting, frame({ t: 'welcome' }));
    expect(done.state).toEqual({ stage: 'open' });
    expect(done.actions).toEqual([
      { type: 'disarm', timer: 'handshake' },
      { type: 'established', peer: 'n1', channel: expect.anything() },
    ]);
  });

  it('refuses when no answer comes in time; a refused handshake ignores what follows', () => {
    const d = dialerCtx();
    const timer: HandshakeEvent = { type: 'timer', timer: 'handshake', now: T0 + 5_000 };
    const timedOut = dialerStep(d, challenge, timer);
    expect(timedOut.actions).toEqual(dialerRefusal('timeout'));
    expect(timedOut.state).toEqual({ stage: 'refused', refusal: 'timeout: no answer in time' });
    expect(dialerStep(d, timedOut.state, frame(challengeTo(d, {}))).actions).toEqual([]);
    expect(dialerStep(d, timedOut.state, timer).actions).toEqual([]);
    const open: DialerState = { stage: 'open' };
    expect(dialerStep(d, open, timer).actions).toEqual([]);
  });

  it('on close, says who refused: its own refusal stands, else a 4001 is the peer’s', () => {
    const d = dialerCtx();
    const disarm = { type: 'disarm', timer: 'handshake' };
    const refused: DialerState = { stage: 'refused', refusal: 'wrong-peer: dialed n1' };
    expect(dialerStep(d, refused, { type: 'closed', code: 4001, reason: 'x' }).actions).toEqual([
      disarm,
      { type: 'refused', by: 'us', reason: 'wrong-peer: dialed n1' },
    ]);
    expect(
      dialerStep(d, challenge, { type: 'closed', code: CLOSE_REFUSED, reason: 'banned' }).actions,
    ).toEqual([disarm, { type: 'refused', by: 'peer', reason: 'banned' }]);
    expect(dialerStep(d, challenge, { type: 'closed', code: 1006, reason: '' }).actions).toEqual([
      disarm,
    ]);
  });
});
