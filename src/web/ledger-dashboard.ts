/**
 * The ledger demo's web dashboard: a small node:http server (127.0.0.1, no dependency beyond
 * esbuild for the bundle) and one page that polls it. See src/web/README.md.
 *
 *   GET /                  the page (inline CSS and JS, strict CSP)
 *   GET /proof-check.js    src/web/proof-check-entry.ts bundled for the browser (esbuild),
 *                          built once, lazily, and kept in memory
 *   GET /api/cluster       DashboardSource.cluster()
 *   GET /api/summary       DashboardSource.summary()
 *   GET /api/blocks?limit=N  DashboardSource.blocks(N), N clamped to 1..100, default 20
 *   GET /api/proof?tx=ID   DashboardSource.proof(ID), ID 64 hex; 400 bad ID, 404 unknown tx
 *
 * WHY THE PROOF VERDICT TRUSTS NO SERVER. The page does not ask anyone whether a proof is
 * valid: "Check in this browser" runs the ledger's own `checkProof` (src/ledger/proof.ts, with
 * @noble ed25519 and SHA-256) inside the page, on the proof text and on the cluster file text
 * shown next to it. The verdict rests on the public keys in that cluster file alone: the
 * Merkle path must lead from the transaction and its outcome to the header's txRoot, and at
 * least q = ⌊(n+f)/2⌋+1 distinct replicas of that file must have signed the header's hash.
 * Both text areas are editable: a user who does not want to take the served cluster file on
 * trust pastes the one they got out of band (the keygen output), and a proof fetched from
 * anywhere can be pasted too. A lying node — or this server — can hand out a forged proof,
 * but it cannot make it pass without the replicas' secret keys. (The checking code itself is
 * served by this process, from the local checkout; someone who distrusts the process serving
 * the page should run `bftkit ledger check-proof FILE --cluster FILE` from their own copy, which
 * runs the same function.)
 *
 * Everything the page shows is data from the API, written to the DOM with textContent and
 * setAttribute only, never as markup. The page may load nothing but its own origin (CSP
 * `default-src 'none'`, scripts and fetches from 'self' only): no CDN, no font, no image.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pageScript } from './page-script.js';

export interface DashboardSource {
  /** Cluster file JSON as parsed (public keys only): {clusterId, n, f, nodes:[{id,host,port,publicKey}], clients:[{id,publicKey}], ...}. */
  cluster(): unknown;
  /** Live summary: any JSON object; the page must render at least these fields when present:
   *  { protocol: string, running: boolean, elapsedSeconds: number, blocks: number, transactions: number,
   *    txPerSecond: number, viewChanges: number,
   *    nodes: [{ id: string, byzantine: string|null, up: boolean, slow?: boolean, view: number|null, lastCommitted: number|null, height: number|null, rejections: number }],
   *    evidence: [{ node: string, kind: string, culprit: string, detail: string }] } */
  summary(): Promise<unknown>;
  /** The newest `limit` certified blocks, newest first, each the stored block JSON (format bftkit-ledger-block/1: {format, header, txs:[{tx, outcome}], certificate:[...]}) */
  blocks(limit: number): Promise<unknown[]>;
  /** A proof (bftkit-ledger-proof/1 JSON, as proveTx returns) for tx id, or null when unknown. */
  proof(txId: string): Promise<unknown | null>;
}

export interface DashboardServer {
  /** The base URL, without a trailing slash: `http://127.0.0.1:PORT`. */
  url: string;
  close(): Promise<void>;
}

export const DEFAULT_BLOCK_LIMIT = 20;
export const MAX_BLOCK_LIMIT = 100;

