import * as fs from 'node:fs';
import * as path from 'node:path';
import { extractRam } from '../electron/memory/extract';
import { searchImage } from '../electron/memory/search';
import { openImage } from '../electron/services/open-image';

/**
 * Child process of the RAM benchmarks: opens an image once (the scan the app pays once
 * per image), then times extraction or search of its guest memory N times, in process.
 * Usage: memory-child.js extract|search IMAGE RUNS OUTDIR|STRING
 */
async function main(): Promise<void> {
  const [what, image, runsArg, arg] = process.argv.slice(2);
  const img = openImage(image);
  const times: number[] = [];
  let detail = 0;
  for (let i = 0; i < Number(runsArg); i++) {
    if (what === 'extract') fs.rmSync(arg, { recursive: true, force: true });
    const t0 = process.hrtime.bigint();
    if (what === 'extract') detail = extractRam(img, { outDir: arg }).files.reduce((n, f) => n + f.written, 0);
    else detail = (await searchImage(img, { string: arg })).hits.length;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  img.close();
  if (what === 'extract') fs.rmSync(path.resolve(arg), { recursive: true, force: true });
  times.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ ms: times[Math.floor(times.length / 2)], detail, peakRssMB: process.resourceUsage().maxRSS / 1024 }));
}

void main();
