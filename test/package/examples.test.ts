/**
 * The public API as a user meets it: `import … from 'bftkit'` (vitest and tsx resolve the
 * name to src/index.ts, so this tests the sources being edited), and every example of the
 * README's "Use it as a library" section run as its own process, its output checked. The
 * README shows each example file verbatim.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as bftkit from 'bftkit';
import { describe, expect, it } from 'vitest';
import { EXAMPLES } from './examples.js';

const root = join(import.meta.dirname, '../..');
const examplesDir = join(root, 'docs/examples');

describe('the package by its name', () => {
  it('exports the documented API and nothing of the CLI', () => {
    for (const name of [
      'signatureBackends',
      'fastBackend',
      'generateKey',
      'signEnvelope',
      'admitEnvelope',
      'KeyRing',
      'Simulation',
      'runScenario',
      'validateScenario',
      'checkLinearizability',
      'checkRegularity',
      'checkPbft',
      'wrapHonest',
      'interceptSends',
      'KvClient',
      'LedgerClient',
      'startNode',
      'ProcessHost',
    ])
      expect(bftkit, name).toHaveProperty(name);
    expect(bftkit).not.toHaveProperty('main');
    expect(bftkit).not.toHaveProperty('buildProgram');
  });

  it('signatureBackends holds noble and node, and the fast default is one of them', () => {
    const names = Object.keys(bftkit.signatureBackends);
    expect(names).toEqual(expect.arrayContaining(['noble', 'node']));
    expect(bftkit.signatureBackends[bftkit.fastBackend.name]).toBe(bftkit.fastBackend);
  });

  it('a checker from the package finds a violation: a read of a value never written', () => {
    const history = [
      {
        client: 'c0',
        index: 0,
        op: { op: 'get', key: 'k' },
        invokedAt: 0,
        respondedAt: 5,
        result: { ok: true, value: 'never-written' },
      },
    ];
    expect(bftkit.checkLinearizability(history)).toHaveLength(1);
  });
});

describe('README: Use it as a library', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it as a library'));
  const end = section.indexOf('\n## ', 4);
  const library = end === -1 ? section : section.slice(0, end);

  it('every example file is listed, and the README shows it verbatim', () => {
    const files = readdirSync(examplesDir).filter((f) => f.endsWith('.ts'));
    expect(files.sort()).toEqual(EXAMPLES.map((e) => e.file).sort());
    for (const file of files) {
      const text = readFileSync(join(examplesDir, file), 'utf8');
      expect(library, file).toContain(`docs/examples/${file}`);
      expect(library, `${file} is not shown verbatim`).toContain(text.trim());
    }
  });

  for (const example of EXAMPLES) {
    it(`docs/examples/${example.file} runs`, () => {
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', join('docs/examples', example.file)],
        {
          cwd: root,
          encoding: 'utf8',
          timeout: 90_000,
        },
      );
      const reproduce = `npx tsx docs/examples/${example.file}`;
      expect(r.status, `${reproduce}\n${r.stdout}\n${r.stderr}`).toBe(0);
      for (const line of example.expect) expect(r.stdout, reproduce).toMatch(line);
    });
  }
});
