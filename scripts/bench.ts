/**
 * `npm run bench [-- name…]`: measures; never asserts. With no name, runs every benchmark.
 * Numbers are medians of several runs; the machine is shared, so compare ratios measured in
 * one run rather than figures from different days.
 */
import { benchmarks } from '../src/bench/index.js';

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}\n`,
  );
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(benchmarks)) {
  process.stdout.write(`\n## ${name}\n`);
  await benchmarks[name]!();
}
