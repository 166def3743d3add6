/** A node's GET /status: what ProcessHost.status() answers, and how others fetch it. */
import type { AuthMode } from '../core/definition.js';
import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';
import type { PeerStatus } from '../net/transport.js';

export interface HostStatus {
  id: NodeId;
  cluster: string;
  protocol: string;
  /** How its messages are authenticated: signed envelopes, or the MAC channel alone. */
  auth: AuthMode;
  kit: string;
  role: string | null;
  term: number | null;
  view: number | null;
  leader: NodeId | null;
  lastCommitted: number | null;
  adversary: string | null;
  incarnation: number;
  starts: number;
  recovered: boolean;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  listen: { host: string; port: number } | null;
  peers: (PeerStatus & { pendingUnacked: number })[];
  rejections: { transport: Record<string, number>; admission: Record<string, number> };
  dropped: { transport: Record<string, number>; links: number };
  frames: { in: number; out: number };
  persists: number;
  outputs: number;
  coreErrors: number;
  notes: Record<string, { at: number; count: number; data: Json | null }>;
  app: Json;
}

/** A node's GET /status, or null if it does not answer (in time) or answers with an error. */
export async function fetchStatus(baseUrl: string, timeoutMs: number): Promise<HostStatus | null> {
  try {
    const res = await fetch(`${baseUrl}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? ((await res.json()) as HostStatus) : null;
  } catch {
    return null;
  }
}
