/**
 * The `bftkit` command. Every subcommand has --help; an unknown command or flag prints the
 * usage to stderr and exits 2, as does any bad input (with one line naming what is wrong).
 *
 * Start-up time is part of every command (a `client put`, a replica restarting), so this
 * module imports only commander and the light command specs: each action loads what it needs
 * when it runs, and the Twins command (the simulator and every protocol) is registered only
 * when `scenario` is on the command line (`scenario …`, `help scenario`).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT, InputError } from '../core/errors.js';
import { ledgerCommandSpec } from './ledger.js';
import type { twinsCommandSpec } from './twins.js';

function integer(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected ${min}…${max}, got ${n}`);
    return n;
  };
}

function number(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n))
      throw new InvalidArgumentError(`expected a number, got "${value}"`);
    if (n < min || n > max) throw new InvalidArgumentError(`expected ${min}…${max}, got ${n}`);
    return n;
  };
}

/** Commands set this; the action's return value is the process exit code. */
let exitCode: number = EXIT.ok;

/** Builds the command tree; `twins` registers `scenario twins` (absent: not registered). */
export function buildProgram(twins?: typeof twinsCommandSpec): Command {
  const program = new Command('bftkit')
    .description('Byzantine fault-tolerant replication service and laboratory')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  keygenCommand(program);
  clusterCommands(program);
  nodeAndClientCommands(program);
  clusterBenchCommand(benchAndFloodCommands(program));
  const scenario = scenarioCommands(program);
  labCommands(program);
  twins?.(scenario, integer, (code) => {
    exitCode = code;
  });

  ledgerCommandSpec(program, (code) => {
    exitCode = code;
  });

  demoCommand(program);
  return program;
}

/** `keygen`: a cluster file and its key files. */
function keygenCommand(program: Command): void {
  program
    .command('keygen')
    .description('create a cluster file and one secret key file (mode 0600) per node and client')
    .requiredOption('--nodes <n>', 'number of replicas', integer(1, 64))
    .option('--clients <m>', 'number of clients', integer(0, 1024), 2)
    .addOption(
      new Option('--protocol <name>', 'replication protocol')
        .choices(['pbft', 'raft'])
        .default('pbft'),
    )
    .option('--f <f>', 'faults tolerated (default: the most the protocol allows)', integer(0, 21))
    .addOption(
      new Option(
        '--auth <mode>',
        'message authentication: signed envelopes, or the MAC channel alone (raft only; its default)',
      ).choices(['signed', 'channel']),
    )
    .option(
      '--base-port <port>',
      'port of node n0; node i listens on base+i',
      integer(1, 65_000),
      7000,
    )
    .option('--host <host>', 'host every node listens on', '127.0.0.1')
    .option('--cluster-id <id>', 'cluster id (default: random)')
    .requiredOption('--out <dir>', 'directory to write cluster.json and the key files to')
    .action(async (o) => {
      const { keygen } = await import('../core/keygen.js');
      const file = keygen({
        nodes: o.nodes,
        clients: o.clients,
        protocol: o.protocol,
        basePort: o.basePort,
        host: o.host,
        f: o.f,
        out: o.out,
        clusterId: o.clusterId,
        auth: o.auth,
      });
      process.stdout.write(
        `wrote ${o.out}/cluster.json (${file.protocol}, n=${file.n}, f=${file.f}, cluster ${file.clusterId}) and ${file.nodes.length + file.clients.length} key files (mode 0600)\n`,
      );
    });
}

/** `cluster check` and `cluster up`. */
function clusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('work with cluster files');
  cluster
    .command('check')
    .description('validate a cluster file; an error names the field and exits 2')
    .argument('<file>', 'cluster.json')
    .action(async (path) => {
      const { loadClusterFile } = await import('../core/cluster-file.js');
      const file = loadClusterFile(path);
      process.stdout.write(
        `${path}: ok — ${file.protocol} cluster ${file.clusterId}, n=${file.n}, f=${file.f}, ${file.clients.length} clients\n`,
      );
    });

  cluster
    .command('up')
    .description(
      'start every node of a cluster file as a child process; Ctrl-C or SIGTERM stops them all',
    )
    .requiredOption('--cluster <file>', 'cluster.json (node keys are read from beside it)')
    .requiredOption(
      '--data <dir>',
      "directory for each node's data (DIR/<id>) and log (DIR/<id>.log)",
    )
    .option(
      '--adversary <I=NAME>',
      'run node I as adversary NAME (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--params <json>', 'protocol parameters as a JSON object, passed to every node')
    .action(async (o) => {
      const { clusterUp } = await import('../node/cluster-up.js');
      exitCode = await clusterUp({
        cluster: o.cluster,
        data: o.data,
        adversary: o.adversary,
        params: o.params,
      });
    });
}

