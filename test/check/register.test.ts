import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizability } from '../../src/check/linearizability.js';
import { checkAtomicity, checkRegularity } from '../../src/check/register.js';
import type { HistoryEntry } from '../../src/core/kit.js';
import type { Json } from '../../src/crypto/json.js';

let counter = 0;
function write(value: string, invokedAt: number, respondedAt: number | null): HistoryEntry {
  return {
    client: 'w',
    index: counter++,
    op: { op: 'write', value },
    invokedAt,
    result: respondedAt === null ? null : { ok: true },
    respondedAt,
  };
}
function read(
  client: string,
  value: string | null,
  invokedAt: number,
  respondedAt: number | null,
): HistoryEntry {
  return {
    client,
    index: counter++,
    op: { op: 'read' },
    invokedAt,
    result: respondedAt === null ? null : { value },
    respondedAt,
  };
}

describe('checkRegularity / checkAtomicity', () => {
  it('accept a correct history', () => {
    const h = [
      read('r1', null, 0, 1),
      write('a', 2, 5),
      read('r1', null, 3, 4), // concurrent with write a: ⊥ or a
      read('r2', 'a', 3, 4),
      read('r1', 'a', 6, 7),
      write('b', 8, 12),
      read('r2', 'b', 9, 10),
      read('r1', 'b', 11, 13),
      read('r2', 'b', 14, 15),
      write('c', 16, null), // the writer crashed: c may or may not have taken effect
      read('r1', 'b', 20, 21),
      read('r2', 'c', 22, 23),
      read('r3', null, 30, null), // incomplete read: nothing to check
    ];
    expect(checkRegularity(h)).toEqual([]);
    expect(checkAtomicity(h)).toEqual([]);
  });

  it('catch a stale read', () => {
    const h = [write('a', 0, 1), write('b', 2, 3), read('r1', 'a', 4, 5)];
    for (const v of [checkRegularity(h), checkAtomicity(h)]) {
      expect(v).toHaveLength(1);
      expect(v[0]?.message).toContain('stale');
      const ev = v[0]?.evidence as Record<string, Record<string, Json>>;
      expect(ev['read']?.['invokedAt']).toBe(4);
      expect(ev['returnedWrite']?.['value']).toBe('a');
      expect(ev['lastPrecedingWrite']?.['value']).toBe('b');
    }
    expect(checkRegularity(h)[0]?.checker).toBe('regularity');
    expect(checkAtomicity(h)[0]?.checker).toBe('atomicity');
  });

  it('catch a value never written', () => {
    const h = [write('a', 0, 10), read('r1', 'zzz', 1, 2)];
    for (const [checker, v] of [
      ['regularity', checkRegularity(h)],
      ['atomicity', checkAtomicity(h)],
    ] as const) {
      expect(v).toHaveLength(1);
      // No write returned: the value read comes from nowhere.
      expect(v[0]).toMatchObject({
        checker,
        evidence: { read: { value: 'zzz' }, returnedWrite: null },
      });
    }
  });

  it('catch a read of ⊥ after a completed write', () => {
    const h = [write('a', 0, 1), read('r1', null, 2, 3)];
    for (const [checker, v] of [
      ['regularity', checkRegularity(h)],
      ['atomicity', checkAtomicity(h)],
    ] as const) {
      expect(v).toHaveLength(1);
      expect(v[0]).toMatchObject({
        checker,
        evidence: {
          read: { value: null },
          returnedWrite: null,
          lastPrecedingWrite: { value: 'a' },
        },
      });
    }
  });

  it('catch a read of a write invoked only after the read responded', () => {
    const h = [write('a', 0, 1), read('r1', 'b', 2, 3), write('b', 4, 5)];
    expect(checkRegularity(h)).toHaveLength(1);
  });

  it('catch a new/old inversion under atomicity only', () => {
    const h = [
      write('a', 0, 1),
      write('b', 2, 20),
      read('r1', 'b', 3, 4),
      read('r2', 'a', 5, 6), // concurrent with write b, so regular — but r1 already saw b
    ];
    expect(checkRegularity(h)).toEqual([]);
    const v = checkAtomicity(h);
    expect(v).toHaveLength(1);
    expect(v[0]?.checker).toBe('atomicity');
    const ev = v[0]?.evidence as Record<string, Record<string, Json>>;
    expect(ev['earlierRead']?.['value']).toBe('b');
    expect(ev['laterRead']?.['value']).toBe('a');
    expect(ev['newerWrite']?.['seq']).toBe(1);
    expect(ev['olderWrite']?.['seq']).toBe(0);
  });

  it('catch an inversion back to ⊥', () => {
    const h = [write('a', 0, 20), read('r1', 'a', 3, 4), read('r2', null, 5, 6)];
    expect(checkRegularity(h)).toEqual([]);
    expect(checkAtomicity(h)).toHaveLength(1);
  });

  it('report duplicate written values and malformed entries', () => {
    const dup = [write('a', 0, 1), write('a', 2, 3)];
    expect(checkRegularity(dup)[0]).toMatchObject({
      checker: 'regularity',
      evidence: [
        { value: 'a', invokedAt: 0 },
        { value: 'a', invokedAt: 2 },
      ],
    });
    const bad: HistoryEntry = {
      client: 'x',
      index: 0,
      op: { op: 'cas' },
      invokedAt: 0,
      result: null,
      respondedAt: null,
    };
    expect(checkAtomicity([bad])).toEqual([
      { checker: 'atomicity', message: expect.any(String), evidence: { op: 'cas' } },
    ]);
  });

  it('cap the number of listed violations', () => {
    const h = [write('a', 0, 1)];
    for (let i = 0; i < 30; i++) h.push(read('r', null, 10 + 2 * i, 11 + 2 * i));
    const v = checkRegularity(h);
    expect(v).toHaveLength(21);
    expect(v[20]?.message).toContain('10 more');
  });
});

