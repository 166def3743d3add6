/**
 * The frame fuzzer: real frames of every protocol (./corpus.ts), mutated (./mutate.ts) and fed
 * through the real runtime and cores (./target.ts) between the frames of the run they come
 * from, so each core is attacked in the states a real run reaches. It counts:
 *
 *   exceptions        anything thrown out of the runtime (a core exception is crash-stop, so
 *                     any input that makes a core throw is a way to stop a node);
 *   hangs             frames whose handling took more than `hangMs` of this process's CPU time
 *                     (CPU, not wall time: on a busy machine wall time measures the machine);
 *   wrongly accepted  mutants that reached a core although nobody signed them as they are
 *                     (a mutant the fuzzer re-signed with its sender's key is validly signed
 *                     junk, and accepting it is right: it tests the core, not admission).
 *
 * Same frames count and seed ⇒ the same mutants in the same order.
 */
import { signingProtocol } from '../core/definition.js';
import { type Domain, makeSigner, signEnvelope } from '../core/envelope.js';
import type { Envelope } from '../core/envelope-types.js';
import type { NodeId, ProtocolFactory } from '../core/protocol.js';
import { Rng } from '../core/rng.js';
import { fastBackend } from '../crypto/backends.js';
import { canonical } from '../crypto/canonical.js';
import type { Json } from '../crypto/json.js';
import { type CapturedFrame, CORPUS_SCENARIOS, type Corpus, captureCorpus } from './corpus.js';
import { mutate, OPERATORS, type Operator } from './mutate.js';
import { corpusKeys, Target } from './target.js';

export interface FuzzOptions {
  frames: number;
  seed: number;
  /** A frame that takes more CPU time than this to handle counts as a hang (default 1000 ms). */
  hangMs?: number;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
  /** Only the corpora of these scenarios (default: CORPUS_SCENARIOS, all of them). */
  scenarios?: readonly string[];
  /** Replace the cores under test (the fuzzer's own test plants a bug this way). */
  wrap?: (factory: ProtocolFactory) => ProtocolFactory;
}

export interface FuzzFailure {
  kind: 'exception' | 'hang' | 'wrongly-accepted';
  corpus: string;
  target: NodeId;
  frame: number;
  op: Operator | 'replay';
  detail: string;
  /** The first 300 characters of the frame. */
  excerpt: string;
}

export interface FuzzReport {
  seed: number;
  frames: number;
  exceptions: number;
  hangs: number;
  wronglyAccepted: number;
  /** Mutants that reached a core (re-signed ones included). */
  reachedCore: number;
  resigned: number;
  /** CPU milliseconds of the costliest frame. */
  slowestFrameMs: number;
  corpora: { name: string; frames: number; targets: number }[];
  operators: Record<Operator, number>;
  failures: FuzzFailure[];
  wallMs: number;
  reproduce: string;
}

/** Mutants fed to one target before the fuzzer moves to the next (round robin). */
const CHUNK = 200;
/** The link incarnation mutants travel in, far from any real one, so they are not deduplicated. */
const FUZZ_INCARNATION = 2 ** 40;

interface Lane {
  corpus: Corpus;
  self: NodeId;
  stream: CapturedFrame[];
  pos: number;
  target: Target;
  incarnation: number;
  seqs: Map<NodeId, number>;
}

export function fuzz(options: FuzzOptions): FuzzReport {
  return new Fuzzer(options).run();
}

/** What was genuinely signed: sig → "from|kind|canonical body" of every captured message. */
class GenuineMessages {
  private readonly bySig = new Map<string, Set<string>>();

  private static key(m: Envelope): string | null {
    try {
      return `${m.from}|${m.kind}|${canonical(m.body)}`;
    } catch {
      return null;
    }
  }

  remember(m: Envelope): void {
    const key = GenuineMessages.key(m);
    if (key === null) return;
    const set = this.bySig.get(m.sig) ?? new Set();
    set.add(key);
    this.bySig.set(m.sig, set);
  }

  has(m: Envelope): boolean {
    const key = GenuineMessages.key(m);
    return key !== null && this.bySig.get(m.sig)?.has(key) === true;
  }
}