/** `node` (one replica) and `client` (one KV operation). */
function nodeAndClientCommands(program: Command): void {
  program
    .command('node')
    .description('run one replica of a cluster until SIGTERM or SIGINT')
    .requiredOption('--cluster <file>', 'cluster.json')
    .requiredOption('--id <id>', 'which node of the cluster file to run')
    .requiredOption('--data <dir>', 'data directory (created 0700; the node recovers from it)')
    .option('--key <file>', 'secret key file (default: <cluster file dir>/<id>.key, mode 0600)')
    .option('--adversary <name>', 'replace the honest core with this adversary')
    .option('--params <json>', 'protocol parameters as a JSON object (timeouts, …)')
    .action(async (o) => {
      const { runNode } = await import('./node.js');
      exitCode = await runNode({
        cluster: o.cluster,
        id: o.id,
        data: o.data,
        key: o.key,
        adversary: o.adversary,
        params: o.params,
      });
    });

  program
    .command('client')
    .description(
      'one KV operation as a client: put KEY VALUE | get KEY | cas KEY FROM TO (FROM "-": absent); ' +
        'exit 0 ok, 1 failed (CAS mismatch, absent key), 2 bad input, 3 no answer in time',
    )
    .requiredOption('--cluster <file>', 'cluster.json')
    .requiredOption('--key <file>', "the client's secret key file (mode 0600)")
    .option('--timeout <ms>', 'give up (exit 3) after this long', integer(1, 3_600_000), 5000)
    .option('--data <dir>', 'keep the request counter here (default: start it from the clock)')
    .option('--params <json>', 'protocol parameters as a JSON object (client timeouts, …)')
    .option('--json', 'print the result as one JSON object')
    .argument('<op>', 'put, get or cas')
    .argument('[args...]', 'KEY [VALUE | FROM TO]')
    .action(async (op: string, args: string[], o) => {
      const { clientCommand } = await import('./client.js');
      exitCode = await clientCommand(op, args, {
        cluster: o.cluster,
        key: o.key,
        timeout: o.timeout,
        json: o.json === true,
        data: o.data,
        params: o.params,
      });
    });
}

