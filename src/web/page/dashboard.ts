/**
 * The ledger dashboard's page script (src/web/ledger-dashboard.ts serves it inline, bundled by
 * src/web/page-script.ts). It polls the summary and the newest blocks, and checks a proof in
 * this browser with the ledger's own code from /proof-check.js — see the top of
 * ledger-dashboard.ts for why that verdict trusts no server.
 *
 * What the API returns is treated as untrusted JSON: read through the guards below (a field
 * of the wrong type shows as '—'), and put into the DOM as text and attributes only.
 */
import { type Attributes, byId, type Child, element as h, isNum, list, record } from './dom.js';

const POLL_MS = 1000;
const BLOCK_LIMIT = 20;
/** Where the server serves the checker; a variable, so that the bundler leaves the import be. */
const CHECKER_URL = '/proof-check.js';

/** What /proof-check.js exports (src/web/proof-check-entry.ts). */
interface Checker {
  checkProof(proof: unknown, cluster: unknown): ProofVerdict;
  txId(tx: unknown): string;
  blockHash(clusterId: string, header: unknown): string;
}

type ProofVerdict =
  | { ok: true; height: number; outcome: unknown; txId: string; blockHash: string }
  | { ok: false; reason: string };

const num = (x: unknown): string => (isNum(x) ? x.toLocaleString('en-US') : '—');
const short = (hex: unknown): string =>
  typeof hex === 'string' && hex.length > 14 ? `${hex.slice(0, 12)}…` : String(hex);
const errorText = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

function duration(seconds: unknown): string {
  if (!isNum(seconds)) return '—';
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m ${String(s % 60).padStart(2, '0')}s` : `${seconds.toFixed(1)} s`;
}

function outcomeText(outcome: unknown): string {
  if (outcome === null || typeof outcome !== 'object') return '?';
  const o = record(outcome);
  return o.status === 'rejected' ? `rejected (${o.reason})` : String(o.status);
}

async function getJson(path: string): Promise<unknown> {
  const response = await fetch(path, { cache: 'no-store' });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = record(body).error;
    throw new Error(typeof error === 'string' ? error : `HTTP ${response.status}`);
  }
  return body;
}

const text = (id: string): HTMLElement => byId(id, HTMLElement);
const table = (id: string): HTMLTableSectionElement => {
  const body = byId(id, HTMLTableElement).tBodies[0];
  if (body === undefined) throw new Error(`#${id} has no tbody`);
  return body;
};
const area = (id: string): HTMLTextAreaElement => byId(id, HTMLTextAreaElement);

// ---- state ----
let lib: Checker | null = null;
let libError: string | null = 'still loading';
let servedCluster: Record<string, unknown> | null = null;
let servedClusterText = '';
let blocksKey = '';
const blocksByHeight = new Map<number, Block>();
let selectedHeight: number | null = null;
let checks = 0;

/** A block as the page reads it: a header with a numeric height, the rest unchecked. */
interface Block {
  header: Record<string, unknown> & { height: number };
  txs: unknown[];
  certificate: unknown[];
}

function clusterId(): string | null {
  const id = servedCluster?.clusterId;
  return typeof id === 'string' ? id : null;
}

function hashOf(block: Block): string {
  // Computed here from the header (what the certificate signs); the votes' own claim otherwise.
  const id = clusterId();
  if (lib !== null && id !== null) {
    try {
      return lib.blockHash(id, block.header);
    } catch {
      // a malformed header: fall back to what the votes say
    }
  }
  const hash = record(record(block.certificate[0]).body).hash;
  return typeof hash === 'string' ? hash : '?';
}

function idOf(tx: unknown): string | null {
  if (lib === null) return null;
  try {
    return lib.txId(tx);
  } catch {
    return null;
  }
}

