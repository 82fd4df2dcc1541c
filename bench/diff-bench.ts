import * as os from 'node:os';
import * as path from 'node:path';
import { measureMigwb } from '../test/helpers/measured-run';
import { BIG_IMAGES, fmtMs, median, MIGWB, printTable, sealedCopy, timeCommand, timeCommandWithCpu, verdict, warm } from './lib';

/** Peak RSS a diff of two 1 GiB images may reach: the page hashes (9 bytes a page) and the models, never the images. */
const MAX_RSS_MB = 400;
const RUNS = 3;

interface DiffRuns {
  ms: number;
  peakRssMB: number;
}

/** `migwb diff A B --json` RUNS times as a user runs it (exit 0 or 1): median wall time, highest peak RSS of the process tree. */
async function measureDiff(a: string, b: string): Promise<DiffRuns> {
  const times: number[] = [];
  let peakRssMB = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await measureMigwb(['diff', a, b, '--json'], { timeoutMs: 600_000, maxRssMB: 4096, onStdout: () => {} });
    if (r.code !== 0 && r.code !== 1) throw new Error(`migwb diff ${a} ${b} failed (${r.killed ?? r.code ?? r.signal}): ${r.err}`);
    times.push(r.ms);
    peakRssMB = Math.max(peakRssMB, r.peakRssMB);
  }
  return { ms: median(times), peakRssMB };
}

/**
 * Issue #15: diffing two 1 GiB images costs less than twice one scan, against `cmp` of
 * the same files, in bounded memory. The pairs: the 1 GiB benchmark image against itself
 * (both scanned: two scans, in parallel workers, pages hashed during them), and against its
 * sealed copy (same content, another framing; its model comes from the section directory,
 * its pages are hashed in one read). cmp reads both files to the end.
 */
export async function diffBenchmark(): Promise<void> {
  const image = BIG_IMAGES.random1G;
  const sealed = sealedCopy(image);
  warm(image);
  warm(sealed);
  const load = os.loadavg()[0];
  // cmp of a file against itself stops at once (same inode), so cmp reads the image and its sealed copy; they differ (exit 1).
  const cmp = timeCommand('sh', ['-c', 'cmp "$0" "$1" >/dev/null; [ $? -le 1 ]', image, sealed], RUNS);
  const scans: number[] = [];
  for (let i = 0; i < RUNS; i++) scans.push((await measureMigwb(['info', image], { timeoutMs: 600_000 })).ms);
  const oneScan = median(scans);
  // CPU time (user + system) says what the work costs when the machine is shared: wall time there is mostly waiting for a core.
  const scanCpu = timeCommandWithCpu(process.execPath, [MIGWB, 'info', image], RUNS).cpu;
  const rows: string[][] = [];
  for (const [name, other] of [
    ['A against A (both scanned)', image],
    ['A against its sealed copy', sealed],
  ] as const) {
    const d = await measureDiff(image, other);
    // Both pairs are equal in content (exit 0), as timeCommandWithCpu requires.
    const cpu = timeCommandWithCpu(process.execPath, [MIGWB, 'diff', image, other, '--json'], RUNS).cpu;
    rows.push([
      name,
      fmtMs(d.ms),
      `${(d.ms / oneScan).toFixed(2)}x`,
      verdict(d.ms < 2 * oneScan),
      `${(d.ms / cmp).toFixed(2)}x`,
      `${fmtMs(cpu)} = ${(cpu / scanCpu).toFixed(2)}x`,
      `${d.peakRssMB} MB`,
      verdict(d.peakRssMB < MAX_RSS_MB),
    ]);
  }
  printTable(
    `migwb diff of two 1 GiB images (${path.basename(image)}): whole processes, warm cache, medians of ${RUNS}; one scan (migwb info) ${fmtMs(oneScan)}, CPU ${fmtMs(scanCpu)}; cmp of the image and its sealed copy ${fmtMs(cmp)}; load average ${load.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after`,
    ['pair', 'diff', 'x one scan', 'target < 2x', 'x cmp', 'CPU, x one scan', 'peak RSS', `< ${MAX_RSS_MB} MB`],
    rows,
  );
}
