import { FileSource } from '../electron/io/file-source';
import { parseXen } from '../shared/formats/xen/parse';

/**
 * Child process of the Xen benchmark: parses a Xen stream N times (every record located, the
 * pfn lists indexed, the HVM context and QEMU state checked) and reports the median time and
 * the process's peak RSS.
 */
const [file, runsArg] = process.argv.slice(2);
const times: number[] = [];
let records = 0;
let pages = 0;
for (let i = 0; i < Number(runsArg ?? 5); i++) {
  const src = new FileSource(file);
  const t0 = process.hrtime.bigint();
  const model = parseXen(src);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  records = model.records.length;
  pages = model.pages.pagesWithData;
  src.close();
}
times.sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ ms: times[Math.floor(times.length / 2)], records, pages, peakRssMB: process.resourceUsage().maxRSS / 1024 }));