/** `bench`, with `bench flood` and its hidden attacker process. */
function benchAndFloodCommands(program: Command): Command {
  const bench = program
    .command('bench')
    .description('benchmarks on real processes (`npm run bench` has the in-process ones)');
  bench
    .command('flood')
    .description(
      'honest PBFT throughput under attack (bad signatures, a junk-sending replica, ' +
        'unauthenticated connections) against the same cluster without it, as JSON',
    )
    .option('--attack <name>', 'bad-signatures, junk-replica, unauthenticated or all', 'all')
    .option('--repeat <k>', 'baseline and attacked runs per attack', integer(1, 100), 3)
    .option('--concurrency <c>', 'outstanding requests (one client each)', integer(1, 1024), 16)
    .option('--duration <s>', 'measured seconds per run (after a warm-up)', integer(1, 3600), 10)
    .option(
      '--isolate',
      'the attacker on the last core, the cluster on the others, in both runs (Linux, taskset)',
    )
    .action(async (o) => {
      const { ATTACKS, runFloodBench } = await import('../bench/flood.js');
      const attacks = o.attack === 'all' ? ATTACKS : [o.attack];
      for (const a of attacks)
        if (!(ATTACKS as readonly string[]).includes(a))
          throw new InputError(`--attack: expected ${ATTACKS.join(', ')} or all, got "${a}"`);
      const result = await runFloodBench({
        attacks,
        repeats: o.repeat,
        concurrency: o.concurrency,
        durationS: o.duration,
        isolate: o.isolate === true,
        log: (line) => process.stderr.write(`bench: ${line}\n`),
      });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
  bench
    .command('flood-attacker <attack>', { hidden: true })
    .description('the attacker process of `bench flood` (started by it, with an IPC channel)')
    .requiredOption('--keys <dir>', 'the bench cluster keys directory (cluster.json, *.key)')
    .requiredOption('--client <id>', 'the client identity to attack with')
    .action(async (attack: string, o) => {
      const { PROCESS_ATTACKS, runAttackerProcess } = await import('../bench/flood-attacker.js');
      const known = PROCESS_ATTACKS.find((a) => a === attack);
      if (known === undefined)
        throw new InputError(`attack: expected ${PROCESS_ATTACKS.join(' or ')}, got "${attack}"`);
      const { loadClusterFile } = await import('../core/cluster-file.js');
      const { join } = await import('node:path');
      const file = loadClusterFile(join(o.keys, 'cluster.json'));
      await runAttackerProcess(known, { file, keysDir: o.keys, client: o.client });
    });
  return bench;
}

/** `bench cluster`. */
function clusterBenchCommand(bench: Command): void {
  bench
    .command('cluster')
    .description(
      'start a throw-away cluster on loopback, drive C outstanding KV writes, print throughput, ' +
        'p50/p99 latency and peak RSS per replica; cleans up on exit and Ctrl-C',
    )
    .addOption(
      new Option('--protocol <name>', 'replication protocol')
        .choices(['pbft', 'raft'])
        .default('pbft'),
    )
    .option('--nodes <n>', 'replicas', integer(1, 64), 4)
    .option('--concurrency <c>', 'outstanding requests (one client each)', integer(1, 1024), 1)
    .option('--duration <s>', 'measured seconds (after a warm-up)', integer(1, 3600), 10)
    .option(
      '--warmup <s>',
      'warm-up seconds (default: 1, or a quarter of a short run)',
      integer(0, 600),
    )
    .option('--drivers <k>', 'client threads (default: 1, or 2 from 8 clients on)', integer(1, 64))
    .option('--params <json>', 'protocol parameters as a JSON object, for replicas and clients')
    .option('--json', 'print one JSON object')
    .action(async (o) => {
      const { benchClusterCommand } = await import('./bench-cluster.js');
      exitCode = await benchClusterCommand({
        protocol: o.protocol,
        nodes: o.nodes,
        concurrency: o.concurrency,
        duration: o.duration,
        warmup: o.warmup,
        drivers: o.drivers,
        params: o.params,
        json: o.json === true,
      });
    });
}

/** `scenario list | run | sweep` (Twins is added by main when asked for). */
function scenarioCommands(program: Command): Command {
  const scenario = program
    .command('scenario')
    .description('run adversary scenarios in the deterministic simulator');
  scenario
    .command('list')
    .description('list the built-in scenarios')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { listScenarios } = await import('./scenario.js');
      exitCode = listScenarios(o.json === true);
    });
  scenario
    .command('run')
    .description(
      'run a scenario (a built-in name or a JSON file); exit 0 if its expectations hold, 1 if not',
    )
    .argument('<scenario>', 'built-in scenario name or path to a scenario JSON file')
    .option('--seed <n>', "seed (default: the scenario file's)", integer(0, 2 ** 31))
    .option('--json', 'print one JSON object with the verdict')
    .option('--trace <file>', 'write the causal trace as JSON Lines')
    .option('--html <file>', 'write the trace viewer: one self-contained HTML page (full trace)')
    .option(
      '--set <path=value>',
      'override a scenario field before validation, e.g. --set n=7 --set f=2 (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (name, o) => {
      const { runScenarioCommand } = await import('./scenario.js');
      exitCode = runScenarioCommand(name, o);
    });

  scenario
    .command('sweep')
    .description('run scenarios over a range of seeds in parallel; list every unexpected outcome')
    .argument('<scenario>', 'built-in name, scenario file, or "all"')
    .requiredOption('--seeds <A..B>', 'seed range, e.g. 1..100')
    .option('--jobs <k>', 'worker threads (default: one per core)', integer(1, 64))
    .option('--json', 'print one JSON object at the end')
    .option(
      '--set <path=value>',
      'override a scenario field before validation, e.g. --set n=7 --set f=2 (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (target, o) => {
      const { sweepCommand } = await import('./scenario.js');
      exitCode = await sweepCommand(target, o);
    });
  return scenario;
}

