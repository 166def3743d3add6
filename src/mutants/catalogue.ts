/**
 * The mutant catalogue: small named transformations of the protocol sources, each breaking
 * one rule of the paper it implements (the sentence is quoted in `breaks`). `npm run mutants`
 * (./run.ts) applies each to a copy of the repository and runs the scenarios against it; every
 * mutant must be killed by some scenario — a run that does not turn out as its scenario
 * expects. `scenarios` names the ones expected to kill it, tried first.
 *
 * As coursework ("find the bug"): apply one mutant by hand, run its scenarios, read the trace
 * viewer (`--html`), and find the line from the checker's verdict alone.
 *
 * `search` must occur exactly once in `file` (test/mutants/catalogue.test.ts checks it).
 */
export interface Mutant {
  readonly name: string;
  readonly protocol: 'pbft' | 'raft' | 'register';
  /** Path from the repository root. */
  readonly file: string;
  readonly search: string;
  readonly replace: string;
  /** The rule the mutant breaks, as the paper (or lecture notes) states it. */
  readonly breaks: string;
  /** Scenarios expected to kill it, tried first (then every other one of its protocol). */
  readonly scenarios: readonly string[];
}

const REPLICA = 'src/pbft/replica.ts';
const NORMAL_CASE = 'src/pbft/normal-case.ts';
const CHECKPOINTS = 'src/pbft/checkpoints.ts';
const VIEW_CHANGE = 'src/pbft/view-change-protocol.ts';
const CERTS = 'src/pbft/certificates.ts';
const RAFT_ELECTION = 'src/raft/election.ts';
const RAFT_FOLLOWER = 'src/raft/follower.ts';
const RAFT_RULES = 'src/raft/rules.ts';
const BYZ_REGISTER = 'src/register/byzantine.ts';
const MAJ_REGISTER = 'src/register/majority.ts';

