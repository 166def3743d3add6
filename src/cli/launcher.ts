/**
 * How bftkit starts its own replica processes (`cluster up`, `bench cluster`, the demo):
 * `<node> [BFTKIT_NODE_ARGS…] scripts/bftkit.mjs node …`.
 *
 * BFTKIT_NODE_ARGS holds extra flags for those node processes, split on spaces — for
 * profiling (`--cpu-prof --cpu-prof-dir=DIR`), which NODE_OPTIONS does not allow.
 */
import { fileURLToPath } from 'node:url';

export const BFTKIT = fileURLToPath(new URL('../../scripts/bftkit.mjs', import.meta.url));

/** The argv (after the node executable) that runs `bftkit …args` as a replica process. */
export function bftkitProcessArgs(args: readonly string[]): string[] {
  const extra = (process.env.BFTKIT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return [...extra, BFTKIT, ...args];
}
