import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { analyzeMigration, BIG_IMAGES, fmtMs, median, MIGWB, printTable, runChild, sealedCopy, timeCommand, verdict, warm } from './lib';

/** A scratch folder in memory when there is one (/dev/shm), so both tools are measured without the disk. */
export function scratchDir(prefix: string): string {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  return fs.mkdtempSync(path.join(base, prefix));
}

/**
 * Issue #4: RAM extraction of the 1 GiB image versus analyze-migration.py -x (which writes
 * one file per RAM block into its working folder), both into the same scratch folder.
 */
export function ramBenchmark(): void {
  const image = BIG_IMAGES.random1G;
  warm(image);
  const analyze = analyzeMigration('7.2');
  const scratch = scratchDir('migwb-ram-bench-');
  try {
    const reference: number[] = [];
    for (let i = 0; i < 2; i++) {
      const cwd = fs.mkdtempSync(path.join(scratch, 'analyze-'));
      const t0 = process.hrtime.bigint();
      const r = spawnSync('python3', [analyze, '-f', image, '-x'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
      reference.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error(`analyze-migration.py -x failed: ${r.stderr}`);
      fs.rmSync(cwd, { recursive: true, force: true });
    }
    const ref = median(reference);
    const inProcess = runChild<{ ms: number; detail: number; peakRssMB: number }>('memory-child.js', ['extract', image, '3', path.join(scratch, 'in-process')]);
    const out = path.join(scratch, 'cli');
    const removeOut = () => fs.rmSync(out, { recursive: true, force: true });
    const extractRamOf = (file: string) => timeCommand(process.execPath, [MIGWB, 'extract-ram', file, '--out', out], 3, removeOut);
    const cli = extractRamOf(image);
    // After `migwb seal` (or indexing with --seal-sidecars) the scan is gone: only the tail is read.
    const sealed = sealedCopy(image);
    warm(sealed);
    const cliSealed = extractRamOf(sealed);
    removeOut();
    // What no extractor can beat: copying the image's bytes into the same folder.
    const floorFile = path.join(scratch, 'copy-floor');
    const floor = timeCommand('dd', [`if=${image}`, `of=${floorFile}`, 'bs=8M', 'status=none'], 3, () => fs.rmSync(floorFile, { force: true }));
    fs.rmSync(floorFile, { force: true });
    printTable(
      `RAM extraction of ${path.basename(image)} (1 GiB written, sparse) vs analyze-migration.py 7.2 -x, output in ${path.dirname(scratch)}, warm cache, medians`,
      ['analyze -x', 'migwb extract (in process, after the scan)', 'ratio', 'migwb extract-ram (whole process)', 'ratio', 'target 5x', 'whole process, sealed image', 'ratio', 'copy floor (dd)', 'best ratio possible', 'peak RSS'],
      [
        [
          fmtMs(ref),
          fmtMs(inProcess.ms),
          `${(ref / inProcess.ms).toFixed(1)}x`,
          fmtMs(cli),
          `${(ref / cli).toFixed(1)}x`,
          verdict(ref / cli >= 5),
          fmtMs(cliSealed),
          `${(ref / cliSealed).toFixed(1)}x`,
          fmtMs(floor),
          `${(ref / floor).toFixed(1)}x`,
          `${inProcess.peakRssMB.toFixed(0)} MB`,
        ],
      ],
    );
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