/** `lab list | start | grade`. */
function labCommands(program: Command): void {
  const lab = program
    .command('lab')
    .description("coursework: start a lab workspace, grade a student's solution");
  lab
    .command('list')
    .description('list the labs in course order')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { listLabs } = await import('./lab.js');
      exitCode = listLabs(o.json === true);
    });
  lab
    .command('start')
    .description('write a workspace: the handout (README.md), a skeleton, a tsconfig')
    .argument('<lab>', 'lab name (bftkit lab list)')
    .argument('<dir>', 'a new or empty directory')
    .action(async (name, dir) => {
      const { startLab } = await import('./lab.js');
      exitCode = startLab(name, dir);
    });
  lab
    .command('grade')
    .description(
      "run a lab's tests against the file in DIR; exit 0 if every required test passes, 1 if not",
    )
    .argument('<lab>', 'lab name')
    .argument('[dir]', 'the workspace', '.')
    .option('--seeds <A..B>', "seed range (default: the lab's)")
    .option('--test <name>', 'run only this test')
    .option('--html <file>', 'write the trace viewer of the first failing run (else the first)')
    .option('--json', 'print one JSON object (bftkit-grade/1)')
    .action(async (name, dir, o) => {
      const { gradeLab } = await import('./lab.js');
      exitCode = await gradeLab(name, dir, o);
    });
}

/** `demo`: the signed ledger. */
function demoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'the signed ledger: 4 PBFT replicas (one Byzantine), clients relaying signed transfers, a live dashboard, an offline audit of every honest replica at the end',
    )
    .option('--duration <s>', 'seconds of load', number(1, 86_400), 30)
    .option(
      '--byzantine <I=NAME>',
      'a Byzantine replica and its adversary (repeatable), or "none"',
      (v: string, all: string[] | undefined) => [...(all ?? []), v],
    )
    .option('--protocol <p>', 'pbft (raft is refused: its replicas sign no blocks)', 'pbft')
    .option(
      '--data <dir>',
      'an empty or new directory for keys, databases and logs (default: a fresh temp dir)',
    )
    .option('--no-web', 'no dashboard')
    .option('--json', 'print one JSON object at the end (progress goes to stderr)')
    .action(async (o) => {
      if (o.protocol !== 'pbft' && o.protocol !== 'raft')
        throw new InputError(`--protocol: expected pbft or raft, got "${o.protocol}"`);
      const { demo } = await import('./demo.js');
      const { DEFAULT_BYZANTINE } = await import('../demo/run.js');
      exitCode = await demo({
        duration: o.duration,
        byzantine: o.byzantine ?? [DEFAULT_BYZANTINE],
        protocol: o.protocol,
        data: o.data,
        web: o.web,
        json: o.json,
      });
    });
}

export async function main(argv: string[]): Promise<number> {
  exitCode = EXIT.ok;
  const twins = argv.includes('scenario')
    ? (await import('./twins.js')).twinsCommandSpec
    : undefined;
  const program = buildProgram(twins);
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT.badInput;
    }
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.help' ||
        e.code === 'commander.version'
      )
        return EXIT.ok;
      return EXIT.badInput;
    }
    if (e instanceof InputError) {
      process.stderr.write(`bftkit: ${e.message}\n`);
      return EXIT.badInput;
    }
    const fsError = fileSystemError(e);
    if (fsError !== null) {
      process.stderr.write(`bftkit: ${fsError}\n`);
      return EXIT.badInput;
    }
    throw e;
  }
}

/**
 * A file-system error on a path (a --data that is a file, a directory we may not write): the
 * paths a command touches come from its user, so it is bad input — one line, exit 2.
 */
function fileSystemError(e: unknown): string | null {
  const error = e as Partial<NodeJS.ErrnoException> | null;
  if (error === null || typeof error !== 'object') return null;
  if (typeof error.code !== 'string' || typeof error.path !== 'string') return null;
  if (!/^E[A-Z]+$/.test(error.code)) return null;
  return `cannot ${error.syscall ?? 'use'} ${error.path}: ${error.code}`;
}

const invokedDirectly = process.argv[1] !== undefined && /main\.ts$/.test(process.argv[1]);
if (invokedDirectly || process.env.BFTKIT_CLI === '1') {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`bftkit: internal error: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