// ---- property: atomicity of a single-writer register is linearizability ----

const arbRegisterHistory = fc
  .record({
    writes: fc.array(fc.record({ gap: fc.nat(6), length: fc.nat(6) }), { maxLength: 6 }),
    lastLost: fc.boolean(),
    reads: fc.array(
      fc.record({
        start: fc.nat(60),
        length: fc.nat(12),
        pick: fc.nat(),
        lost: fc.boolean(),
        client: fc.constantFrom('r1', 'r2', 'r3'),
      }),
      { maxLength: 8 },
    ),
  })
  .map(({ writes, lastLost, reads }) => {
    const h: HistoryEntry[] = [];
    let t = 0;
    writes.forEach((w, i) => {
      const start = t + w.gap;
      t = start + w.length + 1;
      const lost = lastLost && i === writes.length - 1;
      h.push(write(`v${i}`, start, lost ? null : t - 1));
    });
    for (const r of reads) {
      // Mostly values that were written, sometimes ⊥ or a never-written one.
      const choice = r.pick % (writes.length + 2);
      const value = choice < writes.length ? `v${choice}` : choice === writes.length ? null : 'v?';
      h.push(read(r.client, value, r.start, r.start + r.length));
    }
    return h;
  });

/** The same history as key-value operations on one key. */
function asKv(h: readonly HistoryEntry[]): HistoryEntry[] {
  return h.map((e): HistoryEntry => {
    const o = e.op as { op: string; value?: string };
    const isWrite = o.op === 'write';
    const r = e.result as { value?: string | null } | null;
    return {
      ...e,
      op: isWrite ? { op: 'put', key: 'k', value: o.value ?? '' } : { op: 'get', key: 'k' },
      result:
        r === null ? null : { ok: true, value: isWrite ? (o.value ?? '') : (r.value ?? null) },
    };
  });
}

describe('checkAtomicity (property)', () => {
  it('agrees with checkLinearizability on single-writer histories', () => {
    fc.assert(
      fc.property(arbRegisterHistory, (h) => {
        const atomic = checkAtomicity(h).length === 0;
        const linearizable = checkLinearizability(asKv(h)).length === 0;
        expect(atomic).toBe(linearizable);
        if (atomic) expect(checkRegularity(h)).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });
});
