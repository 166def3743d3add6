/**
 * `npm run mutants [-- --protocol pbft|raft|register] [--seeds A..B] [--mutant NAME]… [--jobs K]
 * [--keep] [--json]`: mutation testing of the protocols (src/mutants/run.ts). Exit 0 when every
 * chosen mutant is killed, 1 when one survives (or could not be tested), 2 on bad options.
 */
import { Command, InvalidArgumentError } from 'commander';
import { mutants } from '../src/mutants/catalogue.js';
import { type MutantResult, runMutants } from '../src/mutants/run.js';
import { parseSeeds } from '../src/scenario/sweep.js';

const program = new Command('mutants')
  .option('--protocol <name>', 'only the mutants of pbft, raft or register', (v) => {
    if (!['pbft', 'raft', 'register'].includes(v))
      throw new InvalidArgumentError('expected pbft, raft or register');
    return v;
  })
  .option('--seeds <A..B>', 'seeds of every scenario run', '1..3')
  .option('--mutant <name...>', 'only these mutants (repeatable)')
  .option('--jobs <k>', 'mutants tested at once', (v) => {
    const k = Number(v);
    if (!Number.isInteger(k) || k < 1 || k > 64) throw new InvalidArgumentError('1..64');
    return k;
  })
  .option('--keep', 'keep each mutated copy (to rerun the killing scenario in it)')
  .option('--json', 'one JSON object per mutant on stdout')
  .exitOverride();

let opts: {
  protocol?: string;
  seeds: string;
  mutant?: string[];
  jobs?: number;
  keep?: boolean;
  json?: boolean;
};
try {
  program.parse();
  opts = program.opts();
  for (const name of opts.mutant ?? [])
    if (!mutants.some((m) => m.name === name)) throw new Error(`unknown mutant "${name}"`);
} catch (e) {
  const code = (e as { exitCode?: number }).exitCode;
  if (code === 0) process.exit(0);
  if (!(e as { code?: string }).code?.startsWith('commander.'))
    process.stderr.write(`mutants: ${(e as Error).message}\n`);
  process.exit(2);
}
let seeds: { from: number; to: number };
try {
  seeds = parseSeeds(opts.seeds);
} catch (e) {
  process.stderr.write(`mutants: ${(e as Error).message}\n`);
  process.exit(2);
}

function line(r: MutantResult): string {
  const { mutant, killed } = r;
  if (r.error !== null) return `ERROR    ${mutant.name}: ${r.error}`;
  if (killed === null)
    return `SURVIVED ${mutant.name} (${r.runs} runs)\n  breaks: ${mutant.breaks}\n  ${mutant.file}: ${JSON.stringify(mutant.search)} → ${JSON.stringify(mutant.replace)}`;
  const rerun = `npm run mutants -- --mutant ${mutant.name} --seeds ${killed.seed}..${killed.seed}`;
  const inCopy =
    r.copy === null
      ? ''
      : `\n  in the kept copy: node ${r.copy}/scripts/bftkit.mjs scenario run ${killed.scenario} --seed ${killed.seed}`;
  return `killed   ${mutant.name} by ${killed.scenario} seed ${killed.seed} (${r.runs} runs, ${(r.wallMs / 1000).toFixed(1)} s): ${killed.summary}\n  reproduce: ${rerun}${inCopy}`;
}

const results = await runMutants({
  ...(opts.protocol === undefined ? {} : { protocol: opts.protocol }),
  ...(opts.mutant === undefined ? {} : { only: opts.mutant }),
  seeds,
  jobs: opts.jobs ?? 2,
  keep: opts.keep ?? false,
  onResult: (r) => {
    if (opts.json)
      process.stdout.write(
        `${JSON.stringify({ mutant: r.mutant.name, protocol: r.mutant.protocol, killed: r.killed, error: r.error, runs: r.runs, wallMs: r.wallMs, copy: r.copy })}\n`,
      );
    else process.stdout.write(`${line(r)}\n`);
  },
});
const survivors = results.filter((r) => r.killed === null && r.error === null);
const errors = results.filter((r) => r.error !== null);
const killed = results.length - survivors.length - errors.length;
const summary = `${results.length} mutants, ${killed} killed, ${survivors.length} survived${errors.length > 0 ? `, ${errors.length} errors` : ''} (seeds ${seeds.from}..${seeds.to})`;
if (opts.json) process.stderr.write(`${summary}\n`);
else {
  process.stdout.write(`\n${'mutant'.padEnd(40)} ${'killed by'.padEnd(38)} seed\n`);
  for (const r of results)
    process.stdout.write(
      `${r.mutant.name.padEnd(40)} ${(r.killed?.scenario ?? (r.error === null ? 'SURVIVED' : 'ERROR')).padEnd(38)} ${r.killed?.seed ?? '-'}\n`,
    );
  process.stdout.write(`${summary}\n`);
}
process.exit(survivors.length === 0 && errors.length === 0 ? 0 : 1);
