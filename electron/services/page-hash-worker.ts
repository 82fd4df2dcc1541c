import { PageHashes, type PageHashesTransfer } from '../../shared/diff/page-hashes';
import { importModel } from '../../shared/formats/qemu-stream/model-transfer';
import type { DescribedImage, DiffProgress } from './diff-worker';
import { openDescribedImage } from './open-image';
import { pageHasher } from './page-hasher';
import { runAsWorkerJob, throttledProgress } from './worker-job';

/**
 * Worker thread: the hashes of the plain pages of an image that is already open (the app's
 * compare view), taken in one read of its page data as `migwb diff` takes them for a
 * sealed image. Two run at once, one per side (hashOpenImages), so the diff compares pages
 * by hash and reads neither file again.
 */
runAsWorkerJob<DescribedImage, PageHashesTransfer, DiffProgress>((described, isCancelled, onProgress) => {
  const image = openDescribedImage(described.path, described.container, importModel(described.model), described.via);
  try {
    const hashes = new PageHashes();
    const progress = throttledProgress(onProgress);
    hashes.complete(image.source, image.model, pageHasher(), { cancelled: isCancelled, onProgress: progress });
    return hashes.toTransfer();
  } finally {
    image.close();
  }
});
