/**
 * bftkit's public API: `import { … } from 'bftkit'`. Everything here is re-exported from the
 * module that defines it; what is not listed stays internal and may change without notice.
 * The README's "Use it as a library" section has a runnable example of each part.
 *
 * @packageDocumentation
 */

// --- Keys and signatures -------------------------------------------------------------------

/**
 * Cluster files (`bftkit-cluster/1`): `loadClusterFile(path)` and `parseClusterFile(json)`
 * validate one (an InputError names the field); `publicKeys(file)` maps ids to keys.
 */
export {
  type ClusterFile,
  loadClusterFile,
  parseClusterFile,
  publicKeys,
} from './core/cluster-file.js';
/**
 * Secret key files (`bftkit-secret-key/1`, mode 0600): `generateKey(id, clusterId)`,
 * `readKeyFile(path)`, `writeKeyFile(path, key)`.
 */
export {
  generateKey,
  KEY_FORMAT,
  readKeyFile,
  type SecretKey,
  writeKeyFile,
} from './core/keyfile.js';
/** A cluster file and one key file per node and client, as `bftkit keygen` writes them. */
export { type KeygenOptions, keygen } from './core/keygen.js';
/** The quorum sizes of the literature: ⌊(n+f)/2⌋+1 (Byzantine), ⌊n/2⌋+1 (crash). */
export { byzantineQuorum, type FaultModel, majority, maxFaults } from './core/quorum.js';
/**
 * `signatureBackends`: every backend that loads here, by name — `noble` (@noble/ed25519, pure
 * JavaScript), `node` (node:crypto, OpenSSL) and `sodium` (libsodium, where its addon loads).
 * `fastBackend`: the one the hot path uses (sodium, else node).
 */
export { fastBackend, signatureBackends } from './crypto/backends.js';
/**
 * An ed25519 backend: `sign(seed, digest)`, `verify(publicKey, digest, signature)`,
 * `publicKey(seed)`. Every backend applies the same verification rule, so they accept the same
 * signatures and interoperate.
 */
export type { SignatureBackend } from './crypto/ed25519.js';

// --- Signed envelopes ----------------------------------------------------------------------

/**
 * Every message is an envelope `{ kind, from, body, sig }` whose signature covers
 * H("bftkit/1/<cluster>/<protocol>/<kind>" ‖ 0 ‖ canonical(body)): `signEnvelope` makes one,
 * `KeyRing.verify` checks one, and `admitEnvelope` runs the whole admission pipeline of a host
 * (shape, kind and body schema, sender, signature — cheapest first).
 */
export {
  type Admission,
  admitEnvelope,
  type Domain,
  type Envelope,
  envelopeDigest,
  KeyRing,
  makeSigner,
  type RejectReason,
  type Signer,
  signEnvelope,
} from './core/envelope.js';
/** Canonical JSON (sorted keys, no floats): the bytes that get hashed and signed. */
export { canonical, canonicalBytes } from './crypto/canonical.js';
export type { Json } from './crypto/json.js';

// --- The sans-IO protocol interface --------------------------------------------------------

/** What a host must know of a protocol to admit its messages: name, fault model, schemas. */
export type { ProtocolDefinition } from './core/definition.js';
export type { HistoryEntry, ProtocolKit, RunRecord, Violation } from './core/kit.js';
/**
 * A protocol core is a `ProtocolFactory`: given a `Context` (its identity, the cluster, time,
 * timers, randomness, storage, send/broadcast, sign, note), it returns a `Protocol` whose
 * handlers (`start`, `onMessage`, `onTimer`, `onRequest`) the host calls. The simulator and the
 * process host run the same cores.
 */
export type {
  Context,
  NodeId,
  Protocol,
  ProtocolFactory,
  Recovered,
} from './core/protocol.js';
/**
 * The protocol kits the scenario runner and the process host know (`pbft`, `raft`,
 * `byz-register`, …): a definition, replica and client cores, a workload and a checker.
 */
export { findKit, knownKits } from './scenario/kits.js';

// --- Simulator and scenarios ---------------------------------------------------------------

export { builtinNames, loadScenario, validateScenario } from './scenario/load.js';
/**
 * Scenarios: `validateScenario(object, source)` checks one against the schema (defaults filled
 * in), `loadScenario(nameOrPath)` reads a built-in or a file, and `runScenario(scenario, {
 * seed, trace })` runs it in the simulator and returns `{ report, sim, record }` — the verdict,
 * the simulation (its trace) and the run's history.
 */
