import * as path from 'node:path';
import { analyzeMigration, BIG_IMAGES, fmtMs, MIGWB, printTable, runChild, timeCommand, verdict, warm } from './lib';

/** Issue: full scan versus analyze-migration.py -d state on the big images; peak RSS. */
export function scanBenchmark(): void {
  const analyze = analyzeMigration('7.2');
  const targets: Record<string, number> = { random1G: 5, zero4G: 15 };
  const rows: string[][] = [];
  for (const [name, file] of Object.entries(BIG_IMAGES)) {
    warm(file);
    const scan = runChild<{ ms: number; records: number; runs: number; peakRssMB: number }>('scan-child.js', [file, '5']);
    const cli = timeCommand(process.execPath, [MIGWB, 'info', '--json', file], 5);
    const reference = timeCommand('python3', [analyze, '-f', file, '-d', 'state'], 3);
    rows.push([
      path.basename(file),
      `${scan.records.toLocaleString('en-US')} records`,
      fmtMs(reference),
      fmtMs(scan.ms),
      `${(reference / scan.ms).toFixed(1)}x`,
      fmtMs(cli),
      `${(reference / cli).toFixed(1)}x`,
      `${targets[name]}x: ${verdict(reference / scan.ms >= targets[name])}`,
      `${scan.peakRssMB.toFixed(0)} MB (${verdict(scan.peakRssMB < 200)})`,
    ]);
  }
  printTable(
    'Full scan (every element and page record located) vs analyze-migration.py 7.2 -d state, warm cache, medians',
    ['image', 'page records', 'analyze -d state', 'migwb scan', 'ratio', 'migwb info (whole process)', 'ratio', 'target', 'peak RSS (< 200 MB)'],
    rows,
  );
}
