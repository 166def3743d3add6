/**
 * `bftkit scenario twins`: the Twins generator (src/twins/README.md). Sizes the schedule
 * space, runs a seeded sample of it (or all of it, or `--only` some indices) against PBFT or
 * a deliberately unsafe variant, and lists the violating schedules with the command that
 * reruns each one. `--only I --write-scenario FILE` writes schedule I as a scenario file that
 * `bftkit scenario run FILE` replays (trace, HTML viewer and all).
 *
 * Exit codes: 0 no violation found; 1 at least one schedule violated safety, whichever the
 * variant (for an unsafe variant that is the expected find, for pbft it is a bug); 2 bad
 * input.
 */
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { EXIT, InputError } from '../core/errors.js';
import { describeSchedule, scheduleAt, spaceSize } from '../twins/generate.js';
import {
  compileSchedule,
  isVariant,
  type TwinsConfig,
  twinsConfig,
  VARIANTS,
} from '../twins/run.js';
import { runTwins, type TwinsSummary } from '../twins/twins.js';

export interface TwinsCliOptions {
  protocol: string;
  rounds: number;
  partitions: number;
  sample: number;
  seed: number;
  replicas: number;
  twins: number;
  roundMs?: number;
  syncMs?: number;
  jobs?: number;
  json?: boolean;
  only?: string[];
  writeScenario?: string;
}

/** Violating schedules listed in full in the text output. */
const SHOWN = 5;

export function configFromOptions(o: TwinsCliOptions): TwinsConfig {
  if (!isVariant(o.protocol)) {
    throw new InputError(
      `--protocol: unknown variant "${o.protocol}"; known: ${Object.keys(VARIANTS).join(', ')}`,
    );
  }
  const f = Math.floor((o.replicas - 1) / 3);
  if (o.twins > f) {
    throw new InputError(
      `--twins: at most f = ${f} twinned identities with ${o.replicas} replicas (more breaks the fault bound, so even correct PBFT may fail)`,
    );
  }
  if (o.protocol === 'pbft-crash-quorum' && o.replicas < 5) {
    throw new InputError(
      '--protocol pbft-crash-quorum: needs --replicas 5 or more (below that, ⌊n/2⌋+1 = ⌊(n+f)/2⌋+1 and it is plain PBFT)',
    );
  }
  if (o.partitions > o.replicas + o.twins) {
    throw new InputError(
      `--partitions: at most ${o.replicas + o.twins} blocks (one per instance), got ${o.partitions}`,
    );
  }
  return twinsConfig({
    protocol: o.protocol,
    n: o.replicas,
    f: o.twins,
    rounds: o.rounds,
    partitions: o.partitions,
    seed: o.seed,
    ...(o.roundMs === undefined ? {} : { roundMs: o.roundMs }),
    ...(o.syncMs === undefined ? {} : { syncMs: o.syncMs }),
  });
}

function parseOnly(values: readonly string[], config: TwinsConfig): bigint[] {
  const size = spaceSize(config);
  return values.map((value) => {
    if (!/^\d+$/.test(value)) throw new InputError(`--only: expected an index, got "${value}"`);
    const index = BigInt(value);
    if (index >= size) {
      throw new InputError(`--only: ${value} is outside the schedule space [0, ${size})`);
    }
    return index;
  });
}

/** The command that reruns one schedule of this configuration. */
export function reproduceCommand(config: TwinsConfig, index: string): string {
  const parts = [
    'npx bftkit scenario twins',
    `--protocol ${config.protocol}`,
    `--rounds ${config.rounds}`,
    `--partitions ${config.partitions}`,
    `--seed ${config.seed}`,
  ];
  const defaults = twinsConfig();
  if (config.n !== defaults.n) parts.push(`--replicas ${config.n}`);
  if (config.f !== defaults.f) parts.push(`--twins ${config.f}`);
  if (config.roundMs !== defaults.roundMs) parts.push(`--round-ms ${config.roundMs}`);
  if (config.syncMs !== defaults.syncMs) parts.push(`--sync-ms ${config.syncMs}`);
  parts.push(`--only ${index}`);
  return parts.join(' ');
}

export async function twinsCommand(o: TwinsCliOptions): Promise<number> {
  const config = configFromOptions(o);
  const only = o.only === undefined ? undefined : parseOnly(o.only, config);
  if (o.writeScenario !== undefined) {
    if (only?.length !== 1)
      throw new InputError('--write-scenario needs exactly one --only <index>');
    const scenario = compileSchedule(config, scheduleAt(config, only[0]!));
    writeFileSync(o.writeScenario, `${JSON.stringify(scenario, null, 2)}\n`);
    process.stderr.write(
      `wrote ${o.writeScenario}; replay it with: npx bftkit scenario run ${o.writeScenario}\n`,
    );
  }
  const tty = process.stderr.isTTY === true && o.json !== true;
  const summary = await runTwins(config, {
    sample: o.sample,
    ...(o.jobs === undefined ? {} : { jobs: o.jobs }),
    ...(only === undefined ? {} : { only }),
    progress: (done, total, last) => {
      if (!tty) return;
      const width = 30;
      const filled = Math.round((done / total) * width);
      const mark = last.violations.length > 0 ? ' VIOLATION' : '';
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} #${last.index}${mark}`.padEnd(
          80,
        ),
      );
    },
  });
  if (tty) process.stderr.write('\n');
  if (o.json) process.stdout.write(`${JSON.stringify(jsonSummary(config, summary))}\n`);
  else process.stdout.write(formatSummary(config, summary, only !== undefined));
  return summary.violating > 0 ? EXIT.failed : EXIT.ok;
}

