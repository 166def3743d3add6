/**
 * The dialer's half of the handshake (src/net/handshake.ts) run by hand over a raw WebSocket,
 * so that a test decides what is presented, signed and sent — and, once welcomed, holds the
 * channel (src/net/channel.ts) to send MAC'd frames of its own, or tampered ones.
 */
import { WebSocket } from 'ws';
import { nodeBackend } from '../../src/crypto/ed25519-node.js';
import { toHex } from '../../src/crypto/hex.js';
import { type Channel, freshEphemeral, openChannel } from '../../src/net/channel.js';
import { freshNonce, HANDSHAKE_VERSION, proofDigest } from '../../src/net/handshake.js';
import { WS_PATH } from '../../src/net/transport.js';

export interface HandDial {
  cluster: string;
  from: string;
  to: string;
  /** Public key presented in hello (hex). */
  key: string;
  /** Seed that signs the proof (null: send `sig` instead). */
  seed: Uint8Array | null;
  sig?: string;
  nonce?: string;
  /** Send nothing and wait to be timed out. */
  silent?: boolean;
  helloPadding?: number;
  autoPong?: boolean;
}

export interface HandDialOutcome {
  welcomed: boolean;
  closeCode: number | null;
  closeReason: string;
  ws: WebSocket;
  /** The acceptor's nonce and the proof we sent (for replay tests). */
  acceptorNonce: string | null;
  authSig: string | null;
  /** Our end of the MAC channel, once the acceptor's proof verified. */
  channel: Channel | null;
}

export function handDial(port: number, a: HandDial): Promise<HandDialOutcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${WS_PATH}`, {
      perMessageDeflate: false,
      autoPong: a.autoPong ?? true,
    });
    const nonce = a.nonce ?? freshNonce();
    const ephemeral = freshEphemeral();
    const out: HandDialOutcome = {
      welcomed: false,
      closeCode: null,
      closeReason: '',
      ws,
      acceptorNonce: null,
      authSig: null,
      channel: null,
    };
    ws.on('open', () => {
      if (a.silent) return;
      const hello: Record<string, unknown> = {
        t: 'hello',
        v: HANDSHAKE_VERSION,
        cluster: a.cluster,
        from: a.from,
        to: a.to,
        key: a.key,
        nonce,
        share: ephemeral.share,
      };
      if (a.helloPadding !== undefined) hello.pad = 'x'.repeat(a.helloPadding);
      ws.send(JSON.stringify(hello));
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary || out.welcomed) return;
      const msg = JSON.parse(data.toString()) as { t: string; nonce?: string; share?: string };
      if (msg.t === 'challenge') {
        out.acceptorNonce = msg.nonce ?? null;
        const transcript = {
          cluster: a.cluster,
          dialer: a.from,
          acceptor: a.to,
          dialerNonce: nonce,
          acceptorNonce: msg.nonce ?? '',
          dialerShare: ephemeral.share,
          acceptorShare: msg.share ?? '',
        };
        out.channel = openChannel('dialer', ephemeral, transcript);
        const digest = proofDigest({ role: 'dialer', ...transcript });
        const sig =
          a.seed === null ? (a.sig ?? '00'.repeat(64)) : toHex(nodeBackend.sign(a.seed, digest));
        out.authSig = sig;
        ws.send(JSON.stringify({ t: 'auth', sig }));
      } else if (msg.t === 'welcome') {
        out.welcomed = true;
        resolve(out);
      }
    });
    ws.on('error', () => {});
    ws.on('close', (code, reason) => {
      out.closeCode = code;
      out.closeReason = reason.toString();
      resolve(out);
    });
  });
}
