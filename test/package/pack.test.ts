/**
 * The package as a user installs it: `npm pack` (which builds dist/ from the current sources
 * through the prepare script), the tarball installed into an empty directory from the
 * registry, and there, on plain Node with no tsx: `npx bftkit --help`, the README's library
 * examples against the installed `bftkit`, and `npx bftkit demo --duration 10 --json`.
 * Installing compiles better-sqlite3 (~90 s here); the rest comes from the npm cache or the
 * registry.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES } from './examples.js';

const root = join(import.meta.dirname, '../..');
/** tsx's loader (this repository's), for --import: it only strips the examples' types. */
const tsx = join(root, 'node_modules/tsx/dist/loader.mjs');
const work = mkdtempSync(join(tmpdir(), 'bftkit-pack-'));
const app = join(work, 'app');
let tarball = '';

function run(command: string, args: string[], cwd: string, timeout = 600_000) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

function ok(r: ReturnType<typeof run>, what: string): void {
  expect(r.status, `${what}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`).toBe(0);
}

describe('npm pack → npm install into an empty directory', () => {
  beforeAll(() => {
    ok(run('npm', ['pack', '--pack-destination', work], root), 'npm pack');
    const found = readdirSync(work).filter((f) => /^bftkit-.*\.tgz$/.test(f));
    expect(found).toHaveLength(1);
    tarball = join(work, found[0]!);
    mkdirSync(app);
    // An ES module project, as the examples are (top-level await).
    writeFileSync(
      join(app, 'package.json'),
      '{ "name": "app", "private": true, "type": "module" }\n',
    );
    ok(
      run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app, 900_000),
      `npm install ${tarball}`,
    );
  }, 1_200_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('the tarball holds dist/ with types, the scenarios, the schema, the docs and the demo keys, not the tests or sources', () => {
    const r = run('tar', ['tzf', tarball], work);
    ok(r, 'tar tzf');
    const files = r.stdout.split('\n').filter(Boolean);
    for (const file of [
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/cli/bin.js',
      'package/scenarios/pbft-honest.json',
      'package/scenario.schema.json',
      'package/docs/writing-an-adversary.md',
      'package/docs/examples/kv-cluster.ts',
      'package/keys/cluster.json',
      'package/README.md',
    ])
      expect(files, file).toContain(file);
    expect(files.filter((f) => f.startsWith('package/test/'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('package/src/'))).toEqual([]);
  });

  it('installs without tsx, and `npx bftkit --help` runs the compiled CLI', () => {
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false);
    const r = run('npx', ['bftkit', '--help'], app, 60_000);
    ok(r, 'npx bftkit --help');
    expect(r.stdout).toMatch(/Usage: bftkit/);
    expect(r.stdout).toMatch(/scenario/);
  });

  for (const example of EXAMPLES) {
    it(`the README example ${example.file} runs against the installed package`, () => {
      copyFileSync(
        join(app, 'node_modules/bftkit/docs/examples', example.file),
        join(app, example.file),
      );
      // `bftkit` resolves to node_modules/bftkit/dist: no tsconfig here maps it elsewhere.
      const r = run(process.execPath, ['--import', tsx, example.file], app, 120_000);
      ok(r, `the installed example ${example.file}`);
      for (const line of example.expect) expect(r.stdout).toMatch(line);
    });
  }

  it('renderTraceHtml bundles the trace viewer page from the compiled dist/web/page/', () => {
    const script = [
      "import { loadScenario, renderTraceHtml, runScenario } from 'bftkit';",
      "const { sim } = runScenario(loadScenario('register-honest'), { seed: 1, trace: 'full' });",
      'const html = renderTraceHtml(sim.traceJsonl());',
      // The bundle keeps its functions' names (it is not minified).
      "console.log(html.includes('function parseTrace('));",
      "console.log(html.includes('<script src=') ? 'external' : 'self-contained');",
    ].join('\n');
    writeFileSync(join(app, 'viewer.mjs'), script);
    const r = run(process.execPath, ['viewer.mjs'], app, 120_000);
    ok(r, 'renderTraceHtml from the installed package');
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['true', 'self-contained']);
  });

  it('`npx bftkit demo --duration 10 --json` ends ok', () => {
    const r = run('npx', ['bftkit', 'demo', '--duration', '10', '--json'], app, 180_000);
    ok(r, 'npx bftkit demo --duration 10 --json');
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(summary.ok, r.stdout).toBe(true);
    expect(summary.blocks).toBeGreaterThan(0);
  });
});
