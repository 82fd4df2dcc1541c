import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { BIG_IMAGES, fmtMs, median, printTable, REPO, runChild, timeCommand, verdict, warm } from './lib';
import { scratchDir } from './ram-bench';

const MARKER = 'MIGIMG-FORENSIC-MARKER';

/**
 * Issue #4: a string search over all guest memory of the 1 GiB image versus `grep -c` over
 * the raw pc.ram file migwb extracts from it (2 GiB, sparse: the 1 GiB payload and holes).
 */
export function searchBenchmark(): void {
  const image = BIG_IMAGES.random1G;
  warm(image);
  const scratch = scratchDir('migwb-search-bench-');
  try {
    execFileSync(process.execPath, [path.join(REPO, 'bin', 'migwb.js'), 'extract-ram', image, '--out', scratch], { stdio: 'ignore' });
    const raw = path.join(scratch, 'pc.ram.raw');
    warm(raw);
    const grepCount = execFileSync('grep', ['-c', MARKER, raw], { encoding: 'utf8' }).trim();
    // stdout must be a pipe: GNU grep stops at the first match when it writes to /dev/null.
    const grep = median(
      Array.from({ length: 5 }, () => {
        const t0 = process.hrtime.bigint();
        spawnSync('grep', ['-c', MARKER, raw], { stdio: ['ignore', 'pipe', 'ignore'] });
        return Number(process.hrtime.bigint() - t0) / 1e6;
      }),
    );
    const inProcess = runChild<{ ms: number; detail: number }>('memory-child.js', ['search', image, '5', MARKER]);
    const cli = timeCommand(process.execPath, [path.join(REPO, 'bin', 'migwb.js'), 'search', image, '--string', MARKER], 3);
    printTable(
      `String search of all guest memory of ${path.basename(image)} vs grep -c over the extracted raw pc.ram (${Math.round(fs.statSync(raw).size / 2 ** 20)} MiB sparse), warm cache, medians`,
      ['grep -c (lines with a hit)', 'migwb search (in process, after the scan)', 'hits', 'ratio', 'migwb search (whole process)', 'ratio', 'target: faster than grep'],
      [[`${fmtMs(grep)} (${grepCount})`, fmtMs(inProcess.ms), String(inProcess.detail), `${(grep / inProcess.ms).toFixed(2)}x`, fmtMs(cli), `${(grep / cli).toFixed(2)}x`, `in process ${verdict(inProcess.ms < grep)}, whole process ${verdict(cli < grep)}`]],
    );
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
