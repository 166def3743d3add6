/**
 * The pages' scripts (src/web/page/*.ts: typed, linted, checked against the DOM's types)
 * bundled by esbuild into one classic script each, to be inlined in a self-contained HTML
 * page. Built on first use and kept for the life of the process.
 *
 * Run from the sources the entry is the `.ts` file; from the package, the `.js` that
 * `npm run build` compiled beside this module in dist/ — esbuild bundles either.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type PageName = 'trace-viewer' | 'dashboard';

const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const built = new Map<PageName, string>();

/** The bundled script of a page, ready to go between <script> and </script>. */
export function pageScript(name: PageName): string {
  let text = built.get(name);
  if (text === undefined) {
    text = bundle(name);
    built.set(name, text);
  }
  return text;
}

function bundle(name: PageName): string {
  // Synchronous, because renderTraceHtml is (public API); loaded only when a page is first
  // rendered, so that a process that never renders one never starts esbuild.
  const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const entry = fileURLToPath(new URL(`./page/${name}${extension}`, import.meta.url));
  const result = buildSync({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    legalComments: 'none',
  });
  const text = result.outputFiles[0]?.text;
  if (text === undefined) throw new Error(`esbuild produced no script for the ${name} page`);
  // Inlined in <script>: a "</script" anywhere in it would end the element early.
  if (/<\/script/i.test(text)) throw new Error(`the ${name} page script contains "</script"`);
  return text;
}