/** The page's Content-Security-Policy: its own origin only, no eval, no framing. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The entry beside this module: the `.ts` source, or the compiled `.js` in dist/. */
const ENTRY = fileURLToPath(
  new URL(`./proof-check-entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
);
const TX_ID = /^[0-9a-f]{64}$/;

export interface ProofCheckBundle {
  text: string;
  etag: string;
}

let bundle: Promise<ProofCheckBundle> | undefined;

/**
 * The browser bundle of src/web/proof-check-entry.ts (ESM: `checkProof`, `txId`, `blockHash`),
 * built with esbuild on first use and cached for the life of the process (a failed build is
 * retried on the next call). Not minified, so that the checking code can be read in the
 * browser; ~0.9 MB, mostly zod.
 */
export function proofCheckBundle(): Promise<ProofCheckBundle> {
  bundle ??= buildBundle().catch((error: unknown) => {
    bundle = undefined;
    throw error;
  });
  return bundle;
}

async function buildBundle(): Promise<ProofCheckBundle> {
  // esbuild is loaded only when a page first asks for the bundle, not with the demo.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    legalComments: 'inline',
  });
  const text = result.outputFiles[0]?.text;
  if (text === undefined) throw new Error('esbuild produced no output');
  const etag = `"${createHash('sha256').update(text).digest('hex').slice(0, 32)}"`;
  return { text, etag };
}

export async function startDashboard(
  source: DashboardSource,
  options: { host?: string; port?: number } = {},
): Promise<DashboardServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    handle(source, req, res).catch((error: unknown) => sendError(req, res, 500, error));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown =
    address.address === '0.0.0.0'
      ? '127.0.0.1'
      : address.address === '::'
        ? '[::1]'
        : address.family === 'IPv6'
          ? `[${address.address}]`
          : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        // The page's keep-alive connections would hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** A route; whatever it throws (a failing source call included) becomes a 500 in `startDashboard`. */
type Route = (
  source: DashboardSource,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
) => Promise<void>;

const ROUTES: Record<string, Route> = {
  '/': async (_source, _query, req, res) => {
    send(req, res, 200, dashboardPage(), {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': DASHBOARD_CSP,
      'Cache-Control': 'no-store',
    });
  },
  '/proof-check.js': async (_source, _query, req, res) => {
    let built: ProofCheckBundle;
    try {
      built = await proofCheckBundle();
    } catch (error) {
      sendError(req, res, 500, `could not bundle the proof checker: ${message(error)}`);
      return;
    }
    const headers = {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'no-cache',
      ETag: built.etag,
    };
    if (req.headers['if-none-match'] === built.etag) send(req, res, 304, '', headers);
    else send(req, res, 200, built.text, headers);
  },
  '/api/cluster': async (source, _query, req, res) => {
    sendJson(req, res, 200, source.cluster());
  },
  '/api/summary': async (source, _query, req, res) => {
    sendJson(req, res, 200, await source.summary());
  },
  '/api/blocks': async (source, query, req, res) => {
    const raw = query.get('limit');
    let limit = DEFAULT_BLOCK_LIMIT;
    if (raw !== null) {
      if (!/^-?\d{1,9}$/.test(raw)) {
        sendError(req, res, 400, 'limit must be an integer');
        return;
      }
      limit = Math.min(MAX_BLOCK_LIMIT, Math.max(1, Number(raw)));
    }
    sendJson(req, res, 200, await source.blocks(limit));
  },
  '/api/proof': async (source, query, req, res) => {
    const id = query.get('tx')?.toLowerCase() ?? '';
    if (!TX_ID.test(id)) {
      sendError(req, res, 400, 'tx must be a transaction id: 64 hex digits');
      return;
    }
    const proof = await source.proof(id);
    if (proof === null || proof === undefined) sendError(req, res, 404, `no transaction ${id}`);
    else sendJson(req, res, 200, proof);
  },
};

async function handle(
  source: DashboardSource,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://dashboard.invalid');
  } catch {
    sendError(req, res, 400, 'bad request target');
    return;
  }
  const route = Object.hasOwn(ROUTES, url.pathname) ? ROUTES[url.pathname] : undefined;
  if (route === undefined) {
    sendError(req, res, 404, `no such path: ${url.pathname}`);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendError(req, res, 405, `method ${req.method} not allowed`);
    return;
  }
  await route(source, url.searchParams, req, res);
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    ...headers,
    ...(status === 304 ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
  res.end(req.method === 'HEAD' || status === 304 ? undefined : body);
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown): void {
  // JSON.stringify throws on cycles and BigInts: that is the source's fault, hence a 500.
  let body: string;
  try {
    body = JSON.stringify(value) ?? 'null';
  } catch (error) {
    sendError(req, res, 500, `the source returned something that is not JSON: ${message(error)}`);
    return;
  }
  send(req, res, status, body, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  });
}

function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  error: unknown,
): void {
  const text = typeof error === 'string' ? error : message(error);
  send(req, res, status, JSON.stringify({ error: text }), {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// The page: markup and style here, its script in src/web/page/dashboard.ts (bundled by
// src/web/page-script.ts); the proof checker is a bundle of its own, served separately.

const STYLE = `
:root {
  color-scheme: light; --muted: #6b7280; --line: #e5e7eb; --card: #fff; --bg: #f3f4f6;
  --byz: #b91c1c; --byz-bg: #fee2e2; --ok: #047857; --ok-bg: #d1fae5; --warn-bg: #fff7ed;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: #111827; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
header {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px; padding: 10px 16px;
  background: #111827; color: #f9fafb;
}
header h1 { margin: 0; font-size: 16px; font-weight: 600; }
#cluster-name { color: #9ca3af; font-family: var(--mono); }
#stats { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0; }
#stats div { display: flex; flex-direction: column; }
#stats dt { font-size: 10px; text-transform: uppercase; letter-spacing: .05em; color: #9ca3af; }
#stats dd { margin: 0; font-size: 15px; font-variant-numeric: tabular-nums; }
#conn { margin-left: auto; font-size: 12px; color: #9ca3af; }
#conn.offline { color: #fca5a5; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 11px; font-weight: 600; }
.pill.running { background: var(--ok-bg); color: var(--ok); }
.pill.stopped { background: #e5e7eb; color: #374151; }
main {
  display: grid; gap: 12px; padding: 12px 16px 24px;
  grid-template-columns: minmax(420px, 1fr) minmax(480px, 1.3fr);
  grid-template-areas: "health blocks" "txs txs" "proof proof" "raw raw";
}
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; }
#health-panel { grid-area: health; }
#blocks-panel { grid-area: blocks; }
#txs-panel { grid-area: txs; }
#proof-panel { grid-area: proof; }
#raw-panel { grid-area: raw; }
h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 4px 0 8px; }
h2 .hint { text-transform: none; letter-spacing: 0; font-weight: normal; margin-left: 6px; }
.hint { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 7px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 11px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.mono { font-family: var(--mono); font-size: 12px; }
.scroll { max-height: 340px; overflow: auto; }
.wide { overflow-x: auto; }
.adversary { font-family: var(--mono); font-size: 11px; color: var(--byz); }
#blocks tbody tr { cursor: pointer; }
#blocks tbody tr:hover { background: #f9fafb; }
#blocks tbody tr.selected { background: #e0e7ff; }
#nodes tr.byzantine td { background: #fef2f2; }
#nodes tr.down td { color: var(--muted); }
.badge { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 11px; font-weight: 600; }
.badge.byz { background: var(--byz); color: #fff; }
.badge.up { background: var(--ok-bg); color: var(--ok); }
.badge.down { background: #e5e7eb; color: #374151; }
.badge.slow { background: var(--warn-bg); color: #9a3412; }
.badge.applied { background: var(--ok-bg); color: var(--ok); }
.badge.rejected { background: var(--warn-bg); color: #9a3412; }
#evidence { list-style: none; margin: 0; padding: 0; display: grid; gap: 6px; }
#evidence li { border-left: 4px solid var(--byz); background: var(--byz-bg); padding: 6px 8px; border-radius: 0 4px 4px 0; }
#evidence .culprit { font-weight: 700; color: var(--byz); }
#evidence .kind { font-family: var(--mono); margin: 0 6px; }
#evidence .detail { display: block; color: #374151; white-space: pre-wrap; word-break: break-word; }
#evidence .by { color: var(--muted); font-size: 11px; }
button { font: inherit; font-size: 12px; padding: 2px 10px; border: 1px solid #9ca3af; border-radius: 4px; background: #fff; cursor: pointer; }
button:hover { background: #f3f4f6; }
button.primary { background: #1d4ed8; border-color: #1d4ed8; color: #fff; padding: 5px 14px; }
button.primary:hover { background: #1e40af; }
.proof-grid { display: grid; grid-template-columns: 1.3fr 1fr; gap: 12px; }
.proof-grid label { display: flex; justify-content: space-between; align-items: baseline; font-weight: 600; margin-bottom: 4px; }
textarea {
  width: 100%; height: 260px; resize: vertical; font: 11px/1.35 var(--mono);
  border: 1px solid #d1d5db; border-radius: 4px; padding: 6px 8px; background: #fcfcfd;
}
.actions { display: flex; align-items: center; gap: 12px; margin-top: 10px; flex-wrap: wrap; }
#proof-verdict { font-weight: 600; padding: 5px 10px; border-radius: 4px; background: #f3f4f6; word-break: break-word; }
#proof-verdict[data-ok="true"] { background: var(--ok-bg); color: var(--ok); }
#proof-verdict[data-ok="false"] { background: var(--byz-bg); color: var(--byz); }
#summary-json { font: 11px/1.35 var(--mono); white-space: pre-wrap; margin: 0; max-height: 300px; overflow: auto; }
@media (max-width: 1000px) {
  main { grid-template-columns: 1fr; grid-template-areas: "health" "blocks" "txs" "proof" "raw"; }
  .proof-grid { grid-template-columns: 1fr; }
}
`;

const BODY = `
<header>
  <h1>bftkit ledger</h1>
  <span id="cluster-name"></span>
  <span id="run-state" class="pill stopped">—</span>
  <dl id="stats">
    <div><dt>protocol</dt><dd id="stat-protocol">—</dd></div>
    <div><dt>elapsed</dt><dd id="stat-elapsed">—</dd></div>
    <div><dt>blocks</dt><dd id="stat-blocks">—</dd></div>
    <div><dt>transactions</dt><dd id="stat-transactions">—</dd></div>
    <div><dt>tx/s</dt><dd id="stat-tps">—</dd></div>
    <div><dt>view changes</dt><dd id="stat-view-changes">—</dd></div>
  </dl>
  <span id="conn">connecting…</span>
</header>
<main>
  <section id="health-panel">
    <h2>Replicas</h2>
    <div class="wide">
    <table id="nodes">
      <thead><tr><th>node</th><th>state</th><th class="num">view</th><th class="num" title="last committed sequence number">committed</th><th class="num" title="ledger height: certified blocks stored">height</th><th class="num" title="messages rejected at admission">rejections</th></tr></thead>
      <tbody></tbody>
    </table>
    </div>
    <h2 style="margin-top:14px">Evidence <span class="hint">signed proof of misbehaviour, found by the replicas</span></h2>
    <ul id="evidence"></ul>
    <p id="evidence-empty" class="hint">none so far</p>
  </section>
  <section id="blocks-panel">
    <h2>Certified blocks <span class="hint">newest first; click one for its transactions</span></h2>
    <div class="scroll">
      <table id="blocks">
        <thead><tr><th class="num">height</th><th>hash</th><th class="num">txs</th><th class="num" title="PBFT sequence number">seq</th><th>certificate signers</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <p id="blocks-empty" class="hint">no certified block yet</p>
  </section>
  <section id="txs-panel">
    <h2 id="txs-title">Transactions <span class="hint">select a block</span></h2>
    <div class="scroll">
      <table id="txs">
        <thead><tr><th class="num">#</th><th>tx id</th><th>from</th><th>to</th><th class="num">amount</th><th class="num">nonce</th><th>outcome</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
  <section id="proof-panel">
    <h2>Proof check <span class="hint">runs in this browser with @noble ed25519 and SHA-256: the verdict rests on the public keys of the cluster file on the right, not on this server</span></h2>
    <div class="proof-grid">
      <div>
        <label for="proof-text">Proof (bftkit-ledger-proof/1) <span class="hint" id="proof-status">press "prove" on a transaction, or paste one</span></label>
        <textarea id="proof-text" spellcheck="false" placeholder="{ &quot;format&quot;: &quot;bftkit-ledger-proof/1&quot;, … }"></textarea>
      </div>
      <div>
        <label for="cluster-text">Cluster file (public keys) <span><span class="hint" id="cluster-status"></span> <button id="cluster-reset" type="button">reload the served one</button></span></label>
        <textarea id="cluster-text" spellcheck="false" placeholder="paste the cluster.json you trust"></textarea>
      </div>
    </div>
    <div class="actions">
      <button id="proof-check" class="primary" type="button">Check in this browser</button>
      <span id="proof-verdict">not checked yet</span>
    </div>
  </section>
  <section id="raw-panel">
    <details><summary class="hint">raw summary (/api/summary)</summary><pre id="summary-json"></pre></details>
  </section>
</main>
`;

let page: string | undefined;

/** The page, built on first request (its script is bundled then: src/web/page-script.ts). */
function dashboardPage(): string {
  page ??= [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>bftkit ledger</title>',
    // An empty icon, so that the browser does not ask for /favicon.ico.
    '<link rel="icon" href="data:,">',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    BODY,
    `<script type="module">${pageScript('dashboard')}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
  return page;
}
