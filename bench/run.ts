import { chunkedBenchmark } from './chunked-bench';
import { diffBenchmark } from './diff-bench';
import { directoryBenchmark } from './directory-bench';
import { indexBenchmark } from './index-bench';
import { guiBenchmark } from './gui-bench';
import { hostileBenchmark } from './hostile-bench';
import { ensureBenchImages } from './lib';
import { ramBenchmark } from './ram-bench';
import { scaleBenchmark } from './scale-bench';
import { scanBenchmark } from './scan-bench';
import { searchBenchmark } from './search-bench';
import { xenBenchmark } from './xen-bench';
import { startupBenchmark } from './startup-bench';

/**
 * npm run bench [NAME...]: performance and memory goals, each measured against the
 * reference tool in the same run. Not tests: they print ratios and whether targets are met.
 */
const BENCHMARKS: Record<string, () => void | Promise<void>> = {
  scan: scanBenchmark,
  directory: directoryBenchmark,
  index: indexBenchmark,
  scale: scaleBenchmark,
  gui: guiBenchmark,
  ram: ramBenchmark,
  search: searchBenchmark,
  xen: xenBenchmark,
  startup: startupBenchmark,
  hostile: hostileBenchmark,
  chunked: chunkedBenchmark,
  diff: diffBenchmark,
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !(w in BENCHMARKS));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  if (wanted.some((w) => w !== 'hostile' && w !== 'scale') || !wanted.length) ensureBenchImages();
  for (const [name, run] of Object.entries(BENCHMARKS)) if (!wanted.length || wanted.includes(name)) await run();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