function jsonSummary(config: TwinsConfig, summary: TwinsSummary) {
  return {
    config,
    ...summary,
    violations: summary.violations.map((v) => ({
      ...v,
      reproduce: reproduceCommand(config, v.index),
    })),
  };
}

export function formatSummary(config: TwinsConfig, s: TwinsSummary, only: boolean): string {
  const lines: string[] = [];
  const instances = config.n + config.f;
  lines.push(
    `twins: ${config.protocol} — n=${config.n} replicas, ${config.f} twinned (${instances} instances), R=${config.rounds} rounds of ${config.roundMs} ms, k=${config.partitions} blocks`,
  );
  lines.push(`  ${VARIANTS[config.protocol].description}`);
  lines.push(
    `schedule space: ${s.twinChoices} twin choice(s) × S(${instances},${config.partitions})^${config.rounds} = ${s.twinChoices} × ${s.partitionsPerRound}^${config.rounds} = ${s.spaceSize} schedules`,
  );
  const how = only
    ? 'the schedule(s) given with --only'
    : s.exhaustive
      ? 'all of them'
      : `a uniform sample of ${s.runs} (seed ${config.seed})`;
  lines.push(`ran ${how}: ${s.runs} run(s) in ${(s.wallMs / 1000).toFixed(1)} s`);
  if (s.violating === 0) {
    lines.push(
      'violations: none — every run passed agreement, total order, validity and linearizability',
    );
  } else {
    lines.push(`violations: ${s.violating} of ${s.runs} schedules violated safety`);
    for (const r of s.violations.slice(0, SHOWN)) {
      lines.push(`  #${r.index}  ${r.schedule}`);
      for (const v of r.violations.slice(0, 3)) lines.push(`    [${v.checker}] ${v.message}`);
      if (r.violations.length > 3) lines.push(`    … ${r.violations.length - 3} more`);
      lines.push(`    reproduce: ${reproduceCommand(config, r.index)}`);
    }
    if (s.violating > SHOWN) lines.push(`  … and ${s.violating - SHOWN} more (--json lists all)`);
    if (!only) {
      const first = s.violations[0]!.index;
      lines.push(
        `  to replay one in the scenario runner (trace, HTML viewer): add --write-scenario twins-${first}.json to its reproduce command, then run: npx bftkit scenario run twins-${first}.json --html twins-${first}.html`,
      );
    }
  }
  if (only && s.runs === 1 && s.results[0] !== undefined) {
    const r = s.results[0];
    lines.push(`schedule #${r.index}: ${describeSchedule(scheduleAt(config, BigInt(r.index)))}`);
    lines.push(`  ${r.completed} client operations completed; highest view entered: ${r.maxView}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Registers `scenario twins` on the `scenario` command (kept here so main.ts stays small). */
export function twinsCommandSpec(
  scenario: Command,
  integer: (min: number, max: number) => (value: string) => number,
  setExit: (code: number) => void,
): void {
  scenario
    .command('twins')
    .description(
      'Twins: run (twin set × partition^R) schedules with twin replicas against PBFT or a deliberately unsafe variant; exit 1 if any schedule violates safety',
    )
    .addOption(
      new Option('--protocol <variant>', 'protocol variant')
        .choices(Object.keys(VARIANTS))
        .default('pbft'),
    )
    .option('--rounds <R>', 'rounds (round r runs view r−1)', integer(1, 16), 3)
    .option('--partitions <k>', 'blocks in every round’s partition', integer(1, 16), 2)
    .option(
      '--sample <M>',
      'schedules to run (all when the space is smaller)',
      integer(1, 1e6),
      100,
    )
    .option('--seed <s>', 'seeds the sample and every simulation', integer(0, 2 ** 31), 1)
    .option('--replicas <n>', 'replicas n0 … n(n−1)', integer(1, 16), 4)
    .option('--twins <f>', 'twinned identities (at most f)', integer(0, 5), 1)
    .option('--round-ms <ms>', 'simulated ms per round (default: 1500)', integer(50, 600_000))
    .option(
      '--sync-ms <ms>',
      'fully connected ms after the last round (default: 1500)',
      integer(0, 600_000),
    )
    .option('--jobs <k>', 'worker threads (default: one per core)', integer(1, 64))
    .option(
      '--only <index>',
      'run only this schedule index (repeatable): the reproduce path',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--write-scenario <file>', 'with one --only: write it as a scenario file')
    .option('--json', 'print one JSON object with the summary')
    .action(async (o) => {
      setExit(await twinsCommand(o));
    });
}
