/**
 * How bftkit starts its own processes and worker threads (`cluster up`, `bench cluster`, the
 * demo, sweeps, Twins): from the same code it is running itself. Run from the TypeScript
 * sources (tsx, vitest: this file is `launcher.ts`), a replica is
 * `<node> [BFTKIT_NODE_ARGS…] scripts/bftkit.mjs node …` and a worker boots tsx first; run
 * from the compiled package (`dist/core/launcher.js`), a replica is `<node> dist/cli/bin.js
 * node …` on plain Node. So a test of an edited source never spawns a stale dist/.
 *
 * BFTKIT_NODE_ARGS holds extra flags for those node processes, split on spaces — for
 * profiling (`--cpu-prof --cpu-prof-dir=DIR`), which NODE_OPTIONS does not allow.
 */
import { fileURLToPath } from 'node:url';

const fromSources = import.meta.url.endsWith('.ts');

/** The script that runs the `bftkit` command, from sources or compiled like this module. */
export const BFTKIT = fileURLToPath(
  fromSources
    ? new URL('../../scripts/bftkit.mjs', import.meta.url)
    : new URL('../cli/bin.js', import.meta.url),
);

/** The argv (after the node executable) that runs `bftkit …args` as a replica process. */
export function bftkitProcessArgs(args: readonly string[]): string[] {
  const extra = (process.env.BFTKIT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return [...extra, BFTKIT, ...args];
}

/**
 * A worker thread that runs `module` (a path relative to `base`, without extension, e.g.
 * `'./sweep-worker'` from `import.meta.url`): the `.ts` source through tsx, or the compiled
 * `.js` directly. Returns the Worker's script and the workerData fields it needs.
 */
export function workerScript(base: string, module: string): { script: URL; entry: string } {
  const entry = new URL(`${module}${fromSources ? '.ts' : '.js'}`, base).href;
  return { script: fromSources ? WORKER_BOOT : new URL(entry), entry };
}

const WORKER_BOOT = new URL('../../scripts/worker-boot.mjs', import.meta.url);
