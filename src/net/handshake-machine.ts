/**
 * The handshake of ./handshake.ts as two pure state machines, one per side. Each step takes the
 * current state and an event (the socket opened, a frame arrived, a timer fired, the socket
 * closed) and returns the next state and the actions to carry out (send a frame, arm or disarm
 * a timer, count a refusal, close, hand over the established channel). Clocks, randomness and
 * keys come in through the context and the events, so every rule can be tested without a
 * socket (test/net/handshake-machine.test.ts); ./transport.ts (dialing) and ./acceptor.ts feed a
 * socket's events in and carry the actions out.
 */
import type { Signer } from '../core/envelope.js';
import type { NodeId } from '../core/protocol.js';
import type { SignatureBackend } from '../crypto/ed25519.js';
import { fromHex, toHex } from '../crypto/hex.js';
import { type Channel, type ChannelTranscript, type Ephemeral, openChannel } from './channel.js';
import {
  type Auth,
  authSchema,
  type Challenge,
  challengeSchema,
  HANDSHAKE_VERSION,
  type Hello,
  helloSchema,
  MAX_HANDSHAKE_BYTES,
  parseHandshake,
  proofDigest,
  type RefusalReason,
  welcomeSchema,
} from './handshake.js';

/**
 * Close codes: 4001 = handshake refused (reason in the close reason), 4000 = replaced,
 * 4002 = a frame failed its MAC.
 */
export const CLOSE_REFUSED = 4001;
export const CLOSE_REPLACED = 4000;
export const CLOSE_BAD_MAC = 4002;

/**
 * A dialer sends its hello the moment the connection opens, so an accepted connection silent
 * for this long holds a handshake slot for nothing: it is refused as a failed handshake, which
 * lets an address that keeps doing it be backed off within a second or two instead of after
 * the whole handshake timeout. A deadline that fires late (the process was starved, and the
 * hello may be sitting unread) is given another period instead of judging anyone.
 */
export const HELLO_TIMEOUT_MS = 1_000;

/** 'handshake': the whole handshake's deadline; 'hello': the acceptor's HELLO_TIMEOUT_MS. */
export type HandshakeTimer = 'handshake' | 'hello';

/** A received WebSocket message; `text` decodes it, called only once its size is checked. */
export interface HandshakeFrame {
  readonly binary: boolean;
  readonly size: number;
  text(): string;
}

export type HandshakeEvent =
  | { readonly type: 'opened' }
  | { readonly type: 'frame'; readonly frame: HandshakeFrame; readonly now: number }
  /** The socket refused a message over its maxPayload. */
  | { readonly type: 'oversized' }
  | { readonly type: 'timer'; readonly timer: HandshakeTimer; readonly now: number }
  | { readonly type: 'closed'; readonly code: number; readonly reason: string };

/** Actions both sides ask for. */
export type CommonAction =
  | { readonly type: 'send'; readonly text: string }
  | { readonly type: 'arm'; readonly timer: HandshakeTimer; readonly ms: number }
  | { readonly type: 'disarm'; readonly timer: HandshakeTimer }
  /** Count a refusal of the handshake under `reason` (what /status and /metrics show). */
  | {
      readonly type: 'reject';
      readonly reason: RefusalReason;
      readonly detail: string;
      readonly claimed: string | null;
    }
  | { readonly type: 'close'; readonly code: number; readonly reason: string };

export type DialerAction =
  | CommonAction
  | { readonly type: 'established'; readonly peer: NodeId; readonly channel: Channel }
  /** The connection closed after a refusal, by this side (`us`) or by the peer. */
  | { readonly type: 'refused'; readonly by: 'us' | 'peer'; readonly reason: string };

export type AcceptorAction<P> =
  | CommonAction
  | { readonly type: 'established'; readonly peer: P; readonly channel: Channel }
  /** The connection no longer holds one of the acceptor's pending-handshake slots. */
  | { readonly type: 'release' }
  /** A refusal held against the source address; `failed`: it failed a handshake. */
  | { readonly type: 'strike'; readonly failed: boolean };

export interface Step<S, A> {
  readonly state: S;
  readonly actions: readonly A[];
}

/** What both sides bring: who we are, how we sign and verify, and this attempt's secrets. */
export interface SideContext {
  readonly cluster: string;
  readonly self: NodeId;
  readonly publicKeyHex: string;
  readonly signer: Signer;
  readonly backend: SignatureBackend;
  readonly handshakeTimeoutMs: number;
  /** Fresh for every connection (freshNonce, freshEphemeral). */
  readonly nonce: string;
  readonly ephemeral: Ephemeral;
}

