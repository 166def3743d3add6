/**
 * Loading a student's TypeScript file into the grader's own runtime. esbuild compiles it (and
 * any relative file it imports) into one ES module in which `bftkit` is this very package's
 * public API — the module the grader itself runs, so there is one simulator, one set of
 * checkers. Any other package import is refused: a lab uses the public API only.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { InputError } from '../core/errors.js';
import type { Solution } from './lab.js';

/** src/index.ts when bftkit runs from its sources (tsx), dist/index.js when built. */
function publicApiUrl(): string {
  const ts = new URL('../index.ts', import.meta.url);
  return existsSync(fileURLToPath(ts)) ? ts.href : new URL('../index.js', import.meta.url).href;
}

const onlyPublicApi: Plugin = {
  name: 'bftkit-public-api',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path === 'bftkit') return { path: publicApiUrl(), external: true };
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      return {
        errors: [{ text: `imports "${args.path}": a lab may import only from 'bftkit' and node:` }],
      };
    });
  },
};

export async function loadSolution(file: string): Promise<Solution> {
  if (!existsSync(file)) throw new InputError(`${file}: no such file`);
  let code: string;
  try {
    const out = await build({
      entryPoints: [file],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      logLevel: 'silent',
      plugins: [onlyPublicApi],
    });
    code = out.outputFiles[0]?.text ?? '';
  } catch (e) {
    const errors = (
      e as { errors?: { text: string; location?: { line: number; column: number } }[] }
    ).errors;
    const first = errors?.[0];
    if (first === undefined) throw e;
    const where = first.location ? `:${first.location.line}:${first.location.column}` : '';
    throw new InputError(`${file}${where}: ${first.text}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'bftkit-lab-'));
  const compiled = join(dir, 'solution.mjs');
  try {
    writeFileSync(compiled, code);
    return (await import(pathToFileURL(compiled).href)) as Solution;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
