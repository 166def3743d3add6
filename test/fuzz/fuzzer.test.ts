/**
 * The fuzzer's CI run (a long run is `npm run fuzz -- --frames 1000000`, see the README), and
 * its negative test: a core with a planted bug must be caught.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolFactory } from '../../src/core/protocol.js';
import type { Json } from '../../src/crypto/json.js';
import { fuzz } from '../../src/fuzz/fuzz.js';

const FRAMES = 20_000;

function hasBigNumber(value: Json): boolean {
  if (typeof value === 'number') return value > 1e9;
  if (Array.isArray(value)) return value.some(hasBigNumber);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasBigNumber);
  return false;
}

describe('frame fuzzer', () => {
  it(`${FRAMES} mutated real frames of every protocol: no exception, no hang, none wrongly accepted`, () => {
    const report = fuzz({ frames: FRAMES, seed: 1 });
    if (report.failures.length > 0)
      console.error(JSON.stringify(report.failures, null, 2), `\nreproduce: ${report.reproduce}`);
    expect(report.frames).toBe(FRAMES);
    expect(report.corpora.length).toBeGreaterThanOrEqual(9);
    expect(report.reachedCore).toBeGreaterThan(0);
    expect(report.exceptions).toBe(0);
    expect(report.wronglyAccepted).toBe(0);
    // Hangs are reported (a frame over 1 s), not asserted: tests never assert a duration.
    console.log(
      `fuzz: ${report.frames} frames, ${report.hangs} hangs, slowest ${report.slowestFrameMs} ms, ${report.wallMs} ms`,
    );
  }, 600_000);

  it('catches a core that breaks on big numbers (a planted bug)', () => {
    const breakOnBigNumbers =
      (factory: ProtocolFactory): ProtocolFactory =>
      (ctx) => {
        const core = factory(ctx);
        const onMessage = core.onMessage.bind(core);
        core.onMessage = (from, message) => {
          if (hasBigNumber(message.body)) throw new Error('planted: number too big');
          onMessage(from, message);
        };
        return core;
      };
    const report = fuzz({
      frames: 3_000,
      seed: 3,
      scenarios: ['pbft-honest'],
      wrap: breakOnBigNumbers,
    });
    expect(report.exceptions).toBeGreaterThan(0);
    expect(
      report.failures.some((f) => f.kind === 'exception' && f.detail.includes('planted')),
    ).toBe(true);
  }, 600_000);
});
