/**
 * Running Twins schedules: a schedule compiles to a valid scenario file, runs are
 * deterministic, and over one seeded sample the generator finds violations in PBFT configured
 * with crash-fault quorums and none in PBFT — the same schedules, run in worker threads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BFTKIT } from '../../src/core/launcher.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/runner.js';
import { scheduleAt, spaceSize } from '../../src/twins/generate.js';
import {
  compileSchedule,
  runSchedule,
  type TwinsConfig,
  twinsConfig,
} from '../../src/twins/run.js';
import { runTwins } from '../../src/twins/twins.js';

const root = join(import.meta.dirname, '../..');

/** Small and quick: n = 5 (so a crash quorum, 3, differs from PBFT's, 4), two rounds. */
function small(protocol: TwinsConfig['protocol']): TwinsConfig {
  return twinsConfig({
    protocol,
    n: 5,
    f: 1,
    rounds: 2,
    partitions: 2,
    seed: 1,
    roundMs: 1000,
    syncMs: 1000,
    operations: 6,
  });
}

function bftkit(...args: string[]) {
  const r = spawnSync(process.execPath, [BFTKIT, ...args], {
    encoding: 'utf8',
    cwd: root,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('compiling a schedule', () => {
  it('gives a scenario file the scenario runner accepts, with every instance placed', () => {
    const config = twinsConfig({ rounds: 3, partitions: 2 });
    const schedule = scheduleAt(config, 9_876n);
    const scenario = compileSchedule(config, schedule);
    expect(scenario.protocol).toBe('pbft');
    expect([scenario.n, scenario.f, scenario.clients]).toEqual([4, 1, 2]);
    expect(scenario.twins).toEqual(schedule.twins);
    expect(scenario.duration).toBe(3 * config.roundMs + config.syncMs);
    const partitions = scenario.faults.filter((f) => f.action === 'partition');
    expect(partitions.map((f) => f.at)).toEqual([0, 1500, 3000]);
    expect(scenario.faults.at(-1)).toEqual({ at: 4500, action: 'heal' });
    partitions.forEach((fault, r) => {
      if (fault.action !== 'partition') return;
      const named = fault.blocks.flat().sort();
      expect(named).toEqual([...schedule.instances, 'c0', 'c1'].sort());
      expect(fault.blocks[0]).toContain('c0');
      expect(fault.blocks[1]).toContain('c1');
      expect(fault.blocks.map((b) => b.filter((x) => !x.startsWith('c')))).toEqual(
        schedule.rounds[r],
      );
    });
  });

  it('sets the variant: its parameters, and the f that fixes the quorum', () => {
    const schedule = scheduleAt(small('pbft'), 42n);
    const unsafe = twinsConfig({ protocol: 'pbft-unsafe-new-view' });
    expect(compileSchedule(unsafe, scheduleAt(unsafe, 42n)).params.unsafeSkipNewViewCheck).toBe(
      true,
    );
    expect(compileSchedule(small('pbft'), schedule).f).toBe(1);
    expect(compileSchedule(small('pbft-crash-quorum'), schedule).f).toBe(0);
  });

  it('runs the same way twice, and the same as its scenario file', () => {
    const config = small('pbft-crash-quorum');
    const schedule = scheduleAt(config, 1_756n);
    const a = runSchedule(config, schedule);
    const b = runSchedule(config, schedule);
    expect({ ...a, wallMs: 0 }).toEqual({ ...b, wallMs: 0 });
    const { report } = runScenario(compileSchedule(config, schedule), { trace: 'notes' });
    expect(report.safety.violations.map((v) => v.message)).toEqual(
      a.violations.map((v) => v.message),
    );
  });
});

describe('one sample, two protocols', () => {
  it('finds violations with crash-fault quorums and none in PBFT', async () => {
    const sample = 30;
    const real = await runTwins(small('pbft'), { sample, jobs: 2 });
    const crash = await runTwins(small('pbft-crash-quorum'), { sample, jobs: 2 });
    expect(real.spaceSize).toBe((5n * 31n ** 2n).toString());
    expect(real.runs).toBe(sample);
    expect(crash.results.map((r) => r.index)).toEqual(real.results.map((r) => r.index));
    expect(real.results.every((r) => !r.crashed)).toBe(true);
    expect(real.violations).toEqual([]);
    expect(crash.violating).toBeGreaterThan(0);
    expect(crash.violations[0]!.violations[0]!.checker).toBe('pbft.agreement');
    // the real protocol still makes progress on these schedules
    const completed = real.results.reduce((sum, r) => sum + r.completed, 0);
    expect(completed).toBeGreaterThan(sample * 6);
  });
});

describe('bftkit scenario twins', () => {
  it('rejects bad input with exit code 2', () => {
    expect(bftkit('scenario', 'twins', '--protocol', 'raft').code).toBe(2);
    expect(bftkit('scenario', 'twins', '--partitions', '9').code).toBe(2);
    expect(bftkit('scenario', 'twins', '--protocol', 'pbft-crash-quorum').code).toBe(2);
    const only = bftkit('scenario', 'twins', '--only', String(spaceSize(twinsConfig())));
    expect(only.code).toBe(2);
    expect(only.stderr).toMatch(/outside the schedule space/);
  });

  it('reproduces a violating schedule with --only, and writes it as a replayable scenario', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bftkit-twins-')), 'twins.json');
    const args = ['--protocol', 'pbft-crash-quorum', '--replicas', '5', '--rounds', '2'];
    const r = bftkit('scenario', 'twins', ...args, '--only', '1756', '--write-scenario', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/schedule space: 5 twin choice\(s\) × S\(6,2\)\^2 = .* = 4805/);
    expect(r.stdout).toMatch(/1 of 1 schedules violated safety/);
    expect(r.stdout).toMatch(/reproduce: npx bftkit scenario twins .*--only 1756/);
    expect(loadScenario(file).twins).toEqual(['n1']);
    const replay = bftkit('scenario', 'run', file);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toMatch(/\[pbft\.agreement\] conflicting commits/);
  });
});
