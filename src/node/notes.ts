/**
 * What a host can say about its core without knowing the protocol: the latest note of each
 * kind the core made through ctx.note, and a few fields read off them by convention —
 *
 *   role           'role' {role, term, leader}  (Raft), or primary/backup from 'view' {view, primary}
 *   term           'role' / 'became-leader' {term}
 *   view           'view' {view}
 *   leader         'view' {primary} or 'role' {leader}; a Raft leader names itself
 *   lastCommitted  'commit' {index} (Raft) or {seq} (PBFT)
 *
 * A protocol that makes none of these notes simply shows nulls.
 */

import type { NodeId } from '../core/protocol.js';
import type { Json } from '../crypto/json.js';

/** Distinct note kinds remembered (a misbehaving core cannot grow the table without end). */
const MAX_KINDS = 64;

export interface Derived {
  role: string | null;
  term: number | null;
  view: number | null;
  leader: NodeId | null;
  lastCommitted: number | null;
}

export class NoteTracker {
  private readonly latest = new Map<string, { at: number; data: Json | null }>();
  private readonly counts = new Map<string, number>();

  constructor(private readonly self: NodeId) {}

  record(event: string, data: Json | null, at: number): void {
    if (!this.latest.has(event) && this.latest.size >= MAX_KINDS) return;
    this.latest.set(event, { at, data });
    this.counts.set(event, (this.counts.get(event) ?? 0) + 1);
  }

  get(event: string): Json | null | undefined {
    return this.latest.get(event)?.data;
  }

  derived(): Derived {
    const role = this.field('role', 'role', 'string');
    const view = this.field('view', 'view', 'number');
    const primary = this.field('view', 'primary', 'string');
    const commitIndex = this.field('commit', 'index', 'number');
    const commitSeq = this.field('commit', 'seq', 'number');
    let leader: string | null = primary ?? this.field('role', 'leader', 'string');
    if (role === 'leader') leader = this.self;
    return {
      role: role ?? (primary === null ? null : primary === this.self ? 'primary' : 'backup'),
      term: this.field('role', 'term', 'number') ?? this.field('became-leader', 'term', 'number'),
      view,
      leader,
      lastCommitted: commitIndex ?? commitSeq,
    };
  }

  /** The latest note of every kind, with how many of each were made. */
  snapshot(): Record<string, { at: number; count: number; data: Json | null }> {
    const out: Record<string, { at: number; count: number; data: Json | null }> = {};
    for (const [event, { at, data }] of this.latest)
      out[event] = { at, count: this.counts.get(event) ?? 0, data };
    return out;
  }

  private field(event: string, name: string, type: 'number'): number | null;
  private field(event: string, name: string, type: 'string'): string | null;
  private field(event: string, name: string, type: 'number' | 'string'): number | string | null {
    const data = this.latest.get(event)?.data;
    if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data))
      return null;
    const value = data[name];
    return typeof value === type ? (value as number | string) : null;
  }
}
