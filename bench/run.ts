import { ensureBenchImages } from './lib';
import { scanBenchmark } from './scan-bench';

/** npm run bench: performance and memory goals measured against the reference tool in the same run. */
ensureBenchImages();
scanBenchmark();
