import { ensureBenchImages } from './lib';

/**
 * npm run bench [NAME...]: performance and memory goals, each measured against the
 * reference tool in the same run. Not tests: they print ratios and whether targets are met.
 * Each benchmark's module is loaded only when it runs, so one benchmark's imports (the GUI
 * bench's browser helpers) cannot stop the others.
 */
const BENCHMARKS: Record<string, () => Promise<void>> = {
  scan: async () => (await import('./scan-bench')).scanBenchmark(),
  directory: async () => (await import('./directory-bench')).directoryBenchmark(),
  index: async () => (await import('./index-bench')).indexBenchmark(),
  scale: async () => (await import('./scale-bench')).scaleBenchmark(),
  gui: async () => (await import('./gui-bench')).guiBenchmark(),
  ram: async () => (await import('./ram-bench')).ramBenchmark(),
  search: async () => (await import('./search-bench')).searchBenchmark(),
  xen: async () => (await import('./xen-bench')).xenBenchmark(),
  startup: async () => (await import('./startup-bench')).startupBenchmark(),
  hostile: async () => (await import('./hostile-bench')).hostileBenchmark(),
  chunked: async () => (await import('./chunked-bench')).chunkedBenchmark(),
  diff: async () => (await import('./diff-bench')).diffBenchmark(),
  display: async () => (await import('./display-bench')).displayBenchmark(),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !(w in BENCHMARKS));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  if (wanted.some((w) => w !== 'hostile' && w !== 'scale' && w !== 'display') || !wanted.length) ensureBenchImages();
  for (const [name, run] of Object.entries(BENCHMARKS)) if (!wanted.length || wanted.includes(name)) await run();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
