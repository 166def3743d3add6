/**
 * Safety checkers for PBFT runs, over the notes of a RunRecord. Notes of nodes in
 * `run.byzantine` prove nothing and are ignored.
 *
 *   agreement   no two correct replicas commit different digests at one sequence number,
 *               nor execute different requests (or the same in another order) at one
 *               sequence number
 *   total order each correct replica executes 1, 2, 3, … without gaps, in order (a state
 *               transfer jumps it forward to a certified checkpoint; a restart starts it over,
 *               from the stable checkpoint whose state it restored from disk)
 *   validity    only requests their client signed are executed (the client noted signing
 *               them), each (client, timestamp) at most once per replica and incarnation
 *
 * Notes read: replica 'commit' {view, seq, digest}, 'execute' {seq, digest, requests:
 * [[client, timestamp], …]}, 'state' {seq}, 'restore' {seq}, 'start' {recovered}; client 'request' {timestamp}.
 */

import type { NoteRecord, RunRecord, Violation } from '../core/kit.js';
import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';

type Obj = { [key: string]: Json };

function obj(data: Json | null): Obj | null {
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? data : null;
}

function num(value: Json | undefined): number | null {
  return typeof value === 'number' ? value : null;
}

function correctReplicaNotes(run: RunRecord, event: string): NoteRecord[] {
  return run.notes.filter(
    (n) => n.event === event && run.replicas.includes(n.node) && !run.byzantine.has(n.node),
  );
}

function noteJson(n: NoteRecord): Json {
  return { time: n.time, node: n.node, instance: n.instance, event: n.event, data: n.data };
}

/** Agreement: at each sequence number, every correct replica commits the same digest. */
export function checkAgreement(run: RunRecord): Violation[] {
  const first = new Map<number, NoteRecord>();
  const violations: Violation[] = [];
  const reported = new Set<number>();
  for (const note of correctReplicaNotes(run, 'commit')) {
    const data = obj(note.data);
    const seq = num(data?.seq);
    const digest = data?.digest;
    if (data === null || seq === null || typeof digest !== 'string') continue;
    const earlier = first.get(seq);
    if (earlier === undefined) {
      first.set(seq, note);
      continue;
    }
    const before = obj(earlier.data);
    if (before?.digest !== digest && !reported.has(seq)) {
      reported.add(seq);
      // Name both commits in full — replica, view, seq, digest — not only that they differ.
      const commit = (who: string, view: Json | undefined, d: Json | undefined) =>
        `${who} committed ${String(d)} in view ${String(view)}`;
      violations.push({
        checker: 'pbft.agreement',
        message: `conflicting commits at seq ${seq}: ${commit(earlier.instance, before?.view, before?.digest)}; ${commit(note.instance, data.view, digest)}`,
        evidence: [noteJson(earlier), noteJson(note)],
      });
    }
  }
  return violations;
}

/**
 * Agreement on what is executed: at each sequence number every correct replica executes the
 * same requests in the same order. Equal digests do not show it when a replica takes a batch
 * without checking that it matches the digest its votes are about.
 */
export function checkExecutionAgreement(run: RunRecord): Violation[] {
  const first = new Map<number, NoteRecord>();
  const violations: Violation[] = [];
  for (const note of correctReplicaNotes(run, 'execute')) {
    const data = obj(note.data);
    const seq = num(data?.seq);
    if (data === null || seq === null) continue;
    const earlier = first.get(seq);
    if (earlier === undefined) {
      first.set(seq, note);
      continue;
    }
    const mine = JSON.stringify(data.requests ?? null);
    const theirs = JSON.stringify(obj(earlier.data)?.requests ?? null);
    if (mine !== theirs) {
      violations.push({
        checker: 'pbft.agreement',
        message: `different requests executed at seq ${seq}: ${earlier.instance} executed ${theirs}, ${note.instance} ${mine}`,
        evidence: [noteJson(earlier), noteJson(note)],
      });
      first.set(seq, note);
      if (violations.length >= 16) break;
    }
  }
  return violations;
}

/** Total order: each correct replica executes seq 1, 2, 3, … in order, without gaps. */
export function checkTotalOrder(run: RunRecord): Violation[] {
  const violations: Violation[] = [];
  const expected = new Map<string, number>();
  for (const note of run.notes) {
    if (!run.replicas.includes(note.node) || run.byzantine.has(note.node)) continue;
    const data = obj(note.data);
    const who = note.instance;
    if (note.event === 'start') {
      expected.set(who, 1);
    } else if (note.event === 'state' || note.event === 'restore') {
      const seq = num(data?.seq);
      const next = expected.get(who) ?? 1;
      if (seq === null) continue;
      if (seq + 1 < next) {
        violations.push({
          checker: 'pbft.total-order',
          message: `${who} installed a checkpoint at ${seq} behind its execution (next ${next})`,
          evidence: [noteJson(note)],
        });
      }
      expected.set(who, Math.max(next, seq + 1));
    } else if (note.event === 'execute') {
      const seq = num(data?.seq);
      const next = expected.get(who) ?? 1;
      if (seq === null) continue;
      if (seq !== next) {
        violations.push({
          checker: 'pbft.total-order',
          message: `${who} executed seq ${seq} when ${next} was next`,
          evidence: [noteJson(note)],
        });
      }
      expected.set(who, seq + 1);
    }
  }
  return violations;
}

/**
 * Validity: every executed (client, timestamp) was signed by its client — the client noted
 * 'request' with that timestamp — unless the client is Byzantine (it may sign anything);
 * and no replica incarnation executes one (client, timestamp) twice.
 */
export function checkValidity(run: RunRecord): Violation[] {
  const violations: Violation[] = [];
  const signed = new Set<string>();
  for (const note of run.notes) {
    if (note.event !== 'request' || !run.clients.includes(note.node)) continue;
    const t = num(obj(note.data)?.timestamp);
    if (t !== null) signed.add(`${note.node}\u0000${t}`);
  }
  const seen = new Map<string, Set<string>>();
  for (const note of run.notes) {
    if (!run.replicas.includes(note.node) || run.byzantine.has(note.node)) continue;
    const who = note.instance;
    if (note.event === 'start') {
      seen.set(who, new Set());
      continue;
    }
    if (note.event !== 'execute') continue;
    const requests = obj(note.data)?.requests;
    if (!Array.isArray(requests)) continue;
    let mine = seen.get(who);
    if (mine === undefined) {
      mine = new Set();
      seen.set(who, mine);
    }
    for (const r of requests) {
      if (!Array.isArray(r) || typeof r[0] !== 'string' || typeof r[1] !== 'number') continue;
      const client: NodeId = r[0];
      const key = `${client}\u0000${r[1]}`;
      if (!run.byzantine.has(client) && !signed.has(key)) {
        violations.push({
          checker: 'pbft.validity',
          message: `${who} executed (${client}, ${r[1]}), which ${client} never signed`,
          evidence: [noteJson(note)],
        });
      }
      if (mine.has(key)) {
        violations.push({
          checker: 'pbft.validity',
          message: `${who} executed (${client}, ${r[1]}) twice`,
          evidence: [noteJson(note)],
        });
      }
      mine.add(key);
    }
  }
  return violations;
}

export function checkPbft(run: RunRecord): Violation[] {
  return [
    ...checkAgreement(run),
    ...checkExecutionAgreement(run),
    ...checkTotalOrder(run),
    ...checkValidity(run),
  ];
}