export const mutants: readonly Mutant[] = [
  // ─── PBFT (Castro & Liskov, OSDI '99 / TOCS 2002) ───────────────────────────────────────
  {
    name: 'pbft-timer-restarts-on-any-execution',
    protocol: 'pbft',
    file: NORMAL_CASE,
    search: 'this.armRequestTimer(false);\n  }\n\n  private clearPending',
    replace: 'this.armRequestTimer(fresh.length > 0);\n  }\n\n  private clearPending',
    breaks:
      'A backup stops the timer when it is no longer waiting to execute the request, but restarts it if at that point it is waiting to execute some other request.',
    scenarios: ['pbft-covert-censor'],
  },
  {
    name: 'pbft-commit-with-q-minus-1',
    protocol: 'pbft',
    file: NORMAL_CASE,
    search: 'if (commits.length < q) return;',
    replace: 'if (commits.length < q - 1) return;',
    breaks:
      'committed-local(m, v, n, i) is true if and only if prepared(m, v, n, i) is true and i has accepted 2f + 1 commits (possibly including its own) from different replicas that match the pre-prepare for m.',
    scenarios: ['pbft-commit-splitter'],
  },
  {
    name: 'pbft-prepared-with-q-minus-2',
    protocol: 'pbft',
    file: NORMAL_CASE,
    search: 'if (prepares.length < q - 1) return;',
    replace: 'if (prepares.length < q - 2) return;',
    breaks:
      'prepared(m, v, n, i) is true if and only if i has inserted in its log the request m, a pre-prepare for m in view v with sequence number n, and 2f prepares from different backups that match the pre-prepare.',
    scenarios: ['pbft-equivocating-primary', 'pbft-twins'],
  },
  {
    name: 'pbft-no-high-watermark',
    protocol: 'pbft',
    file: REPLICA,
    search: 'return seq > this.h && seq <= this.h + this.options.watermarkWindow;',
    replace: 'return seq > this.h;',
    breaks:
      'A backup accepts a pre-prepare message provided … the sequence number in the pre-prepare message is between a low water mark, h, and a high water mark, H.',
    scenarios: ['pbft-beyond-watermark'],
  },
  {
    name: 'pbft-digest-not-checked',
    protocol: 'pbft',
    file: CERTS,
    search:
      "if (digestOf(batch) !== digest)\n    return refuse('digest-mismatch', 'batch does not match the digest');",
    replace: '',
    breaks:
      'A backup accepts a pre-prepare message provided the signatures in the request and the pre-prepare message are correct and d is the digest for m.',
    scenarios: ['pbft-digest-liar'],
  },
  {
    name: 'pbft-client-signature-not-checked',
    protocol: 'pbft',
    file: CERTS,
    search:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
      "if (!v.verify(request)) return refuse('bad-signature', `bad client signature (${request.from})`);",
    replace: '',
    breaks:
      'A backup accepts a pre-prepare message provided the signatures in the request and the pre-prepare message are correct.',
    scenarios: ['pbft-request-forger'],
  },
  {
    name: 'pbft-prepared-certificate-two-short',
    protocol: 'pbft',
    file: CERTS,
    search: 'v.cluster.quorum - 1, primary);',
    replace: 'v.cluster.quorum - 3, primary);',
    breaks:
      'P is a set containing a set Pm for each request m that prepared at i with a sequence number higher than n; each set Pm contains a valid pre-prepare message and 2f matching, valid prepare messages signed by different backups.',
    scenarios: ['pbft-short-certificate'],
  },
  {
    name: 'pbft-new-view-not-recomputed',
    protocol: 'pbft',
    file: VIEW_CHANGE,
    search: 'unsafeSkipCheck: r.options.unsafeSkipNewViewCheck,',
    replace: 'unsafeSkipCheck: true,',
    breaks:
      'A backup accepts a new-view message for view v+1 if it is signed properly, if the view-change messages it contains are valid for view v+1, and if the set O is correct; it verifies the correctness of O by performing a computation similar to the one used by the primary to create O.',
    scenarios: ['pbft-bad-new-view'],
  },
  {
    name: 'pbft-checkpoint-stable-alone',
    protocol: 'pbft',
    file: CHECKPOINTS,
    search: 'if (matching.length >= this.r.cluster.quorum) {',
    replace: 'if (matching.length >= 1) {',
    breaks:
      'A checkpoint with a proof (2f + 1 checkpoint messages with the same sequence number and digest, signed by different replicas) becomes stable.',
    scenarios: ['pbft-silent-primary', 'pbft-crash-restart'],
  },
  {
    name: 'pbft-duplicate-executed-again',
    protocol: 'pbft',
    file: NORMAL_CASE,
    search: "if (verdict.kind === 'new') {\n        fresh.push(request);",
    replace: "if (verdict.kind !== 'stale') {\n        fresh.push(request);",
    breaks:
      'The replica discards requests whose timestamp is lower than the timestamp in the last reply it sent to the client, to guarantee exactly-once semantics.',
    scenarios: ['pbft-replaying-primary'],
  },
  {
    name: 'pbft-request-in-another-clients-name',
    protocol: 'pbft',
    file: NORMAL_CASE,
    search: 'if (client !== from || !this.r.cluster.clients.includes(from)) {',
    replace: 'if (!this.r.cluster.clients.includes(from)) {',
    breaks:
      'A request ⟨REQUEST, o, t, c⟩σc is signed by the client c it names; a replica takes it only from c itself.',
    scenarios: ['pbft-byzantine-clients'],
  },
  {
    name: 'pbft-client-accepts-one-reply',
    protocol: 'pbft',
    file: 'src/pbft/client.ts',
    search: 'if (matching.length < this.ctx.cluster.replyQuorum) return;',
    replace: 'if (matching.length < 1) return;',
    breaks:
      'The client waits for f + 1 replies with valid signatures from different replicas, and with the same t and r, before accepting the result r.',
    scenarios: ['pbft-forged-votes'],
  },

  // ─── Raft (Ongaro & Ousterhout 2014, in Kleppmann's formulation) ────────────────────────
  {
    name: 'raft-commit-earlier-term-by-count',
    protocol: 'raft',
    file: RAFT_RULES,
    search:
      'maxReady > leader.commitLength && leader.log.termAt(maxReady - 1) === leader.currentTerm',
    replace: 'maxReady > leader.commitLength',
    breaks:
      'Raft never commits log entries from previous terms by counting replicas; only log entries from the leader’s current term are committed by counting replicas (Figure 8).',
    scenarios: ['raft-figure8'],
  },
  {
    name: 'raft-vote-ignores-log',
    protocol: 'raft',
    file: RAFT_ELECTION,
    // The VoteRequest's rule (onVoteRequest), not the PreVoteRequest's, which reads the same.
    search:
      'const logOk = cLogTerm > lastTerm || (cLogTerm === lastTerm && cLogLength >= s.log.length);\n  if (cTerm === s.currentTerm && logOk',
    replace: 'const logOk = true;\n  if (cTerm === s.currentTerm && logOk',
    breaks:
      'The voter denies its vote if its own log is more up-to-date than that of the candidate (election restriction, §5.4.1).',
    scenarios: ['raft-election-restriction', 'raft-leader-crash', 'raft-figure8'],
  },
  {
    name: 'raft-two-votes-per-term',
    protocol: 'raft',
    file: RAFT_ELECTION,
    search: '(s.votedFor === cId || s.votedFor === null)',
    replace: 'true',
    breaks: 'Each server will vote for at most one candidate in a given term (§5.2).',
    scenarios: ['raft-partition-minority-leader', 'raft-leader-crash', 'raft-figure8'],
  },
  {
    name: 'raft-no-log-matching-check',
    protocol: 'raft',
    file: RAFT_RULES,
    search: '(prefixLen === 0 || log.termAt(prefixLen - 1) === prefixTerm);',
    replace: 'true;',
    breaks:
      'If a follower does not find an entry in its log with the same index and term as prevLogIndex/prevLogTerm, then it refuses the new entries (the consistency check, §5.3).',
    scenarios: ['raft-figure8', 'raft-leader-crash'],
  },
  {
    name: 'raft-keeps-conflicting-entries',
    protocol: 'raft',
    file: RAFT_RULES,
    search: 'if (log.termAt(i) !== suffix[i - prefixLen]?.term) return i;',
    replace: 'continue;',
    breaks:
      'If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it (AppendEntries, Figure 2).',
    scenarios: ['raft-partition-minority-leader', 'raft-leader-crash'],
  },
  {
    name: 'raft-commit-without-majority',
    protocol: 'raft',
    file: RAFT_RULES,
    search: 'return acked[minAcks - 1] ?? 0;',
    replace: 'return acked[0] ?? 0;',
    breaks:
      'A log entry is committed once the leader that created the entry has replicated it on a majority of the servers (§5.3).',
    scenarios: ['raft-partition-minority-leader'],
  },
  {
    name: 'raft-follower-obeys-stale-leader',
    protocol: 'raft',
    file: RAFT_FOLLOWER,
    search: 'if (term === s.currentTerm && logOk) {',
    replace: 'if (logOk) {',
    breaks:
      'If the term in the RPC is smaller than the candidate’s current term, then the candidate rejects the RPC (§5.1): a follower takes log entries only from the leader of its current term.',
    scenarios: ['raft-partition-minority-leader', 'raft-figure8'],
  },

  // ─── Registers (Cachin, Guerraoui & Rodrigues; seeds/002 §5–6) ──────────────────────────
  {
    name: 'register-byzantine-write-one-ack',
    protocol: 'register',
    file: BYZ_REGISTER,
    search: 'if (this.writing.acks.size < this.ctx.cluster.quorum) return;',
    replace: 'if (this.writing.acks.size < 1) return;',
    breaks:
      'The writer waits for [ACK, ts] from more than (N + f)/2 processes before Write returns (Byzantine quorums).',
    scenarios: ['register-partitioned-writer'],
  },
  {
    name: 'register-byzantine-read-one-answer',
    protocol: 'register',
    file: BYZ_REGISTER,
    search: 'if (reading.answers.size < this.ctx.cluster.quorum) return;',
    replace: 'if (reading.answers.size < 1) return;',
    breaks:
      'The reader waits for [VALUE, r, ts, v, σ] with a valid writer signature from more than (N + f)/2 processes before it returns.',
    scenarios: ['register-stale-replica', 'register-silent-replicas', 'register-sleeper-replica'],
  },
  {
    name: 'register-byzantine-lowest-timestamp',
    protocol: 'register',
    file: BYZ_REGISTER,
    search:
      'for (const a of reading.answers.values()) if (a.ts > best.ts) best = a;\n    this.operations.complete({ value: best.value });',
    replace:
      'for (const a of reading.answers.values()) if (a.ts >= best.ts && best.ts === 0) best = a;\n    this.operations.complete({ value: best.value });',
    breaks: 'The reader returns the value v with the highest timestamp ts among the answers.',
    scenarios: ['register-stale-replica', 'register-honest'],
  },
  {
    name: 'register-byzantine-writer-signature-unchecked',
    protocol: 'register',
    file: BYZ_REGISTER,
    search: 'if (write.from !== writerOf(this.ctx) || !this.ctx.verify(write)) {',
    replace: 'if (write.from !== writerOf(this.ctx)) {',
    breaks:
      'The reader accepts a value only with verify_writer(σ, WRITE ‖ ts ‖ v): a Byzantine replica cannot forge a value the writer never wrote.',
    scenarios: ['register-forging-replica'],
  },
  {
    name: 'register-majority-adopts-older',
    protocol: 'register',
    file: MAJ_REGISTER,
    search: 'if (ts <= this.ts) return;',
    replace: 'if (ts === this.ts) return;',
    breaks:
      'upon [WRITE, ts′, v′]: if ts′ > ts then (ts, val) := (ts′, v′) — a replica never goes back to an older timestamp (§4.2, majority voting).',
    scenarios: ['register-atomic-crash'],
  },
  {
    name: 'register-majority-write-one-ack',
    protocol: 'register',
    file: MAJ_REGISTER,
    search: 'if (this.writing.acks.size < this.ctx.cluster.quorum) return;',
    replace: 'if (this.writing.acks.size < 1) return;',
    breaks:
      'Majority voting: the writer waits for [ACK, ts] from more than N/2 processes before Write returns.',
    scenarios: ['register-majority-partitioned-writer'],
  },
];
