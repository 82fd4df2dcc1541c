import type { ImageDiff } from '../../shared/api/image-diff';
import type { DiffRequest } from '../../shared/api/contract';
import { PageHashes, type PageHashesTransfer } from '../../shared/diff/page-hashes';
import { importModel, type ModelTransfer } from '../../shared/formats/qemu-stream/model-transfer';
import type { ImageContainer } from '../../shared/formats/registry';
import { diffOpenedImages } from './diff-images';
import type { LoadedVia } from './load-stream';
import { openDescribedImage, type OpenedImage } from './open-image';
import { runAsWorkerJob, throttledProgress } from './worker-job';

/** An open image as the main thread holds it: attached again in the worker without a scan. */
export interface DescribedImage {
  path: string;
  container: ImageContainer;
  model: ModelTransfer;
  via: LoadedVia;
}

export interface DiffJob {
  a: DescribedImage;
  b: DescribedImage;
  request: DiffRequest;
  /** The hashes of both sides' plain pages (hashOpenImages), so RAM is compared by hash. */
  hashes?: { a: PageHashesTransfer; b: PageHashesTransfer };
}

export interface DiffProgress {
  done: number;
  total: number;
}

/** Worker thread: the diff of two open images (the service `migwb diff` uses), so the app's main process stays free; RAM by the hashes the job brings. */
runAsWorkerJob<DiffJob, ImageDiff, DiffProgress>((job, isCancelled, onProgress) => {
  const attach = (d: DescribedImage): OpenedImage => openDescribedImage(d.path, d.container, importModel(d.model), d.via);
  const a = attach(job.a);
  try {
    const b = attach(job.b);
    try {
      const hashes = job.hashes && { a: PageHashes.from(job.hashes.a), b: PageHashes.from(job.hashes.b) };
      return diffOpenedImages(a, b, { ...job.request, cancelled: isCancelled, onProgress: throttledProgress(onProgress) }, hashes);
    } finally {
      b.close();
    }
  } finally {
    a.close();
  }
});
