import * as os from 'node:os';
import { isZeroExtent, type Extent } from '../../shared/memory/guest-memory';
import { exportModel } from '../../shared/formats/qemu-stream/model-transfer';
import type { OpenedImage } from '../services/open-image';
import { cancelled } from '../services/cancellation';
import { compiledWorker } from '../services/worker-job';
import { WorkerPool } from '../services/worker-pool';
import { findLiteral } from './literal-search';
import type { LiteralSearchJob } from './literal-search-worker';

/** Below this much stored data a worker's start-up costs more than it saves. */
const MIN_BYTES_PER_WORKER = 128 << 20;
/** What this thread reads while a worker starts (loads its modules, opens the image): ~50-100 ms. */
const WORKER_STARTUP_BYTES = 128 << 20;

/**
 * The worker threads of literal searches: kept between searches (a search of a library
 * goes image after image; the app searches again and again). Starting one (Node's worker
 * bootstrap, then the worker script) costs tens of milliseconds, which the split below
 * gives this thread as a head start. They search sealed images (and whatever the scan did
 * not search: see scan-literal-search.ts); an image that is scanned is searched during
 * its scan, so starting them while it is opened would only take a core from the scan.
 */
const workers = new WorkerPool<LiteralSearchJob, number[], number>(() => compiledWorker('memory/literal-search-worker.js'), Math.max(1, os.availableParallelism() - 1));

/**
 * How many threads a literal search of `extents` within [start, end) is worth: one per
 * core, as long as each gets at least MIN_BYTES_PER_WORKER of stored pages to read.
 */
export function literalSearchThreads(extents: Extent[], start: number, end: number, pageSize: number): number {
  const stored = storedBytes(extents, start, end, pageSize);
  return Math.max(1, Math.min(os.availableParallelism(), Math.floor(stored / MIN_BYTES_PER_WORKER)));
}

/**
 * A literal search of one block range split into `threads` shares of the stored pages:
 * this thread searches the first while worker threads search the others. Each share reads
 * needle-1 bytes past its end, so a match across a split is found once, by the share it
 * starts in. Resolves with the match offsets in order, at most `limit` of them.
 */
export async function findLiteralInParallel(
  img: OpenedImage,
  block: number,
  extents: Extent[],
  range: { start: number; end: number },
  needle: Uint8Array,
  includeZero: boolean,
  threads: number,
  options: { limit: number; onBytes: (n: number) => void; signal?: AbortSignal },
): Promise<number[]> {
  const model = exportModel(img.model);
  const splits = splitPoints(extents, range.start, range.end, img.model.pageSize, threads);
  const progress = new Array<number>(splits.length - 1).fill(0);
  // Matches that start before a split may end up to needle-1 bytes after it: each share
  // reads that far, and keeps only the matches that start in it.
  const shareEnd = (k: number) => Math.min(range.end, splits[k + 1] + needle.length - 1);
  // Shares 1.. go to workers, started first; this thread searches share 0 meanwhile.
  const stopWorkers = new AbortController();
  const forward = () => stopWorkers.abort();
  options.signal?.addEventListener('abort', forward);
  const shares = splits.slice(1, -1).map((from, i) => {
    const k = i + 1;
    const to = splits[k + 1];
    const job: LiteralSearchJob = { path: img.path, container: img.container, model, block, extents, start: from, end: shareEnd(k), needle, includeZero, limit: options.limit };
    return workers.run(job, {
      signal: stopWorkers.signal,
      onProgress: (bytes) => {
        options.onBytes(bytes - progress[k]);
        progress[k] = bytes;
      },
    }).then((offsets) => offsets.filter((o) => o < to));
  });
  const mine: number[] = [];
  try {
    findLiteral(img, block, extents, splits[0], shareEnd(0), Buffer.from(needle), includeZero, (offset) => offset >= splits[1] || mine.push(offset) < options.limit, (n) => {
      options.onBytes(n);
      if (options.signal?.aborted) throw cancelled('search');
    });
    return [mine, ...(await Promise.all(shares))].flat().slice(0, options.limit);
  } catch (e) {
    stopWorkers.abort();
    await Promise.allSettled(shares);
    // A cancelled worker fails with its own error; the caller wants the cancellation.
    throw options.signal?.aborted ? cancelled('search') : e;
  } finally {
    options.signal?.removeEventListener('abort', forward);
  }
}

/**
 * Block offsets that cut [start, end) into `parts` shares of the stored pages: share 0
 * (this thread's) is larger by what a worker reads while it starts up, so all finish
 * together.
 */
export function splitPoints(extents: Extent[], start: number, end: number, ps: number, parts: number): number[] {
  const total = storedBytes(extents, start, end, ps);
  const headStart = Math.min(WORKER_STARTUP_BYTES, total / (2 * parts));
  const workerShare = (total - headStart) / parts;
  const points = [start];
  let seen = 0;
  let next = total - (parts - 1) * workerShare;
  for (const e of extents) {
    const from = Math.max(start, e.firstPage * ps);
    const to = Math.min(end, (e.firstPage + e.pages) * ps);
    if (to <= from || isZeroExtent(e)) continue;
    while (points.length < parts && seen + (to - from) >= next) {
      // Cut on a page boundary inside this extent.
      const cut = Math.min(to, Math.max(from, Math.ceil((from + (next - seen)) / ps) * ps));
      if (cut > points[points.length - 1] && cut < end) points.push(cut);
      next += workerShare;
    }
    seen += to - from;
  }
  points.push(end);
  return points;
}

function storedBytes(extents: Extent[], start: number, end: number, ps: number): number {
  let n = 0;
  for (const e of extents) {
    if (isZeroExtent(e)) continue;
    n += Math.max(0, Math.min(end, (e.firstPage + e.pages) * ps) - Math.max(start, e.firstPage * ps));
  }
  return n;
}