// ---- summary ----
function renderSummary(raw: unknown): void {
  const s = record(raw);
  text('stat-protocol').textContent = typeof s.protocol === 'string' ? s.protocol : '—';
  text('stat-elapsed').textContent = duration(s.elapsedSeconds);
  text('stat-blocks').textContent = num(s.blocks);
  text('stat-transactions').textContent = num(s.transactions);
  text('stat-tps').textContent = isNum(s.txPerSecond) ? s.txPerSecond.toFixed(1) : '—';
  text('stat-view-changes').textContent = num(s.viewChanges);
  const state = text('run-state');
  if (typeof s.running === 'boolean') {
    state.textContent = s.running ? 'running' : 'stopped';
    state.className = `pill ${s.running ? 'running' : 'stopped'}`;
  }

  const rows = list(s.nodes).map((raw) => {
    const n = record(raw);
    const byz = n.byzantine !== null && n.byzantine !== undefined;
    const up = n.up === true;
    // Slow: it answered recently but not the latest poll (a busy replica, not a dead one).
    const health = up ? (n.slow === true ? 'slow' : 'up') : 'down';
    const attrs: Attributes = {
      'data-node': n.id,
      class: [byz ? 'byzantine' : '', up ? '' : 'down'].join(' ').trim(),
    };
    return h(
      'tr',
      attrs,
      h(
        'td',
        {},
        h('span', { class: 'mono' }, n.id),
        byz ? ' ' : null,
        byz
          ? h(
              'span',
              { class: 'badge byz', title: `Byzantine: runs the adversary ${n.byzantine}` },
              'Byzantine',
            )
          : null,
        byz ? h('span', { class: 'adversary' }, ` ${n.byzantine}`) : null,
      ),
      h('td', {}, h('span', { class: `badge ${health}` }, health)),
      h('td', { class: 'num' }, num(n.view)),
      h('td', { class: 'num' }, num(n.lastCommitted)),
      h('td', { class: 'num' }, num(n.height)),
      h('td', { class: 'num' }, num(n.rejections)),
    );
  });
  table('nodes').replaceChildren(...rows);

  const evidence = list(s.evidence).map((raw) => {
    const e = record(raw);
    return h(
      'li',
      { 'data-culprit': e.culprit, 'data-kind': e.kind },
      h('span', { class: 'culprit' }, e.culprit),
      h('span', { class: 'kind' }, e.kind),
      h('span', { class: 'by' }, `reported by ${e.node}`),
      h('span', { class: 'detail' }, e.detail),
    );
  });
  text('evidence').replaceChildren(...evidence);
  text('evidence-empty').hidden = evidence.length > 0;
  text('summary-json').textContent = JSON.stringify(s, null, 2);
}

// ---- blocks ----
function asBlock(raw: unknown): Block | null {
  const b = record(raw);
  const header = record(b.header);
  if (!isNum(header.height)) return null;
  return {
    header: { ...header, height: header.height },
    txs: list(b.txs),
    certificate: list(b.certificate),
  };
}

const signers = (b: Block): unknown[] => b.certificate.map((v) => record(v).from);

function renderBlocks(raw: unknown): void {
  const blocks = list(raw).flatMap((b) => asBlock(b) ?? []);
  const key = JSON.stringify(blocks.map((b) => [b.header, signers(b)]));
  text('blocks-empty').hidden = blocks.length > 0;
  if (key === blocksKey) return;
  blocksKey = key;
  const keep = selectedHeight === null ? undefined : blocksByHeight.get(selectedHeight);
  blocksByHeight.clear();
  for (const b of blocks) blocksByHeight.set(b.header.height, b);
  if (keep !== undefined && selectedHeight !== null && !blocksByHeight.has(selectedHeight))
    blocksByHeight.set(selectedHeight, keep);

  const rows = blocks.map((b) => {
    const hd = b.header;
    const applied = b.txs.filter((e) => record(record(e).outcome).status === 'applied').length;
    const rejected = b.txs.length - applied;
    const hash = hashOf(b);
    const row = h(
      'tr',
      { 'data-height': hd.height, class: hd.height === selectedHeight ? 'selected' : null },
      h('td', { class: 'num' }, hd.height),
      h('td', { class: 'mono', title: hash }, short(hash)),
      h(
        'td',
        { class: 'num', title: `${applied} applied, ${rejected} rejected` },
        num(hd.txCount) + (rejected > 0 ? ` (${rejected} rejected)` : ''),
      ),
      h('td', { class: 'num' }, num(hd.seq)),
      h('td', { class: 'mono' }, signers(b).join(' ')),
    );
    row.addEventListener('click', () => selectBlock(hd.height));
    return row;
  });
  table('blocks').replaceChildren(...rows);
  const newest = blocks[0];
  if (selectedHeight === null && newest !== undefined) selectBlock(newest.header.height);
}

function selectBlock(height: number): void {
  selectedHeight = height;
  for (const row of Array.from(table('blocks').rows)) {
    row.classList.toggle('selected', Number(row.dataset.height) === height);
  }
  const block = blocksByHeight.get(height);
  const title = text('txs-title');
  const body = table('txs');
  if (block === undefined) {
    title.replaceChildren('Transactions ', h('span', { class: 'hint' }, 'select a block'));
    body.replaceChildren();
    return;
  }
  const txs = block.txs;
  title.replaceChildren(
    `Transactions of block ${height} `,
    h(
      'span',
      { class: 'hint' },
      `${txs.length}${txs.length === 1 ? ' transaction' : ' transactions'}; tx ids computed in this browser`,
    ),
  );
  if (txs.length === 0) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'hint' }, 'an empty block')));
    return;
  }
  body.replaceChildren(...txs.map(transactionRow));
}