class Fuzzer {
  private readonly started = performance.now();
  private readonly hangMs: number;
  private readonly rng: Rng;
  private readonly report: FuzzReport;
  private readonly genuine = new GenuineMessages();
  private readonly lanes: Lane[] = [];
  /** The mutant being handled, so that a delivery can be attributed to it. */
  private inFlight: { lane: Lane; op: Operator; resigned: boolean; text: string } | null = null;

  constructor(private readonly options: FuzzOptions) {
    this.hangMs = options.hangMs ?? 1_000;
    this.rng = new Rng(options.seed, 0xf022);
    this.report = {
      seed: options.seed,
      frames: 0,
      exceptions: 0,
      hangs: 0,
      wronglyAccepted: 0,
      reachedCore: 0,
      resigned: 0,
      slowestFrameMs: 0,
      corpora: [],
      operators: Object.fromEntries(OPERATORS.map((op) => [op, 0])) as Record<Operator, number>,
      failures: [],
      wallMs: 0,
      reproduce: `npm run fuzz -- --frames ${options.frames} --seed ${options.seed}`,
    };
  }

  run(): FuzzReport {
    const { report, options } = this;
    this.buildLanes();
    let laneIndex = 0;
    let nextProgress = 50_000;
    while (report.frames < options.frames && this.lanes.length > 0) {
      const lane = this.lanes[laneIndex++ % this.lanes.length] as Lane;
      for (let k = 0; k < CHUNK && report.frames < options.frames; k++) {
        this.replayAndMutate(lane);
        if (report.frames >= nextProgress) {
          nextProgress += 50_000;
          options.progress?.(
            `${report.frames} frames: ${report.exceptions} exceptions, ${report.hangs} hangs, ${report.wronglyAccepted} wrongly accepted`,
          );
        }
      }
    }
    report.slowestFrameMs = Math.round(report.slowestFrameMs * 10) / 10;
    report.wallMs = Math.round(performance.now() - this.started);
    return report;
  }

  private fail(failure: FuzzFailure): void {
    if (this.report.failures.length < 20) this.report.failures.push(failure);
  }

  /** One lane per node of every corpus that receives anything: its replicas and two clients. */
  private buildLanes(): void {
    const { options } = this;
    for (const spec of CORPUS_SCENARIOS) {
      if (options.scenarios !== undefined && !options.scenarios.includes(spec.name)) continue;
      const captured = captureCorpus(spec.name, spec.sets ?? [], spec.durationMs, options.seed);
      const wrap = options.wrap;
      const corpus: Corpus =
        wrap === undefined
          ? captured
          : { ...captured, factory: (id) => wrap(captured.factory(id)) };
      for (const frame of corpus.frames) {
        const parsed = JSON.parse(frame.text) as { t: string; m?: Envelope };
        if (parsed.t === 'd' && parsed.m !== undefined) this.genuine.remember(parsed.m);
      }
      const targets = [...corpus.replicas, ...corpus.clients.slice(0, 2)];
      this.report.corpora.push({
        name: corpus.name,
        frames: corpus.frames.length,
        targets: targets.length,
      });
      for (const self of targets) {
        const stream = corpus.frames.filter((f) => f.to === self && f.from !== self);
        if (stream.length === 0) continue;
        const target = this.target(corpus, self, 1);
        this.lanes.push({ corpus, self, stream, pos: 0, incarnation: 1, seqs: new Map(), target });
      }
      options.progress?.(`corpus ${corpus.name}: ${corpus.frames.length} frames`);
    }
  }

  private target(corpus: Corpus, self: NodeId, incarnation: number): Target {
    return new Target(corpus, self, incarnation, (_, m) => this.delivered(m), corpusKeys(corpus));
  }

