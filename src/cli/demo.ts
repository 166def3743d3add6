/**
 * `bftkit demo` / `npm run demo`: the signed ledger with a Byzantine replica (src/demo/run.ts).
 * Exit 0 when every honest replica's ledger verified, 1 otherwise, 2 on bad options.
 */

import { EXIT } from '../core/errors.js';
import { type DemoSummary, runDemo } from '../demo/run.js';

export interface DemoCommandOptions {
  duration: number;
  byzantine: string[];
  protocol: 'pbft' | 'raft';
  data?: string;
  web: boolean;
  json?: boolean;
}

export async function demo(o: DemoCommandOptions): Promise<number> {
  const json = o.json === true;
  const tty = !json && process.stdout.isTTY === true;
  // With --json, stdout carries the one summary object; progress goes to stderr.
  const print = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
  const redraw = tty ? (line: string) => process.stdout.write(`\r\x1b[2K${line}`) : null;
  let interrupt: () => void = () => {};
  const stop = new Promise<void>((r) => {
    interrupt = r;
  });
  const onSignal = () => interrupt();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let summary: DemoSummary;
  try {
    summary = await runDemo({
      durationS: o.duration,
      byzantine: o.byzantine.length === 1 && o.byzantine[0] === 'none' ? [] : o.byzantine,
      protocol: o.protocol,
      ...(o.data === undefined ? {} : { data: o.data }),
      web: o.web,
      print,
      redraw,
      stop,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else printSummary(summary);
  return summary.ok ? EXIT.ok : EXIT.failed;
}

function printSummary(s: DemoSummary): void {
  const lines = [
    '',
    `ledger demo ${s.ok ? 'OK' : 'FAILED'}${s.interrupted ? ' (interrupted)' : ''}`,
    `  protocol        ${s.protocol}, ${s.nodes} replicas`,
    `  byzantine       ${s.byzantine.length === 0 ? 'none' : s.byzantine.map((b) => `${b.node} (${b.adversary})`).join(', ')}`,
    `  blocks          ${s.blocks}`,
    `  transactions    ${s.transactions} (${s.applied} applied, ${s.rejected} rejected, as the clients saw them)`,
    `  throughput      ${s.txPerSecond} tx/s: transfers confirmed to their clients in the ${s.durationS} s of load (each signed by its payer)`,
    `  view changes    ${s.viewChanges}`,
    `  evidence        ${s.evidence.length === 0 ? 'none' : ''}`,
    ...s.evidence.map(
      (e) => `    ${e.node} holds proof that ${e.culprit} misbehaved: ${e.kind}, ${e.detail}`,
    ),
    '  verified (ledger verify, public keys only)',
    ...s.verified.map((v) => `    ${v.node.padEnd(4)} ${v.ok ? 'ok    ' : 'FAILED'} ${v.detail}`),
    `  data            ${s.dataDir}`,
    `  audit yourself  npx bftkit ledger verify --data ${s.dataDir}/nodes/<node> --cluster ${s.dataDir}/keys/cluster.json`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
