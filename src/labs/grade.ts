/**
 * Grading: run every test of a lab over a seed range against the student's module and score
 * it. A test's points are all or nothing; a failure carries the command that reruns exactly
 * that test on that seed, with a trace viewer page to open.
 */
import { writeFileSync } from 'node:fs';
import { renderTraceHtml } from '../web/trace-viewer.js';
import type { Lab, LabTest, RunOutcome, Solution } from './lab.js';

export interface Seeds {
  from: number;
  to: number;
}

export interface Failure {
  seed: number | null;
  detail: string;
  reproduce: string;
}

export interface TestResult {
  test: string;
  description: string;
  required: boolean;
  seeds: Seeds;
  runs: number;
  /** Runs whose outcome was the one wanted (for an attack: seeds it broke). */
  passed: number;
  ok: boolean;
  points: number;
  max: number;
  /** A test that needs one seed (an attack): the run that passed, and what it found. */
  found?: { seed: number; detail: string };
  failures: Failure[];
}

export interface GradeReport {
  format: 'bftkit-grade/1';
  lab: string;
  dir: string;
  seeds: Seeds;
  score: number;
  max: number;
  /** Every required test passed. */
  ok: boolean;
  wallMs: number;
  tests: TestResult[];
}

export interface GradeOptions {
  dir: string;
  seeds?: Seeds;
  /** Run only this test. */
  test?: string;
  /** Write the trace viewer of the first failing run (or of the first run) to this file. */
  html?: string;
}

/** How many failing seeds a test lists (the rest are counted). */
const LISTED_FAILURES = 3;

function reproduce(lab: Lab, dir: string, test: string, from: number, to: number): string {
  const command = `npx bftkit lab grade ${lab.name} ${dir} --test ${test} --seeds ${from}..${to}`;
  const traced = lab.tests.find((t) => t.name === test)?.traced === true;
  return traced ? `${command} --html ${lab.name}-${test}-${from}.html` : command;
}

/** What to list of a test's failures: the first few failing seeds, or the attack that never hit. */
function failuresOf(
  lab: Lab,
  test: LabTest,
  outcomes: readonly { seed: number; outcome: RunOutcome }[],
  ok: boolean,
  seeds: Seeds,
  dir: string,
): Failure[] {
  if (test.mode === 'all')
    return outcomes
      .filter((o) => !o.outcome.ok)
      .slice(0, LISTED_FAILURES)
      .map(({ seed, outcome }) => ({
        seed,
        detail: outcome.detail,
        reproduce: reproduce(lab, dir, test.name, seed, seed),
      }));
  if (ok) return [];
  return [
    {
      seed: null,
      detail: `no seed in ${seeds.from}..${seeds.to} did it (last: ${outcomes.at(-1)?.outcome.detail})`,
      reproduce: reproduce(lab, dir, test.name, seeds.from, seeds.to),
    },
  ];
}

/** Points need the test and every test it builds on (containment counts for a real attack). */
function award(lab: Lab, results: TestResult[], seeds: Seeds, dir: string): void {
  for (const result of results) {
    const needs = lab.tests.find((t) => t.name === result.test)?.needs ?? [];
    const unmet = needs.filter((n) => results.find((r) => r.test === n)?.ok !== true);
    result.points = result.ok && unmet.length === 0 ? result.max : 0;
    if (result.ok && unmet.length > 0)
      result.failures.push({
        seed: null,
        detail: `no points until ${unmet.join(', ')} passes`,
        reproduce: reproduce(lab, dir, unmet[0] ?? result.test, seeds.from, seeds.to),
      });
  }
}

export function grade(lab: Lab, solution: Solution, options: GradeOptions): GradeReport {
  const start = performance.now();
  const seeds = options.seeds ?? lab.seeds;
  const tests =
    options.test === undefined ? lab.tests : lab.tests.filter((t) => t.name === options.test);
  const results: TestResult[] = [];
  let traced: { outcome: RunOutcome; test: string; seed: number } | undefined;
  for (const test of tests) {
    const outcomes: { seed: number; outcome: RunOutcome }[] = [];
    for (let seed = seeds.from; seed <= seeds.to; seed++) {
      const outcome = test.run(solution, seed, options.html !== undefined && test.traced);
      outcomes.push({ seed, outcome });
      if (options.html !== undefined && outcome.sim !== undefined) {
        if (traced === undefined || (traced.outcome.ok && !outcome.ok))
          traced = { outcome, test: test.name, seed };
      }
      // An attack needs one schedule it breaks; stop at the first.
      if (test.mode === 'any' && outcome.ok) break;
    }
    const passed = outcomes.filter((o) => o.outcome.ok).length;
    const hit = test.mode === 'any' ? outcomes.find((o) => o.outcome.ok) : undefined;
    const ok = test.mode === 'all' ? passed === outcomes.length : passed > 0;
    const failures = failuresOf(lab, test, outcomes, ok, seeds, options.dir);
    results.push({
      test: test.name,
      description: test.description,
      required: test.required,
      seeds,
      runs: outcomes.length,
      passed,
      ok,
      points: 0,
      max: test.points,
      ...(hit === undefined ? {} : { found: { seed: hit.seed, detail: hit.outcome.detail } }),
      failures,
    });
  }
  award(lab, results, seeds, options.dir);
  if (options.html !== undefined && traced?.outcome.sim !== undefined) {
    const title = `lab ${lab.name}, test ${traced.test}, seed ${traced.seed} — trace viewer`;
    writeFileSync(options.html, renderTraceHtml(traced.outcome.sim.traceJsonl(), { title }));
  }
  return {
    format: 'bftkit-grade/1',
    lab: lab.name,
    dir: options.dir,
    seeds,
    score: results.reduce((s, r) => s + r.points, 0),
    max: results.reduce((s, r) => s + r.max, 0),
    ok: results.every((r) => !r.required || r.points === r.max),
    wallMs: Math.round(performance.now() - start),
    tests: results,
  };
}

export function formatGrade(report: GradeReport): string {
  const rows = report.tests.map((r) => [
    r.test,
    `${r.seeds.from}..${r.seeds.to}`,
    `${r.passed}/${r.runs}`,
    `${r.points}/${r.max}`,
    r.ok && r.points === r.max ? 'ok' : 'FAIL',
  ]);
  const header = ['test', 'seeds', 'passed', 'points', ''];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [`lab ${report.lab} — ${report.dir}`, line(header), ...rows.map(line)];
  out.push(`score: ${report.score}/${report.max} (${(report.wallMs / 1000).toFixed(1)} s)`);
  for (const r of report.tests)
    if (r.found !== undefined) out.push(`\n${r.test} seed ${r.found.seed}: ${r.found.detail}`);
  for (const r of report.tests)
    for (const f of r.failures) {
      out.push(`\n${r.test}${f.seed === null ? '' : ` seed ${f.seed}`}: ${f.detail}`);
      out.push(`  reproduce: ${f.reproduce}`);
    }
  return `${out.join('\n')}\n`;
}
