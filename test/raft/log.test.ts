/** RaftLog: absolute indices over a compacted prefix (src/raft/log.ts). */
import { describe, expect, it } from 'vitest';
import { chainDigest, RaftLog } from '../../src/raft/log.js';
import type { LogEntry } from '../../src/raft/messages.js';

const noop = (term: number): LogEntry => ({ msg: { type: 'noop' }, term });

function filled(terms: number[]): RaftLog {
  const log = new RaftLog(chainDigest);
  for (const t of terms) log.append(noop(t));
  return log;
}

describe('RaftLog', () => {
  it('keeps absolute indices, terms and digests across compaction', () => {
    const log = filled([1, 1, 2, 2, 3]);
    const digest2 = log.digestAt(2);
    const digest4 = log.digestAt(4);
    log.compact({
      length: 3,
      term: 2,
      digest: digest2,
      runs: [
        [0, 1],
        [2, 2],
      ],
    });
    expect(log.length).toBe(5);
    expect(log.termAt(2)).toBe(2); // the snapshot's last term
    expect(log.termAt(4)).toBe(3);
    expect(log.digestAt(4)).toBe(digest4);
    expect(() => log.entry(1)).toThrow(/not held/);
    expect(() => log.slice(1, 4)).toThrow(/compacted/);
    expect(log.slice(3, 5)).toEqual([noop(2), noop(3)]);
    expect(log.runs()).toEqual([
      [0, 1],
      [2, 2],
      [4, 3],
    ]);
    log.append(noop(3));
    expect(log.digestAt(5)).toBe(chainDigest(digest4, noop(3)));
  });

  it('never truncates below the snapshot; reset discards every held entry', () => {
    const log = filled([1, 1, 1, 1]);
    log.compact({ length: 2, term: 1, digest: log.digestAt(1), runs: [[0, 1]] });
    log.truncate(0);
    expect(log.length).toBe(2);
    log.reset({ length: 10, term: 4, digest: 'd', runs: [[0, 4]] });
    expect(log.length).toBe(10);
    expect(log.lastTerm()).toBe(4);
    expect(log.held()).toEqual([]);
  });
});
