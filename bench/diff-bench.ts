import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BIG_IMAGES, fmtMs, median, printTable, REPO, sealedCopy, timeCommand, verdict, warm } from './lib';

/** Median wall time of a command whose exit status may be 0 or 1 (cmp and migwb diff say "differ" with 1). */
function timeComparison(cmd: string, args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  }
  return median(times);
}

/**
 * Issue #15: diffing two 1 GiB images costs less than twice one scan, against `cmp` of
 * the same files. The pair is the 1 GiB benchmark image and its sealed copy (same content,
 * another framing: cmp reads both to the end), and the image against itself (two scans).
 */
export function diffBenchmark(): void {
  const image = BIG_IMAGES.random1G;
  const sealed = sealedCopy(image);
  warm(image);
  warm(sealed);
  const migwb = path.join(REPO, 'bin', 'migwb.js');
  const runs = 3;
  const cmp = timeComparison('cmp', [image, sealed], runs);
  const scan = timeCommand(process.execPath, [migwb, 'info', image], runs);
  const diffTwoScans = timeComparison(process.execPath, [migwb, 'diff', image, image, '--json'], runs);
  const diffSealed = timeComparison(process.execPath, [migwb, 'diff', image, sealed, '--json'], runs);
  printTable(
    `migwb diff of two 1 GiB images (${path.basename(image)}) vs one scan (migwb info) and cmp of the same files, whole processes, warm cache, medians`,
    ['one scan', 'cmp', 'diff (both scanned)', 'x one scan', 'target < 2x', 'diff (B sealed)', 'x one scan', 'cmp ÷ diff (B sealed)'],
    [
      [
        fmtMs(scan),
        fmtMs(cmp),
        fmtMs(diffTwoScans),
        `${(diffTwoScans / scan).toFixed(2)}x`,
        verdict(diffTwoScans < 2 * scan),
        fmtMs(diffSealed),
        `${(diffSealed / scan).toFixed(2)}x`,
        `${(cmp / diffSealed).toFixed(2)}`,
      ],
    ],
  );
}
