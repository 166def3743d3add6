/**
 * The README's library examples (docs/examples/*.ts), each with what its output must show.
 * Shared by examples.test.ts (against the sources) and pack.test.ts (against the installed
 * tarball).
 */
export interface Example {
  file: string;
  /** Lines the output must contain. */
  expect: RegExp[];
}

export const EXAMPLES: readonly Example[] = [
  {
    file: 'keys-and-envelopes.ts',
    expect: [
      /^noble: true \/ tampered false$/m,
      /^node: true \/ tampered false$/m,
      /^fast default: (sodium|node)$/m,
    ],
  },
  {
    file: 'scenario.ts',
    expect: [
      /^my-register seed 7: OK$/m,
      /^regularity violations: 0$/m,
      /^deterministic: true$/m,
      /^pbft-equivocating-primary: OK$/m,
    ],
  },
  {
    file: 'protocol.ts',
    expect: ['n0', 'n1', 'n2', 'n3'].map((n) => new RegExp(`ms ${n}: \\{ accepted: 'hello' \\}`)),
  },
  {
    file: 'adversary.ts',
    expect: [
      /^flaky-replica: OK, n2 withheld [1-9]\d* messages$/m,
      /^safety held, 20 operations$/m,
    ],
  },
  {
    file: 'kv-cluster.ts',
    expect: [
      /^put \{ ok: true, value: 'blue' \}$/m,
      /^get \{ ok: true, value: 'blue' \}$/m,
      /^cas blue→red \{ ok: true, value: 'red' \}$/m,
      /^cas blue→green \{ ok: false, value: 'red' \}$/m,
      /^n0 \/status: pbft, cluster /m,
    ],
  },
  {
    file: 'ledger-cluster.ts',
    expect: [
      /^c0 → c1 10: applied in block \d+$/m,
      /^c0 → c1 25: applied in block \d+$/m,
      /^c0 → c1 10\^9: rejected .*insufficient-funds/m,
    ],
  },
];
