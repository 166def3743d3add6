/**
 * The layer rule of docs/architecture.md: the layers are read from the document's `layers`
 * block, the imports from the sources, so the picture and the check cannot drift apart.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import ts from 'typescript';

/** Folder (or `index` for src/index.ts) → its layer number, from the `layers` block. */
export function readLayers(markdown: string): Map<string, number> {
  const block = /```layers\n([\s\S]*?)```/.exec(markdown);
  if (block === null) throw new Error('docs/architecture.md has no ```layers block');
  const layers = new Map<string, number>();
  for (const line of (block[1] as string).split('\n')) {
    const m = /^\s*(\d+)\s+(.+?)\s*$/.exec(line);
    if (m === null) continue;
    for (const folder of (m[2] as string).split(/\s+/)) {
      if (layers.has(folder)) throw new Error(`${folder} is in two layers`);
      layers.set(folder, Number(m[1]));
    }
  }
  return layers;
}

export interface Import {
  file: string;
  from: string;
  to: string;
  specifier: string;
}

/** The folder of a path under src/ (`index` for src/index.ts). */
function folderOf(pathUnderSrc: string): string {
  const parts = pathUnderSrc.split(sep);
  return parts.length === 1 ? (parts[0] as string).replace(/\.[jt]s$/, '') : (parts[0] as string);
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

/** Every relative import between two folders of `srcDir` (static, type-only, re-export, dynamic). */
export function folderImports(srcDir: string): Import[] {
  const imports: Import[] = [];
  for (const file of sourceFiles(srcDir)) {
    const from = folderOf(relative(srcDir, file));
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of info.importedFiles) {
      if (!specifier.startsWith('.')) continue;
      const target = relative(srcDir, normalize(join(dirname(file), specifier)));
      if (target.startsWith('..')) continue;
      const to = folderOf(target);
      if (to !== from) imports.push({ file: relative(srcDir, file), from, to, specifier });
    }
  }
  return imports;
}

/** The imports that break the rule: to a layer above, to the same layer, or to no layer. */
export function layerViolations(layers: Map<string, number>, imports: readonly Import[]): string[] {
  const out: string[] = [];
  for (const i of imports) {
    const a = layers.get(i.from);
    const b = layers.get(i.to);
    if (a === undefined || b === undefined)
      out.push(`${i.file}: "${a === undefined ? i.from : i.to}" is in no layer`);
    else if (b >= a)
      out.push(
        `${i.file} imports ${i.specifier}: ${i.from} (layer ${a}) may not use ${i.to} (layer ${b})`,
      );
  }
  return out;
}
