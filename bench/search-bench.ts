import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BIG_IMAGES, fmtMs, MIGWB, printTable, runChild, timeCommandWithCpu, verdict, warm } from './lib';
import { scratchDir } from './ram-bench';

const MARKER = 'MIGIMG-FORENSIC-MARKER';

export interface SearchTimings {
  /** grep -c over the raw pc.ram migwb extracts from the image, and what it counted. */
  grep: number;
  /** CPU time (user + system) of grep -c, ms (see timeCommandWithCpu). */
  grepCpu: number;
  grepCount: string;
  rawMiB: number;
  /** migwb search in process (after the scan) and its hits, and as a whole process. */
  inProcess: { ms: number; detail: number };
  cli: number;
  cliCpu: number;
  /** The same search, whole process, on a sealed copy of the image (when asked for): the seal says where every page is, so no scan. */
  sealed?: { cli: number; cliCpu: number };
}

/**
 * A string search over all guest memory of `image` versus `grep -c` over the raw pc.ram file
 * migwb extracts from it (for the 1 GiB image: 2 GiB, sparse: the 1 GiB payload and holes).
 */
export function measureSearch(image: string, sealedCopy?: string): SearchTimings {
  warm(image);
  const scratch = scratchDir('migwb-search-bench-');
  try {
    execFileSync(process.execPath, [MIGWB, 'extract-ram', image, '--out', scratch], { stdio: 'ignore' });
    const raw = path.join(scratch, 'pc.ram.raw');
    warm(raw);
    const grepCount = execFileSync('grep', ['-c', MARKER, raw], { encoding: 'utf8' }).trim();
    // stdout must be a pipe: GNU grep stops at the first match when it writes to /dev/null.
    const grep = timeCommandWithCpu('grep', ['-c', MARKER, raw], 5, { pipeStdout: true });
    const inProcess = runChild<{ ms: number; detail: number }>('memory-child.js', ['search', image, '5', MARKER]);
    const cli = timeCommandWithCpu(process.execPath, [MIGWB, 'search', image, '--string', MARKER], 5);
    let sealed: SearchTimings['sealed'];
    if (sealedCopy) {
      warm(sealedCopy);
      const t = timeCommandWithCpu(process.execPath, [MIGWB, 'search', sealedCopy, '--string', MARKER], 5);
      sealed = { cli: t.wall, cliCpu: t.cpu };
    }
    return { grep: grep.wall, grepCpu: grep.cpu, grepCount, rawMiB: Math.round(fs.statSync(raw).size / 2 ** 20), inProcess, cli: cli.wall, cliCpu: cli.cpu, sealed };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Issue #4: the search in process and as a whole process, against grep. */
export function searchBenchmark(): void {
  const image = BIG_IMAGES.random1G;
  const t = measureSearch(image);
  printTable(
    `String search of all guest memory of ${path.basename(image)} (unsealed: the search runs within the scan) vs grep -c over the extracted raw pc.ram (${t.rawMiB} MiB sparse), warm cache, medians`,
    ['grep -c (lines with a hit)', 'migwb search (in process, after the scan)', 'hits', 'ratio', 'migwb search (whole process)', 'ratio', 'target: faster than grep'],
    [[`${fmtMs(t.grep)} (${t.grepCount})`, fmtMs(t.inProcess.ms), String(t.inProcess.detail), `${(t.grep / t.inProcess.ms).toFixed(2)}x`, fmtMs(t.cli), `${(t.grep / t.cli).toFixed(2)}x`, `in process ${verdict(t.inProcess.ms < t.grep)}, whole process ${verdict(t.cli < t.grep)}`]],
  );
}