  /** A message reached a core: right if it was a replay or re-signed, wrong if forged. */
  private delivered(message: Envelope): void {
    const inFlight = this.inFlight;
    if (inFlight === null) return;
    this.report.reachedCore++;
    if (inFlight.resigned || this.genuine.has(message)) return;
    this.report.wronglyAccepted++;
    this.fail({
      kind: 'wrongly-accepted',
      corpus: inFlight.lane.corpus.name,
      target: inFlight.lane.self,
      frame: this.report.frames,
      op: inFlight.op,
      detail: `${message.kind} from ${message.from} reached the core`,
      excerpt: inFlight.text.slice(0, 300),
    });
  }

  private restart(lane: Lane): void {
    lane.incarnation++;
    lane.seqs.clear();
    lane.target = this.target(lane.corpus, lane.self, lane.incarnation);
  }

  /**
   * The run goes on — the lane's next real frame, so the node moves through real states — and
   * then a mutant of one of its frames, from the same sender, on a fresh link sequence.
   */
  private replayAndMutate(lane: Lane): void {
    const { rng, report } = this;
    if (lane.pos >= lane.stream.length) {
      lane.pos = 0;
      this.restart(lane);
    }
    const real = lane.stream[lane.pos++] as CapturedFrame;
    this.inFlight = null;
    this.feed(lane, real.from, real.text, 'replay');
    const victim = lane.stream[rng.int(0, lane.stream.length - 1)] as CapturedFrame;
    const frame = JSON.parse(victim.text) as Record<string, unknown>;
    if (frame.t === 'd') {
      const seq = (lane.seqs.get(victim.from) ?? 0) + 1;
      lane.seqs.set(victim.from, seq);
      Object.assign(frame, { i: FUZZ_INCARNATION, s: seq, b: seq });
    }
    const kinds = Object.keys(lane.corpus.definition.messages);
    const mutant = mutate(rng, frame, JSON.stringify(frame), kinds);
    report.operators[mutant.op]++;
    let resigned = false;
    let text = mutant.text;
    if (text === null) {
      const m = (mutant.tree as { m?: unknown } | null)?.m as Partial<Envelope> | undefined;
      if (rng.chance(0.4) && resign(lane.corpus, victim.from, m)) {
        resigned = true;
        report.resigned++;
      }
      text = JSON.stringify(mutant.tree) ?? 'null';
    }
    report.frames++;
    this.inFlight = { lane, op: mutant.op, resigned, text };
    this.feed(lane, victim.from, text, mutant.op);
    this.inFlight = null;
  }

  /** Hand one frame to the lane's node; an exception restarts the node (crash-stop). */
  private feed(lane: Lane, from: NodeId, text: string, op: Operator | 'replay'): void {
    const { report } = this;
    const cpu0 = process.cpuUsage();
    const failure = {
      corpus: lane.corpus.name,
      target: lane.self,
      op,
      excerpt: text.slice(0, 300),
    };
    try {
      lane.target.runtime.receive(from, text);
      lane.target.tick(2);
    } catch (e) {
      report.exceptions++;
      const detail = (e as Error).stack?.split('\n').slice(0, 4).join(' | ') ?? String(e);
      this.fail({ kind: 'exception', frame: report.frames, detail, ...failure });
      this.restart(lane);
    }
    const cpu = process.cpuUsage(cpu0);
    const ms = (cpu.user + cpu.system) / 1000;
    if (ms > report.slowestFrameMs) report.slowestFrameMs = ms;
    if (ms > this.hangMs) {
      report.hangs++;
      this.fail({ kind: 'hang', frame: report.frames, detail: `${Math.round(ms)} ms`, ...failure });
    }
  }
}

/** Sign `m` (in place) as `sender` would: validly signed junk. False if it cannot be signed. */
function resign(corpus: Corpus, sender: NodeId, m: Partial<Envelope> | undefined): boolean {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return false;
  if (typeof m.kind !== 'string' || !('body' in m)) return false;
  const domain: Domain = {
    cluster: corpus.clusterId,
    protocol: signingProtocol(corpus.definition, m.kind),
  };
  try {
    const signed = signEnvelope(
      domain,
      makeSigner(sender, corpus.seed(sender), fastBackend),
      m.kind,
      m.body as Json,
    );
    Object.assign(m, { from: sender, sig: signed.sig });
    return true;
  } catch {
    return false;
  }
}
