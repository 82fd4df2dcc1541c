import * as path from 'node:path';
import { BIG_IMAGES, fmtMs, MIGWB, printTable, sealedCopy, timeCommand, verdict, warm } from './lib';
import { measureSearch } from './search-bench';

/**
 * Issue #12: what a whole migwb process costs, now that the CLI is one bundled file whose
 * heavy parts (SQLite, decompressors, the repair planner, the engine) load only for the
 * commands that need them: --version, info on the sealed 1 GiB image, and search against
 * grep -c, all as whole processes in this run; Node's own start (node -e 0) beside them.
 */
export function startupBenchmark(): void {
  const sealed = sealedCopy(BIG_IMAGES.random1G);
  warm(sealed);
  // The first run compiles the bundle and keeps V8's code cache; the timed runs start as users' do.
  timeCommand(process.execPath, [MIGWB, '--version'], 1);
  const node = timeCommand(process.execPath, ['-e', '0'], 11);
  const version = timeCommand(process.execPath, [MIGWB, '--version'], 11);
  const info = timeCommand(process.execPath, [MIGWB, 'info', sealed], 11);
  const search = measureSearch(BIG_IMAGES.random1G);
  printTable(
    'Whole-process start-up of the bundled CLI (bin/migwb.js), warm cache, medians',
    ['node -e 0', 'migwb --version', `migwb info (sealed ${path.basename(sealed)})`, 'target < 150 ms', 'migwb search (whole process)', 'grep -c', 'target: faster than grep'],
    [[fmtMs(node), fmtMs(version), fmtMs(info), verdict(info < 150), fmtMs(search.cli), fmtMs(search.grep), `${(search.grep / search.cli).toFixed(2)}x: ${verdict(search.cli < search.grep)}`]],
  );
}
