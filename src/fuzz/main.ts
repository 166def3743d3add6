/**
 * `npm run fuzz -- [--frames N] [--seed S] [--json]`: run the frame fuzzer (./fuzz.ts) and
 * report frames tried, exceptions, hangs and wrongly accepted frames. Exit 0 when there were
 * none, 1 otherwise, 2 on bad options.
 */
import { parseArgs } from 'node:util';
import { fuzz } from './fuzz.js';

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    process.stderr.write(`bftkit fuzz: --${name}: expected a positive integer, got "${text}"\n`);
    process.exit(2);
  }
  return value;
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      frames: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
}
try {
  args = parse();
} catch (e) {
  process.stderr.write(`bftkit fuzz: ${(e as Error).message}\n`);
  process.exit(2);
}
const frames = positiveInt('frames', args.values.frames, 20_000);
const seed = positiveInt('seed', args.values.seed, 1);
const report = fuzz({ frames, seed, progress: (line) => process.stderr.write(`${line}\n`) });
if (args.values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else {
  const ops = Object.entries(report.operators)
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  process.stdout.write(
    [
      `frames tried       ${report.frames} (seed ${report.seed}, ${(report.wallMs / 1000).toFixed(1)} s)`,
      `exceptions         ${report.exceptions}`,
      `hangs              ${report.hangs} (costliest frame ${report.slowestFrameMs} ms of CPU)`,
      `wrongly accepted   ${report.wronglyAccepted}`,
      `reached a core     ${report.reachedCore} (${report.resigned} re-signed by their sender)`,
      `operators          ${ops}`,
      `corpora            ${report.corpora.map((c) => `${c.name} ${c.frames}`).join(', ')}`,
      ...report.failures.map(
        (f) =>
          `FAIL ${f.kind} ${f.corpus} → ${f.target} #${f.frame} ${f.op}: ${f.detail}\n     ${f.excerpt}`,
      ),
      `reproduce          ${report.reproduce}`,
    ].join('\n') + '\n',
  );
}
process.exit(report.exceptions + report.hangs + report.wronglyAccepted === 0 ? 0 : 1);