export {
  type RunOptions,
  runScenario,
  type ScenarioReport,
} from './scenario/runner.js';
export type { Scenario, ScenarioInput } from './scenario/schema.js';
/**
 * The deterministic simulator: a virtual clock, a seeded network (latency, loss, duplication,
 * partitions), crashes and restarts, and a causal trace (`traceJsonl()`, `bftkit-trace/1`).
 * Same options and seed, same trace.
 */
export { type SimOptions, type SimStats, Simulation } from './sim/simulation.js';
/** The trace viewer: one self-contained HTML page from a `bftkit-trace/1` trace. */
export { renderTraceHtml } from './web/trace-viewer.js';

// --- Checkers ------------------------------------------------------------------------------

/** Key-value histories (put, get, cas): linearizability per key (Wing & Gong search). */
export { checkLinearizability, type LinearizabilityOptions } from './check/linearizability.js';
/** Register histories: regular (Lamport) and atomic (linearizable) register semantics. */
export { checkAtomicity, checkRegularity } from './check/register.js';
/**
 * PBFT's view change as a replica takes it (lab `pbft-view-change`): `ViewChangeRules` —
 * `checkViewChange(v, vc)` and `computeNewView(view, V)` → `NewViewPlan` — over a `Verifier`
 * (the cluster, `verify`, the watermark window) and the VIEW-CHANGE and certificate types; the
 * checks they build on: `checkPrePrepare` (signed by its view's primary, digest and requests
 * valid), `primaryOf(cluster, view)`, and `NULL_DIGEST` (the null request's digest).
 */
export { checkPrePrepare, NULL_DIGEST, primaryOf, type Verifier } from './pbft/certificates.js';
/** PBFT's safety over a run's notes: agreement, total order, validity (all three: checkPbft). */
export { checkAgreement, checkPbft, checkTotalOrder, checkValidity } from './pbft/checks.js';
export type {
  CheckpointEnvelope,
  PrePrepareEnvelope,
  PreparedCertificate,
  PrepareEnvelope,
  ViewChangeBody,
  ViewChangeEnvelope,
} from './pbft/messages.js';
export type { NewViewEntry, NewViewPlan, ViewChangeRules } from './pbft/view-change.js';
/** Raft's invariants: election safety, state-machine safety, leader completeness, … */
export { checkRaftInvariants } from './raft/invariants.js';
/**
 * Raft's log rules as a RaftNode takes them (lab `raft-commit`): `logOk` (slide 6/9),
 * `truncateTo` (slide 7/9) and `commitLogEntries` (slide 9/9), reading the log through a
 * `LogView` and the leader through a `LeaderView`.
 */
export type { LeaderView, LogView, RaftRules } from './raft/rules.js';

// --- Adversaries ---------------------------------------------------------------------------

/**
 * Writing an adversary (docs/writing-an-adversary.md): an `AdversaryDefinition` builds a
 * Byzantine core from the honest one — `wrapHonest`/`interceptSends` rewrite what it sends,
 * `act` reports a misdeed in the trace. Run one with `runScenario`'s `wrap` option, or name a
 * built-in one in a scenario's `adversaries`.
 */
export {
  type AdversaryDefinition,
  act,
  type Hooks,
  interceptSends,
  type Out,
  wrapHonest,
} from './adversary/api.js';

// --- Clients and hosts on real processes ---------------------------------------------------

/** A base port with `count` free consecutive loopback ports after it (for keygen). */
export { freeBasePort } from './bench/cluster.js';
/**
 * Embed a replica: `startNode({ cluster, id, data, key? })` validates everything, opens its
 * SQLite store, listens (WebSocket links, `/status`, `/metrics`) and starts its core; the
 * returned `ProcessHost` reports `status()` and stops with `close()`.
 */
export { type NodeCommandOptions, startNode } from './cli/node.js';
/** Bad input (a cluster file, a key file, options): the message names what is wrong. */
export { InputError } from './core/errors.js';
export { RequestTimeout } from './node/client-host.js';
/** A KV client (put, get, cas) and a ledger client (signed transfers) of a running cluster. */
export {
  type ClientOptions,
  KvClient,
  LedgerClient,
  type TransferReceipt,
} from './node/clients.js';
export { ProcessHost } from './node/host.js';
export { fetchStatus, type HostStatus } from './node/status.js';
export type { KvResult } from './smr/kv.js';
