/**
 * `bftkit bench cluster --protocol pbft|raft --nodes N --concurrency C --duration S [--json]`:
 * start a throw-away cluster on loopback (keygen + node processes in a temporary directory),
 * drive C outstanding KV writes in a closed loop, and print throughput, p50/p99 latency and
 * each replica's peak RSS. Everything it started is stopped and the directory removed when it
 * ends, and on Ctrl-C or SIGTERM (exit 130). See src/bench/cluster.ts.
 */
import { BenchAborted, formatClusterBench, runClusterBench } from '../bench/cluster.js';
import { EXIT, InputError } from '../core/errors.js';
import { parseParams } from '../node/params.js';

export interface BenchClusterCommandOptions {
  protocol: 'pbft' | 'raft';
  nodes: number;
  concurrency: number;
  duration: number;
  warmup?: number;
  drivers?: number;
  params?: string;
  json?: boolean;
}

export async function benchClusterCommand(o: BenchClusterCommandOptions): Promise<number> {
  const params = parseParams(o.params);
  if (o.protocol === 'pbft' && o.nodes < 4)
    throw new InputError('--nodes: PBFT needs at least 4 replicas to tolerate a fault');
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (signal) => resolve(signal);
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runClusterBench({
      protocol: o.protocol,
      nodes: o.nodes,
      concurrency: o.concurrency,
      durationS: o.duration,
      ...(o.warmup === undefined ? {} : { warmupS: o.warmup }),
      ...(o.drivers === undefined ? {} : { drivers: o.drivers }),
      params,
      log: (line) => process.stderr.write(`bench: ${line}\n`),
      abort: signalled,
    });
    if (o.json === true) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      process.stdout.write(`${formatClusterBench(result)}\n`);
    }
    return result.ops > 0 ? EXIT.ok : EXIT.failed;
  } catch (e) {
    if (e instanceof BenchAborted) {
      process.stderr.write('bench: interrupted; cluster stopped and removed\n');
      return 130;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
