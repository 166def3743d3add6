/** Finding and validating scenario files: built-in by name, or any JSON file by path. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonPath } from '../core/cluster-file.js';
import { InputError } from '../core/errors.js';
import { ConfigError, checkFaultBound } from '../core/quorum.js';
import { findAdversary } from './adversaries.js';
import { findKit, UnknownNameError } from './kits.js';
import { type Scenario, scenarioSchema } from './schema.js';

export const BUILTIN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../scenarios');

export function builtinNames(): string[] {
  if (!existsSync(BUILTIN_DIR)) return [];
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

/**
 * A built-in name, or a path to a scenario file, with `--set path=value` overrides applied
 * before validation (`n=7`, `params.batchSize=8`; a value is JSON if it parses, else a string).
 */
export function loadScenario(nameOrPath: string, sets: readonly string[] = []): Scenario {
  const isPath = nameOrPath.endsWith('.json') || nameOrPath.includes('/');
  const path = isPath ? nameOrPath : join(BUILTIN_DIR, `${nameOrPath}.json`);
  if (!existsSync(path)) {
    throw new InputError(
      isPath
        ? `no scenario file ${nameOrPath}`
        : `unknown scenario "${nameOrPath}"; built-in scenarios: ${builtinNames().join(', ')}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  for (const set of sets) applySet(raw, set);
  return validateScenario(
    raw,
    sets.length === 0 ? path : `${path} (with --set ${sets.join(' --set ')})`,
  );
}

/** How a scenario was named on the command line, overrides included, to rerun it. */
export function scenarioRef(nameOrPath: string, sets: readonly string[] = []): string {
  return [nameOrPath, ...sets.map((s) => `--set ${s}`)].join(' ');
}

function applySet(raw: unknown, set: string): void {
  const match = /^([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)=(.*)$/s.exec(set);
  if (match === null)
    throw new InputError(`--set ${set}: expected path=value, e.g. n=7 or params.batchSize=8`);
  const path = match[1]!.split('.');
  let value: unknown;
  try {
    value = JSON.parse(match[2]!);
  } catch {
    value = match[2];
  }
  let target = raw as Record<string, unknown>;
  for (const part of path.slice(0, -1)) {
    const next = target[part] ?? {};
    if (typeof next !== 'object' || next === null || Array.isArray(next))
      throw new InputError(`--set ${set}: ${part} is not an object`);
    target[part] = next;
    target = next as Record<string, unknown>;
  }
  target[path.at(-1)!] = value;
}

/** Schema, then the cross-field rules; every error names the JSON path at fault. */
export function validateScenario(raw: unknown, source: string): Scenario {
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`${source}: ${jsonPath(issue.path)}: ${issue.message}`);
  }
  const scenario = parsed.data;
  const fail: Fail = (path, message) => {
    throw new InputError(`${source}: ${path}: ${message}`);
  };
  let model: 'byzantine' | 'crash' = 'byzantine';
  try {
    model = findKit(scenario.protocol).definition.model;
  } catch (e) {
    if (e instanceof UnknownNameError) fail('$.protocol', e.message);
    throw e;
  }
  try {
    checkFaultBound(model, scenario.n, scenario.f, scenario.unsafe);
  } catch (e) {
    if (e instanceof ConfigError) fail('$.f', e.message);
    throw e;
  }
  const replicas = new Set(Array.from({ length: scenario.n }, (_, i) => `n${i}`));
  const clients = new Set(Array.from({ length: scenario.clients }, (_, i) => `c${i}`));
  const nodes = new Set([
    ...replicas,
    ...clients,
    // a twin's second instance ("n0'") may be named in a partition, like any instance
    ...scenario.twins.map((id) => `${id}'`),
  ]);
  checkAdversaries(scenario, replicas, clients, fail);
  checkFaults(scenario, nodes, fail);
  scenario.twins.forEach((id, i) => {
    if (!replicas.has(id)) fail(`$.twins[${i}]`, `no replica "${id}"`);
  });
  return scenario;
}

type Fail = (path: string, message: string) => never;

/** Each adversary names a node of the role it replaces, and parameters its schema accepts. */
function checkAdversaries(
  scenario: Scenario,
  replicas: ReadonlySet<string>,
  clients: ReadonlySet<string>,
  fail: Fail,
): void {
  scenario.adversaries.forEach((adversary, i) => {
    if (!replicas.has(adversary.node) && !clients.has(adversary.node))
      fail(`$.adversaries[${i}].node`, `no replica or client "${adversary.node}"`);
    try {
      const definition = findAdversary(adversary.name, scenario.protocol);
      const role = definition.role ?? 'replica';
      if (!(role === 'client' ? clients : replicas).has(adversary.node))
        fail(
          `$.adversaries[${i}].node`,
          `"${adversary.name}" replaces a ${role}, and "${adversary.node}" is not one`,
        );
      const params = definition.params.safeParse(adversary.params ?? {});
      if (!params.success) {
        const issue = params.error.issues[0]!;
        fail(`$.adversaries[${i}].params${jsonPath(issue.path).slice(1)}`, issue.message);
      }
    } catch (e) {
      if (e instanceof UnknownNameError) fail(`$.adversaries[${i}].name`, e.message);
      throw e;
    }
  });
}

/** Each fault names existing nodes (or a role) and happens before the end. */
function checkFaults(scenario: Scenario, nodes: ReadonlySet<string>, fail: Fail): void {
  scenario.faults.forEach((fault, i) => {
    const named =
      fault.action === 'crash' || fault.action === 'restart'
        ? [fault.node]
        : fault.action === 'partition'
          ? fault.blocks.flat()
          : [];
    for (const name of named) {
      if (!['leader', 'primary', 'all'].includes(name) && !nodes.has(name))
        fail(`$.faults[${i}]`, `no node "${name}"`);
    }
    if (fault.at > scenario.duration)
      fail(`$.faults[${i}].at`, `${fault.at} is after the end (${scenario.duration})`);
  });
}
