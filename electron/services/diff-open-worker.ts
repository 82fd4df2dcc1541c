import { PageHashes, type PageHashesTransfer } from '../../shared/diff/page-hashes';
import { exportModel, type ModelTransfer } from '../../shared/formats/qemu-stream/model-transfer';
import type { ImageContainer } from '../../shared/formats/registry';
import type { OpenProgress } from '../workbench/open-worker';
import type { LoadedVia } from './load-stream';
import { openImageAsync } from './open-image';
import { pageHasher } from './page-hasher';
import { runAsAsyncWorkerJob } from './worker-job';

export interface DiffOpenJob {
  path: string;
  /** qcow2: the snapshot to open. */
  snapshot?: string;
  /** Take the hashes of the plain pages (only a RAM diff needs them). */
  hashPages: boolean;
}

export interface DiffOpenResult {
  container: ImageContainer;
  model: ModelTransfer;
  via: LoadedVia;
  hashes?: PageHashesTransfer;
}

/**
 * Worker thread: opens one side of `migwb diff` and hashes its plain pages in the same
 * pass (the scan's hook), or, for a model read from a section directory, in one read of
 * the page data. Two of these run at once, one per side, so a diff reads each file once.
 */
runAsAsyncWorkerJob<DiffOpenJob, DiffOpenResult, OpenProgress>(async ({ path, snapshot, hashPages }, signal, onProgress) => {
  const hash = hashPages ? pageHasher() : undefined;
  const hashes = new PageHashes();
  const image = await openImageAsync(path, {
    snapshot,
    cache: { signal, onProgress: (done, total) => onProgress({ phase: 'decompress', done, total }) },
    onProgress: (done, total) => onProgress({ phase: 'scan', done, total }),
    ...(hash ? { onPageData: hashes.scanHook(hash) } : {}),
  });
  try {
    if (hash) hashes.complete(image.source, image.model, hash, { cancelled: () => signal.aborted });
    return { container: image.container, model: exportModel(image.model), via: image.via, ...(hash ? { hashes: hashes.toTransfer() } : {}) };
  } finally {
    image.close();
  }
});
