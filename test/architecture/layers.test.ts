import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderImports, layerViolations, readLayers } from './layers.js';

const SRC = 'src';
const layers = readLayers(readFileSync('docs/architecture.md', 'utf8'));

describe('the layers of src/ (docs/architecture.md)', () => {
  it('puts every folder of src/ in exactly one layer, and names no folder that is gone', () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect([...layers.keys()].sort()).toEqual([...folders, 'index'].sort());
  });

  it('has no import from a folder to one in its own layer or above', () => {
    const imports = folderImports(SRC);
    expect(imports.length).toBeGreaterThan(100);
    expect(layerViolations(layers, imports)).toEqual([]);
  });

  it('catches an upward, a sideways and an unplaced import (negative control)', () => {
    const upward = { file: 'core/x.ts', from: 'core', to: 'cli', specifier: '../cli/errors.js' };
    const sideways = { file: 'pbft/x.ts', from: 'pbft', to: 'raft', specifier: '../raft/log.js' };
    const unplaced = {
      file: 'nowhere/x.ts',
      from: 'nowhere',
      to: 'core',
      specifier: '../core/a.js',
    };
    const down = { file: 'cli/x.ts', from: 'cli', to: 'core', specifier: '../core/errors.js' };
    const found = layerViolations(layers, [upward, sideways, unplaced, down]);
    expect(found).toHaveLength(3);
    expect(found[0]).toContain('core (layer 2) may not use cli (layer 11)');
    expect(found[1]).toContain('pbft (layer 5) may not use raft (layer 5)');
    expect(found[2]).toContain('"nowhere" is in no layer');
  });

  it('reads type-only imports, re-exports and dynamic imports too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bftkit-layers-'));
    try {
      mkdirSync(join(dir, 'a'));
      writeFileSync(
        join(dir, 'a', 'x.ts'),
        [
          "import type { T } from '../b/t.js';",
          "export { u } from '../c/u.js';",
          "export async function f() { return import('../d/d.js'); }",
          "import { own } from './own.js';",
          "import { z } from 'zod';",
        ].join('\n'),
      );
      const found = folderImports(dir).map((i) => `${i.from}->${i.to}`);
      expect(found.sort()).toEqual(['a->b', 'a->c', 'a->d']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