// --- the dialer ---------------------------------------------------------------------------

export interface DialerContext extends SideContext {
  /** Whom we dialed, with the key the cluster file lists for it. */
  readonly peer: NodeId;
  readonly peerKey: Uint8Array;
}

export type DialerState =
  | { readonly stage: 'challenge' }
  | { readonly stage: 'welcome'; readonly channel: Channel }
  | { readonly stage: 'open' }
  | { readonly stage: 'refused'; readonly refusal: string };

type DialerStep = Step<DialerState, DialerAction>;

export function startDialer(ctx: DialerContext): DialerStep {
  return {
    state: { stage: 'challenge' },
    actions: [{ type: 'arm', timer: 'handshake', ms: ctx.handshakeTimeoutMs }],
  };
}

export function dialerStep(
  ctx: DialerContext,
  state: DialerState,
  event: HandshakeEvent,
): DialerStep {
  const waiting = state.stage === 'challenge' || state.stage === 'welcome';
  switch (event.type) {
    case 'opened':
      return state.stage === 'challenge'
        ? same(state, { type: 'send', text: hello(ctx) })
        : same(state);
    case 'frame': {
      if (!waiting) return same(state);
      const { frame } = event;
      // A binary or oversized message is no handshake message: it fails to parse as one.
      const text = frame.binary || frame.size > MAX_HANDSHAKE_BYTES ? '' : frame.text();
      return state.stage === 'challenge' ? onChallenge(ctx, text) : onWelcome(ctx, state, text);
    }
    case 'timer':
      return waiting && event.timer === 'handshake'
        ? failDial('timeout', 'no answer in time')
        : same(state);
    case 'closed':
      return { state, actions: [{ type: 'disarm', timer: 'handshake' }, ...blame(state, event)] };
    case 'oversized':
      // ws has closed the socket itself (1009); the transport counts it as frame-too-large.
      return same(state);
  }
}

function hello(ctx: DialerContext): string {
  const message: Hello = {
    t: 'hello',
    v: HANDSHAKE_VERSION,
    cluster: ctx.cluster,
    from: ctx.self,
    to: ctx.peer,
    key: ctx.publicKeyHex,
    nonce: ctx.nonce,
    share: ctx.ephemeral.share,
  };
  return JSON.stringify(message);
}

function onChallenge(ctx: DialerContext, text: string): DialerStep {
  const challenge = parseHandshake<Challenge>(text, challengeSchema);
  if (challenge === null) return failDial('malformed', 'expected a challenge');
  if (challenge.from !== ctx.peer)
    return failDial('wrong-peer', `dialed ${ctx.peer}, "${challenge.from}" answered`);
  if (challenge.key !== toHex(ctx.peerKey))
    return failDial('key-mismatch', `${ctx.peer} presented a key not in the cluster file`);
  const transcript: ChannelTranscript = {
    cluster: ctx.cluster,
    dialer: ctx.self,
    acceptor: ctx.peer,
    dialerNonce: ctx.nonce,
    acceptorNonce: challenge.nonce,
    dialerShare: ctx.ephemeral.share,
    acceptorShare: challenge.share,
  };
  const digest = proofDigest({ role: 'acceptor', ...transcript });
  if (!ctx.backend.verify(ctx.peerKey, digest, fromHex(challenge.sig)))
    return failDial('bad-signature', `${ctx.peer}'s proof does not verify`);
  const channel = openChannel('dialer', ctx.ephemeral, transcript);
  if (channel === null) return failDial('bad-share', `${ctx.peer}'s X25519 share is unusable`);
  const proof = proofDigest({ role: 'dialer', ...transcript });
  const auth: Auth = { t: 'auth', sig: toHex(ctx.signer.sign(proof)) };
  return {
    state: { stage: 'welcome', channel },
    actions: [{ type: 'send', text: JSON.stringify(auth) }],
  };
}

function onWelcome(
  ctx: DialerContext,
  state: { readonly channel: Channel },
  text: string,
): DialerStep {
  if (parseHandshake(text, welcomeSchema) === null)
    return failDial('malformed', 'expected welcome');
  return {
    state: { stage: 'open' },
    actions: [
      { type: 'disarm', timer: 'handshake' },
      { type: 'established', peer: ctx.peer, channel: state.channel },
    ],
  };
}

