/** `bftkit lab list | start LAB DIR | grade LAB [DIR]`: coursework labs and their grader. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, InputError } from '../core/errors.js';
import { formatGrade, grade } from '../labs/grade.js';
import type { Solution } from '../labs/lab.js';
import { findLab, knownLabs } from '../labs/labs.js';
import { loadSolution } from '../labs/load.js';
import { startWorkspace } from '../labs/workspace.js';
import { parseSeeds } from '../scenario/sweep.js';

export function listLabs(json: boolean): number {
  const labs = knownLabs().map((l) => ({
    name: l.name,
    kind: l.kind,
    title: l.title,
    hours: l.hours,
    topics: l.topics,
    points: l.tests.reduce((s, t) => s + t.points, 0),
  }));
  if (json) process.stdout.write(`${JSON.stringify(labs)}\n`);
  else
    for (const l of labs)
      process.stdout.write(
        `${l.name.padEnd(18)} ${l.kind.padEnd(6)} ~${l.hours} h  ${l.points} points  ${l.title}\n`,
      );
  return EXIT.ok;
}

export function startLab(name: string, dir: string): number {
  const lab = findLab(name);
  const files = startWorkspace(lab, dir);
  process.stdout.write(
    `wrote ${dir}: ${files.join(', ')}\nread ${join(dir, 'README.md')}, write ${join(dir, lab.file)}, then: npx bftkit lab grade ${lab.name} ${dir}\n`,
  );
  return EXIT.ok;
}

export async function gradeLab(
  name: string,
  dir: string,
  options: { json?: boolean; seeds?: string; test?: string; html?: string },
): Promise<number> {
  const lab = findLab(name);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new InputError(
      `${dir}: no such directory (start one with: bftkit lab start ${name} ${dir})`,
    );
  if (options.test !== undefined && !lab.tests.some((t) => t.name === options.test))
    throw new InputError(
      `--test: lab ${name} has no test "${options.test}"; its tests: ${lab.tests.map((t) => t.name).join(', ')}`,
    );
  const seeds = options.seeds === undefined ? undefined : parseSeeds(options.seeds);
  if (seeds !== undefined && seeds.to - seeds.from >= 1000)
    throw new InputError('--seeds: at most 1000 seeds per grade');
  let solution: Solution;
  try {
    solution = lab.validate(await loadSolution(join(dir, lab.file)));
  } catch (e) {
    // An autograder still gets its one JSON line per submission: zero, and why.
    if (options.json && e instanceof InputError) {
      const max = lab.tests.reduce((sum, t) => sum + t.points, 0);
      const line = {
        format: 'bftkit-grade/1',
        lab: lab.name,
        dir,
        score: 0,
        max,
        ok: false,
        error: e.message,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    throw e;
  }
  const report = grade(lab, solution, {
    dir,
    ...(seeds === undefined ? {} : { seeds }),
    ...(options.test === undefined ? {} : { test: options.test }),
    ...(options.html === undefined ? {} : { html: options.html }),
  });
  if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(formatGrade(report));
  return report.ok ? EXIT.ok : EXIT.failed;
}
