// A vitest reporter for .ci/run: writes what vitest's JSON report leaves out, namely the
// errors of suites and hooks (a failing afterAll, a file that failed to load) and unhandled
// errors (a rejection nobody awaited), to $MIGWB_VITEST_FAILURES (default build/vitest-failures.json).
import * as fs from 'node:fs';
import * as path from 'node:path';

const firstLine = (e) => String(e?.message ?? e ?? 'unknown error').split('\n')[0];

export default class FailureReporter {
  onInit(ctx) {
    this.root = ctx.config.root;
  }

  onFinished(files = [], errors = []) {
    const suiteErrors = [];
    const visit = (task, file) => {
      if (task.type !== 'test' && task.result?.state === 'fail') {
        for (const e of task.result.errors ?? []) {
          suiteErrors.push({ file: path.relative(this.root, file.filepath), suite: task === file ? '' : task.name, message: firstLine(e) });
        }
      }
      for (const child of task.tasks ?? []) visit(child, file);
    };
    for (const file of files) visit(file, file);
    const unhandledErrors = errors.map((e) => ({ type: e?.type ?? 'Unhandled error', message: firstLine(e), file: e?.VITEST_TEST_PATH ? path.relative(this.root, e.VITEST_TEST_PATH) : undefined }));
    const out = process.env.MIGWB_VITEST_FAILURES ?? path.join(this.root, 'build', 'vitest-failures.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify({ suiteErrors, unhandledErrors }, null, 1));
  }
}