function failDial(reason: RefusalReason, detail: string): DialerStep {
  return {
    state: { stage: 'refused', refusal: `${reason}: ${detail}` },
    actions: [
      { type: 'reject', reason, detail, claimed: null },
      { type: 'close', code: CLOSE_REFUSED, reason },
    ],
  };
}

/** Who refused, once the socket is closed: our refusal stands; else a 4001 is the peer's. */
function blame(state: DialerState, event: { code: number; reason: string }): DialerAction[] {
  if (state.stage === 'refused') return [{ type: 'refused', by: 'us', reason: state.refusal }];
  if (event.code === CLOSE_REFUSED) return [{ type: 'refused', by: 'peer', reason: event.reason }];
  return [];
}

// --- the acceptor -------------------------------------------------------------------------

/** A cluster member a hello may claim to be, as the acceptor knows it now. */
export interface Candidate<P> {
  /** The adapter's handle on the member, returned in `established`. */
  readonly peer: P;
  readonly publicKey: Uint8Array;
  /** Clients, and replicas ranked before us; a later replica must wait for our dial. */
  readonly mayAccept: boolean;
  /** Refused until then (the `now` of events); 0 = not banned. */
  readonly bannedUntil: number;
}

export interface AcceptorContext<P> extends SideContext {
  /** The member with this (untrusted) id, if the cluster file lists one. */
  lookup(id: string): Candidate<P> | undefined;
}

export type AcceptorState<P> =
  | { readonly stage: 'hello'; readonly helloArmedAt: number }
  | {
      readonly stage: 'auth';
      readonly claimed: NodeId;
      readonly candidate: Candidate<P>;
      readonly transcript: ChannelTranscript;
    }
  | { readonly stage: 'open' }
  | { readonly stage: 'refused' };

type AcceptorStep<P> = Step<AcceptorState<P>, AcceptorAction<P>>;

/** The acceptor's first state, for a connection accepted at `now`. */
export function startAcceptor<P>(ctx: AcceptorContext<P>, now: number): AcceptorStep<P> {
  return {
    state: { stage: 'hello', helloArmedAt: now },
    actions: [
      { type: 'arm', timer: 'handshake', ms: ctx.handshakeTimeoutMs },
      { type: 'arm', timer: 'hello', ms: HELLO_TIMEOUT_MS },
    ],
  };
}

export function acceptorStep<P>(
  ctx: AcceptorContext<P>,
  state: AcceptorState<P>,
  event: HandshakeEvent,
): AcceptorStep<P> {
  if (event.type === 'closed') return onAcceptorClosed(state);
  if (state.stage !== 'hello' && state.stage !== 'auth') return same(state);
  switch (event.type) {
    case 'frame': {
      const { frame } = event;
      const claimed = state.stage === 'auth' ? state.claimed : null;
      if (frame.binary) return refuse('malformed', 'binary handshake message', claimed);
      if (frame.size > MAX_HANDSHAKE_BYTES)
        return refuse('too-large', 'handshake message over 4 KiB', claimed);
      return state.stage === 'hello'
        ? onHello(ctx, frame.text(), event.now)
        : onAuth(ctx, state, frame.text());
    }
    case 'oversized':
      return refuse(
        'too-large',
        'frame over the size limit during the handshake',
        claimedBy(state),
      );
    case 'timer':
      if (event.timer === 'handshake')
        return refuse('timeout', 'handshake not finished in time', claimedBy(state));
      return state.stage === 'hello' ? onHelloDeadline(state, event.now) : same(state);
    case 'opened':
      return same(state);
  }
}

/** A close in the middle of the handshake frees its slot and is counted as a refusal. */
function onAcceptorClosed<P>(state: AcceptorState<P>): AcceptorStep<P> {
  const disarm: AcceptorAction<P>[] = [
    { type: 'disarm', timer: 'handshake' },
    { type: 'disarm', timer: 'hello' },
  ];
  if (state.stage !== 'hello' && state.stage !== 'auth') return { state, actions: disarm };
  const detail = 'closed during the handshake';
  return {
    state: { stage: 'refused' },
    actions: [
      ...disarm,
      { type: 'release' },
      { type: 'reject', reason: 'closed', detail, claimed: claimedBy(state) },
    ],
  };
}

function claimedBy<P>(state: AcceptorState<P>): NodeId | null {
  return state.stage === 'auth' ? state.claimed : null;
}

