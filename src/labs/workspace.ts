/**
 * `bftkit lab start LAB DIR`: a student workspace — the handout (README.md), the skeleton,
 * and what makes `import … from 'bftkit'` resolve there for the editor and for `npx tsc`:
 * node_modules/bftkit linking to this package, node_modules/.bin/bftkit to its command (so
 * that `npx bftkit` there runs this package), and a tsconfig.json.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.js';
import type { Lab } from './lab.js';

/** The package root (src/labs/.. /.. or dist/labs/../..). */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/** labs/<name>/ in the package: the handout and the skeleton. */
export function labDir(lab: Lab): string {
  return join(packageRoot, 'labs', lab.name);
}

function tsconfig(): string {
  const source = join(packageRoot, 'src', 'index.ts');
  const options: Record<string, unknown> = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    typeRoots: [join(packageRoot, 'node_modules', '@types')],
  };
  // From a clone (no dist/ until `npm run build`), the sources give the types.
  if (existsSync(source)) options.paths = { bftkit: [source] };
  return `${JSON.stringify({ compilerOptions: options, include: ['*.ts'] }, null, 2)}\n`;
}

/** The `bftkit` command of this package: its sources through tsx, or the compiled bin. */
function launcher(): string {
  const sources = join(packageRoot, 'scripts', 'bftkit.mjs');
  return existsSync(join(packageRoot, 'src', 'index.ts')) && existsSync(sources)
    ? sources
    : join(packageRoot, 'dist', 'cli', 'bin.js');
}

export function startWorkspace(lab: Lab, dir: string): string[] {
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0)
    throw new InputError(`${dir}: exists and is not empty (start a lab in a new directory)`);
  mkdirSync(join(target, 'node_modules'), { recursive: true });
  copyFileSync(join(labDir(lab), 'README.md'), join(target, 'README.md'));
  copyFileSync(join(labDir(lab), lab.file), join(target, lab.file));
  symlinkSync(packageRoot, join(target, 'node_modules', 'bftkit'), 'dir');
  // `npx bftkit …` in the workspace must run this package, never fetch one from a registry.
  mkdirSync(join(target, 'node_modules', '.bin'));
  symlinkSync(launcher(), join(target, 'node_modules', '.bin', 'bftkit'));
  // The handout's type-check (`npx tsc`) uses bftkit's own TypeScript when it has one.
  const tsc = join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  if (existsSync(tsc)) symlinkSync(tsc, join(target, 'node_modules', '.bin', 'tsc'));
  writeFileSync(join(target, 'tsconfig.json'), tsconfig());
  writeFileSync(
    join(target, 'package.json'),
    `${JSON.stringify({ name: `bftkit-lab-${lab.name}`, private: true, type: 'module' }, null, 2)}\n`,
  );
  return [
    'README.md',
    lab.file,
    'tsconfig.json',
    'package.json',
    'node_modules/bftkit',
    'node_modules/.bin/bftkit',
  ];
}
