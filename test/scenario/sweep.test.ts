/**
 * The sweep's report of an unexpected outcome must name the command that reproduces it,
 * overrides included: a reproduce line without the sweep's --set runs another scenario.
 */
import { describe, expect, it } from 'vitest';
import { sweep } from '../../src/scenario/sweep.js';

describe('scenario sweep', () => {
  it('an unexpected run under --set is reproduced with the same --set', async () => {
    // 90% loss: the honest register cannot finish its operations in time.
    const summary = await sweep(
      'register-honest',
      { from: 1, to: 1 },
      {
        jobs: 1,
        sets: ['network.loss=0.9'],
      },
    );
    expect(summary.unexpected).toHaveLength(1);
    expect(summary.unexpected[0]?.reproduce).toBe(
      'npx bftkit scenario run register-honest --set network.loss=0.9 --seed 1',
    );
  });
});