function onHelloDeadline<P>(
  state: { readonly helloArmedAt: number },
  now: number,
): AcceptorStep<P> {
  if (now - state.helloArmedAt > 2 * HELLO_TIMEOUT_MS)
    return {
      state: { stage: 'hello', helloArmedAt: now },
      actions: [{ type: 'arm', timer: 'hello', ms: HELLO_TIMEOUT_MS }],
    };
  return refuse('timeout', `no hello within ${HELLO_TIMEOUT_MS} ms`, null);
}

function onHello<P>(ctx: AcceptorContext<P>, text: string, now: number): AcceptorStep<P> {
  const raw = parseLoose(text);
  if (raw !== null && raw.t === 'hello' && raw.v !== HANDSHAKE_VERSION)
    return refuse('wrong-version', `version ${String(raw.v)}`, null);
  const hello = parseHandshake<Hello>(text, helloSchema);
  if (hello === null) return refuse('malformed', 'expected hello', null);
  const from = hello.from;
  if (hello.cluster !== ctx.cluster)
    return refuse('wrong-cluster', `cluster "${hello.cluster}"`, from);
  if (hello.to !== ctx.self) return refuse('wrong-target', `meant for "${hello.to}"`, from);
  const candidate = ctx.lookup(from);
  if (candidate === undefined)
    return refuse('unknown-peer', `"${from}" is not in the cluster file`, from);
  if (hello.key !== toHex(candidate.publicKey))
    return refuse('key-mismatch', `"${from}" presented a key not in the cluster file`, from);
  if (!candidate.mayAccept)
    return refuse('wrong-direction', `replica "${from}" must wait for our dial`, from);
  if (candidate.bannedUntil > now)
    return refuse('banned', `"${from}" is banned for misbehaving`, from);
  const transcript: ChannelTranscript = {
    cluster: ctx.cluster,
    dialer: from,
    acceptor: ctx.self,
    dialerNonce: hello.nonce,
    acceptorNonce: ctx.nonce,
    dialerShare: hello.share,
    acceptorShare: ctx.ephemeral.share,
  };
  const proof = proofDigest({ role: 'acceptor', ...transcript });
  const challenge: Challenge = {
    t: 'challenge',
    from: ctx.self,
    key: ctx.publicKeyHex,
    nonce: ctx.nonce,
    share: ctx.ephemeral.share,
    sig: toHex(ctx.signer.sign(proof)),
  };
  return {
    state: { stage: 'auth', claimed: from, candidate, transcript },
    actions: [
      { type: 'disarm', timer: 'hello' },
      { type: 'send', text: JSON.stringify(challenge) },
    ],
  };
}

function onAuth<P>(
  ctx: AcceptorContext<P>,
  state: Extract<AcceptorState<P>, { stage: 'auth' }>,
  text: string,
): AcceptorStep<P> {
  const { claimed, candidate, transcript } = state;
  const auth = parseHandshake<Auth>(text, authSchema);
  if (auth === null) return refuse('malformed', 'expected auth', claimed);
  const digest = proofDigest({ role: 'dialer', ...transcript });
  if (!ctx.backend.verify(candidate.publicKey, digest, fromHex(auth.sig)))
    return refuse('bad-signature', `"${claimed}"'s proof does not verify under its key`, claimed);
  const channel = openChannel('acceptor', ctx.ephemeral, transcript);
  if (channel === null)
    return refuse('bad-share', `"${claimed}"'s X25519 share is unusable`, claimed);
  return {
    state: { stage: 'open' },
    actions: [
      { type: 'disarm', timer: 'handshake' },
      { type: 'release' },
      { type: 'send', text: JSON.stringify({ t: 'welcome' }) },
      { type: 'established', peer: candidate.peer, channel },
    ],
  };
}

function refuse<P>(reason: RefusalReason, detail: string, claimed: string | null): AcceptorStep<P> {
  return {
    state: { stage: 'refused' },
    actions: [
      { type: 'release' },
      // Refusing a banned peer or a replica that must wait for our dial is no sign of abuse.
      { type: 'strike', failed: reason !== 'banned' && reason !== 'wrong-direction' },
      { type: 'reject', reason, detail, claimed },
      { type: 'close', code: CLOSE_REFUSED, reason },
    ],
  };
}

function same<S, A>(state: S, ...actions: A[]): Step<S, A> {
  return { state, actions };
}

/** The message as loose JSON, to tell a hello of another version from a malformed one. */
function parseLoose(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
