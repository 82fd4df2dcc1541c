// The last lines of .ci/run: what failed, one line each, then exactly "N passed, N failed".
// Usage: node .ci/vitest-summary.cjs VITEST_JSON FAILURES_JSON VITEST_EXIT_STATUS
//
// Failures counted: failed tests (vitest's JSON report), failed suites and hooks and files
// that did not load (the failure reporter, else the JSON report's failed files without a
// failed test), and unhandled errors (the failure reporter). A run vitest itself calls
// unsuccessful (`success`, or a non-zero exit status) never reads "0 failed".
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Returns the lines to print: the failures, the skip count, then "N passed, N failed". */
function summarize(report, extra, exitStatus, root = process.cwd()) {
  if (!report) return ['vitest wrote no JSON report (the typecheck or the build failed, or vitest crashed)', '0 passed, 1 failed'];
  const relative = (f) => path.relative(root, f);
  const failures = [];
  for (const file of report.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      if (t.status === 'failed') failures.push(`FAIL ${relative(file.name)} > ${t.fullName}: ${String(t.failureMessages?.[0] ?? '').split('\n')[0]}`);
    }
  }
  if (extra) {
    for (const s of extra.suiteErrors ?? []) failures.push(`FAIL ${s.file}${s.suite ? ` > ${s.suite}` : ''} (suite, hook or file load): ${s.message}`);
    for (const u of extra.unhandledErrors ?? []) failures.push(`FAIL ${u.type}${u.file ? ` in ${u.file}` : ''}: ${u.message}`);
  } else {
    for (const file of report.testResults ?? []) {
      const testFailed = (file.assertionResults ?? []).some((t) => t.status === 'failed');
      if (file.status === 'failed' && !testFailed) failures.push(`FAIL ${relative(file.name)} (a hook failed or the file did not load): ${file.message || 'no message'}`);
    }
    failures.push('(no failure report from .ci/failure-reporter.mjs: unhandled errors are not counted)');
  }
  const failedSuites = report.numFailedTestSuites ?? 0;
  const counted = failures.filter((f) => f.startsWith('FAIL')).length;
  if (counted === 0 && (report.success === false || failedSuites > 0 || exitStatus !== 0)) {
    failures.push(`FAIL vitest reported a failed run (success ${report.success}, ${failedSuites} failed suites, exit status ${exitStatus}) without naming a test`);
  }
  const failed = failures.filter((f) => f.startsWith('FAIL')).length;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  return [...failures, ...(skipped ? [`${skipped} skipped`] : []), `${report.numPassedTests ?? 0} passed, ${failed} failed`];
}

module.exports = { summarize };

if (require.main === module) {
  const [jsonFile, failuresFile, status] = process.argv.slice(2);
  for (const line of summarize(readJson(jsonFile), readJson(failuresFile), Number(status ?? 0))) console.log(line);
}
