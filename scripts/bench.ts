/**
 * `npm run bench [-- name…]`: measures; never asserts. With no name, runs every benchmark but
 * the long ones run only on request (raft-soak).
 * Numbers are medians of several runs; the machine is shared, so compare ratios measured in
 * one run rather than figures from different days.
 */
import { benchmarks, onRequestOnly } from '../src/bench/index.js';

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}\n`,
  );
  process.exit(2);
}
const everyday = Object.keys(benchmarks).filter((name) => !onRequestOnly.has(name));
for (const name of wanted.length > 0 ? wanted : everyday) {
  process.stdout.write(`\n## ${name}\n`);
  await benchmarks[name]!();
}
