import { FileSource } from '../electron/io/file-source';
import { parseQemuStream } from '../shared/formats/qemu-stream/stream-parser';

/**
 * Child process of the scan benchmark: scans an image N times (every element and every
 * page record located) and reports the median time and the process's peak RSS.
 */
const [file, runsArg] = process.argv.slice(2);
const times: number[] = [];
let records = 0;
let runs = 0;
for (let i = 0; i < Number(runsArg ?? 5); i++) {
  const src = new FileSource(file);
  const t0 = process.hrtime.bigint();
  const model = parseQemuStream(src);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  records = model.elements.reduce((n, e) => n + (e.pages ? e.pages.zero + e.pages.page + e.pages.xbzrle + e.pages.compress : 0), 0);
  runs = model.pages.runCount;
  src.close();
}
times.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ ms: times[Math.floor(times.length / 2)], records, runs, peakRssMB: process.resourceUsage().maxRSS / 1024 }));
