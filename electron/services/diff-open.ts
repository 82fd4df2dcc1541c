import { PageHashes, type PageHashesTransfer } from '../../shared/diff/page-hashes';
import { importModel } from '../../shared/formats/qemu-stream/model-transfer';
import type { OpenProgress } from '../workbench/open-worker';
import type { DiffOpenJob, DiffOpenResult } from './diff-open-worker';
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
 * Opens the two sides of a diff at once, each in a worker of its own that scans it and
 * hashes its plain pages in the same pass (diff-open-worker), so a RAM diff compares the
 * pages by hash and reads neither file a second time. `onProgress` gets both sides' bytes.
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
  const script = compiledWorker('services/diff-open-worker.js');
  const results = await Promise.all(
    sides.map((s, i) =>
      runWorkerJob<DiffOpenJob, DiffOpenResult, OpenProgress>(script, { path: s.path, snapshot: s.snapshot, hashPages: options.hashPages }, { onProgress: (p) => report(i, p), signal: options.signal }),
    ),
  );
  const attach = (i: number): OpenedForDiff => {
    const r = results[i];
    return { image: openDescribedImage(sides[i].path, r.container, importModel(r.model), r.via), ...(r.hashes ? { hashes: PageHashes.from(r.hashes) } : {}) };
  };
  const a = attach(0);
  try {
    return [a, attach(1)];
  } catch (e) {
    a.image.close();
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
