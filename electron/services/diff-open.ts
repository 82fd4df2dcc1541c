import { PageHashes, type PageHashesTransfer } from '../../shared/diff/page-hashes';
import { importModel } from '../../shared/formats/qemu-stream/model-transfer';
import type { OpenProgress } from '../workbench/open-worker';
import { openSideForDiff, type DiffOpenJob } from './diff-open-side';
import type { DiffOpenResult } from './diff-open-worker';
import type { DescribedImage, DiffProgress } from './diff-worker';
import { openDescribedImage, type OpenedImage } from './open-image';
import { compiledWorker, runWorkerJob } from './worker-job';

export interface DiffSideToOpen {
  path: string;
  snapshot?: string;
}

export interface OpenedForDiff {
  image: OpenedImage;
  /** Hashes of its plain pages, taken while it was scanned. */
  hashes?: PageHashes;
}

/**
 * Opens the two sides of a diff at once and hashes their plain pages in the same pass:
 * side B in a worker (diff-open-worker), side A meanwhile in this thread, so each file is
 * read once, on its own core, and a RAM diff compares the pages by hash. Only the CLI calls
 * this: its main thread has nothing else to do, and one worker fewer is one Node start
 * fewer (the app's compare view hashes both open images in workers: hashOpenImages).
 * `onProgress` gets both sides' bytes.
 */
export async function openForDiff(
  sides: [DiffSideToOpen, DiffSideToOpen],
  options: { hashPages: boolean; onProgress?: (done: number, total: number) => void; signal?: AbortSignal },
): Promise<[OpenedForDiff, OpenedForDiff]> {
  const progress: OpenProgress[] = [];
  const report = (i: number, p: OpenProgress) => {
    progress[i] = p;
    options.onProgress?.(
      progress.reduce((n, x) => n + (x?.done ?? 0), 0),
      progress.reduce((n, x) => n + (x?.total ?? 0), 0),
    );
  };
  // Side A failing stops side B's worker too.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const jobOf = (s: DiffSideToOpen): DiffOpenJob => ({ path: s.path, snapshot: s.snapshot, hashPages: options.hashPages });
  const sideB = runWorkerJob<DiffOpenJob, DiffOpenResult, OpenProgress>(compiledWorker('services/diff-open-worker.js'), jobOf(sides[1]), { onProgress: (p) => report(1, p), signal });
  sideB.catch(() => undefined); // awaited below; not an unhandled rejection while side A is read
  let a: OpenedForDiff | undefined;
  try {
    const opened = await openSideForDiff(jobOf(sides[0]), signal, (p) => report(0, p));
    a = { image: opened.image, ...(opened.hashes ? { hashes: opened.hashes } : {}) };
    const r = await sideB;
    return [a, { image: openDescribedImage(sides[1].path, r.container, importModel(r.model), r.via), ...(r.hashes ? { hashes: PageHashes.from(r.hashes) } : {}) }];
  } catch (e) {
    stop.abort();
    a?.image.close();
    throw e;
  }
}

/**
 * The page hashes of two images that are already open (the app's compare view), each side
 * in a worker of its own that reads its plain pages once and hashes them as openForDiff
 * does for a sealed image: the two files are read at once, on two cores, and the diff
 * then compares pages by hash. `onProgress` gets both sides' pages.
 */
export async function hashOpenImages(
  sides: [DescribedImage, DescribedImage],
  controls: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<[PageHashesTransfer, PageHashesTransfer]> {
  const progress: DiffProgress[] = [];
  const script = compiledWorker('services/page-hash-worker.js');
  const [a, b] = await Promise.all(
    sides.map((side, i) =>
      runWorkerJob<DescribedImage, PageHashesTransfer, DiffProgress>(script, side, {
        signal: controls.signal,
        onProgress: (p) => {
          progress[i] = p;
          controls.onProgress?.(
            progress.reduce((n, x) => n + (x?.done ?? 0), 0),
            progress.reduce((n, x) => n + (x?.total ?? 0), 0),
          );
        },
      }),
    ),
  );
  return [a, b];
}
