import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli';
import { tempFolder } from '../helpers/evidence';

/**
 * .ci/run's last line must count every way a run can fail, not only failed tests. These run
 * vitest as .ci/run does (JSON report + .ci/failure-reporter.mjs) on deliberately failing
 * fixtures, then the summary script on what it wrote.
 */
const SUMMARY = path.join(REPO, '.ci', 'vitest-summary.cjs');
const LAST_LINE = /^(\d+) passed, (\d+) failed$/;

function runFixtures(dir: string, filters: string[]): { status: number; json: string; failures: string } {
  const json = path.join(dir, 'vitest.json');
  const failures = path.join(dir, 'vitest-failures.json');
  const r = spawnSync(
    process.execPath,
    [path.join(REPO, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', 'test/ci/fixtures/vitest.config.ts', '--reporter=dot', '--reporter=json', `--outputFile.json=${json}`, '--reporter=./.ci/failure-reporter.mjs', ...filters],
    { cwd: REPO, encoding: 'utf8', env: { ...process.env, MIGWB_VITEST_FAILURES: failures } },
  );
  return { status: r.status ?? -1, json, failures };
}

function summary(json: string, failures: string, status: number): string[] {
  const r = spawnSync(process.execPath, [SUMMARY, json, failures, String(status)], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trimEnd().split('\n');
}

function counts(lines: string[]): { passed: number; failed: number } {
  const m = LAST_LINE.exec(lines[lines.length - 1]);
  expect(m, `last line "${lines[lines.length - 1]}"`).not.toBeNull();
  return { passed: Number(m![1]), failed: Number(m![2]) };
}

describe('.ci/run summary line', () => {
  const tmp = tempFolder('migwb-ci-summary-');

  it('a failing afterAll, a file that does not load and an unhandled rejection each count as failed, and are listed above the line', () => {
    // No test fails here: vitest's numFailedTests is 0 although the run failed.
    const run = runFixtures(tmp(), ['passing', 'after-all', 'collection', 'unhandled']);
    expect(run.status).not.toBe(0);
    const report = JSON.parse(fs.readFileSync(run.json, 'utf8'));
    expect(report.numFailedTests).toBe(0);
    expect(report.numPassedTests).toBe(4);
    const lines = summary(run.json, run.failures, run.status);
    expect(counts(lines)).toEqual({ passed: 4, failed: 3 });
    const listed = lines.slice(0, -1).join('\n');
    expect(listed).toMatch(/^FAIL test\/ci\/fixtures\/after-all\.fixture\.ts > a suite whose afterAll fails .*expected 'modified' to be 'unchanged'/m);
    expect(listed).toMatch(/^FAIL test\/ci\/fixtures\/collection\.fixture\.ts .*this file fails to load/m);
    expect(listed).toMatch(/^FAIL Unhandled Rejection in test\/ci\/fixtures\/unhandled\.fixture\.ts: a rejection nobody awaited/m);
  });

  it('failed tests are listed by name; a clean run reads "N passed, 0 failed"', () => {
    const failing = runFixtures(tmp(), ['passing', 'failing']);
    const lines = summary(failing.json, failing.failures, failing.status);
    expect(counts(lines)).toEqual({ passed: 1, failed: 1 });
    expect(lines[0]).toMatch(/^FAIL test\/ci\/fixtures\/failing\.fixture\.ts > fails: AssertionError: expected 1 to be 2/);

    const clean = runFixtures(tmp(), ['passing']);
    expect(clean.status).toBe(0);
    expect(summary(clean.json, clean.failures, clean.status)).toEqual(['1 passed, 0 failed']);
  }, 60_000);

  it('never "0 failed" when vitest failed without naming a test, or wrote no report', () => {
    const dir = tmp();
    const write = (name: string, value: unknown) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, JSON.stringify(value));
      return file;
    };
    const empty = { suiteErrors: [], unhandledErrors: [] };
    // "No test files found": success false, nothing failed.
    const none = write('none.json', { success: false, numPassedTests: 0, numFailedTests: 0, numFailedTestSuites: 0, testResults: [] });
    expect(counts(summary(none, write('e1.json', empty), 1))).toEqual({ passed: 0, failed: 1 });
    // A report that looks clean, but vitest exited non-zero.
    const clean = write('clean.json', { success: true, numPassedTests: 5, numFailedTests: 0, numFailedTestSuites: 0, testResults: [] });
    expect(counts(summary(clean, write('e2.json', empty), 1))).toEqual({ passed: 5, failed: 1 });
    expect(counts(summary(clean, write('e3.json', empty), 0))).toEqual({ passed: 5, failed: 0 });
    // The typecheck or the build failed: no report at all.
    expect(summary(path.join(dir, 'missing.json'), path.join(dir, 'missing-failures.json'), 2).at(-1)).toBe('0 passed, 1 failed');
    // Without the failure reporter's file, a failed file without a failed test still counts.
    const hook = write('hook.json', { success: false, numPassedTests: 2, numFailedTests: 0, numFailedTestSuites: 1, testResults: [{ name: path.join(REPO, 'x.test.ts'), status: 'failed', message: '', assertionResults: [{ status: 'passed', fullName: 'a' }] }] });
    expect(counts(summary(hook, path.join(dir, 'missing-failures.json'), 1))).toEqual({ passed: 2, failed: 1 });
  });
});