function transactionRow(raw: unknown, i: number): HTMLElement {
  const entry = record(raw);
  const tx = record(entry.tx);
  const b = record(tx.body);
  const id = idOf(tx);
  const outcome = entry.outcome ?? null;
  const status = record(outcome).status === 'applied' ? 'applied' : 'rejected';
  const prove = h(
    'button',
    { type: 'button', class: 'prove', 'data-tx': id, disabled: id === null },
    'prove',
  );
  prove.addEventListener('click', (event) => {
    event.stopPropagation();
    if (id !== null) void fetchProof(id);
  });
  const cells: Child[] = [
    h('td', { class: 'num' }, i),
    h('td', { class: 'mono', title: id ?? libError }, id !== null ? short(id) : '?'),
    h('td', { class: 'mono' }, b.from),
    h('td', { class: 'mono' }, b.to),
    h('td', { class: 'num' }, num(b.amount)),
    h('td', { class: 'num' }, num(b.nonce)),
    h('td', {}, h('span', { class: `badge ${status}` }, outcomeText(outcome))),
    h('td', {}, prove),
  ];
  return h('tr', { 'data-tx': id, 'data-index': i }, ...cells);
}

// ---- proofs ----
function setVerdict(message: string, ok: boolean | undefined): void {
  const verdict = text('proof-verdict');
  verdict.textContent = message;
  if (ok === undefined) verdict.removeAttribute('data-ok');
  else verdict.dataset.ok = String(ok);
}

async function fetchProof(id: string): Promise<void> {
  const proofText = area('proof-text');
  text('proof-status').textContent = `fetching the proof of ${short(id)}…`;
  try {
    const proof = await getJson(`/api/proof?tx=${encodeURIComponent(id)}`);
    proofText.value = JSON.stringify(proof, null, 2);
    proofText.scrollTop = 0;
    proofText.dataset.tx = id;
    text('proof-status').textContent = `tx ${short(id)}, as served: check it`;
    setVerdict('not checked yet', undefined);
  } catch (error) {
    text('proof-status').textContent = `no proof: ${errorText(error)}`;
  }
}

function parseArea(id: string, what: string): unknown {
  try {
    return JSON.parse(area(id).value);
  } catch (e) {
    throw new Error(`${what} is not JSON: ${errorText(e)}`);
  }
}

function checkInBrowser(): void {
  let result: ProofVerdict;
  try {
    if (lib === null) throw new Error(`the checker did not load (${libError})`);
    const proof = parseArea('proof-text', 'the proof');
    const cluster = parseArea('cluster-text', 'the cluster file');
    result = lib.checkProof(proof, cluster);
  } catch (error) {
    result = { ok: false, reason: errorText(error) };
  }
  checks += 1;
  text('proof-verdict').dataset.checks = String(checks);
  if (result.ok) {
    setVerdict(
      `valid: committed at height ${result.height} with outcome ${outcomeText(result.outcome)} (tx ${short(result.txId)}, block ${short(result.blockHash)})`,
      true,
    );
  } else {
    setVerdict(`invalid: ${result.reason}`, false);
  }
}

function clusterStatus(): void {
  const edited = servedCluster !== null && area('cluster-text').value !== servedClusterText;
  text('cluster-status').textContent = edited
    ? 'edited: not the served copy'
    : servedCluster !== null
      ? 'as served'
      : '';
}

// ---- startup and polling ----
async function poll(): Promise<void> {
  const conn = text('conn');
  try {
    const [summary, blocks] = await Promise.all([
      getJson('/api/summary'),
      getJson(`/api/blocks?limit=${BLOCK_LIMIT}`),
    ]);
    renderSummary(summary);
    renderBlocks(blocks);
    conn.textContent = `updated ${new Date().toLocaleTimeString()}`;
    conn.className = '';
  } catch (error) {
    conn.textContent = `offline: ${errorText(error)}`;
    conn.className = 'offline';
  }
}

async function loop(): Promise<void> {
  await poll();
  setTimeout(loop, POLL_MS);
}

async function start(): Promise<void> {
  byId('proof-check', HTMLButtonElement).addEventListener('click', checkInBrowser);
  byId('cluster-reset', HTMLButtonElement).addEventListener('click', () => {
    area('cluster-text').value = servedClusterText;
    clusterStatus();
  });
  area('cluster-text').addEventListener('input', clusterStatus);
  area('proof-text').addEventListener('input', () => area('proof-text').removeAttribute('data-tx'));
  const [bundle, cluster] = await Promise.allSettled([
    import(CHECKER_URL) as Promise<Checker>,
    getJson('/api/cluster'),
  ]);
  if (bundle.status === 'fulfilled') {
    lib = bundle.value;
    libError = null;
  } else {
    libError = errorText(bundle.reason);
    setVerdict(`the checker did not load: ${libError}`, false);
  }
  if (cluster.status === 'fulfilled') {
    servedCluster = record(cluster.value);
    servedClusterText = JSON.stringify(cluster.value, null, 2);
    area('cluster-text').value = servedClusterText;
    const id = clusterId();
    if (id !== null) {
      const { n, f } = servedCluster;
      text('cluster-name').textContent = id + (isNum(n) ? `  n=${n} f=${f}` : '');
      document.title = `${id} — bftkit ledger`;
    }
  }
  clusterStatus();
  await poll();
  document.body.dataset.ready = 'true';
  setTimeout(loop, POLL_MS);
}

void start();
