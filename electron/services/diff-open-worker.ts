import type { PageHashesTransfer } from '../../shared/diff/page-hashes';
import { exportModel, type ModelTransfer } from '../../shared/formats/qemu-stream/model-transfer';
import type { ImageContainer } from '../../shared/formats/registry';
import type { OpenProgress } from '../workbench/open-worker';
import { openSideForDiff, type DiffOpenJob } from './diff-open-side';
import type { LoadedVia } from './load-stream';
import { runAsAsyncWorkerJob } from './worker-job';

export type { DiffOpenJob } from './diff-open-side';

export interface DiffOpenResult {
  container: ImageContainer;
  model: ModelTransfer;
  via: LoadedVia;
  hashes?: PageHashesTransfer;
}

/** Worker thread: one side of `migwb diff`, opened and hashed (openSideForDiff), sent back as plain data. */
runAsAsyncWorkerJob<DiffOpenJob, DiffOpenResult, OpenProgress>(async (job, signal, onProgress) => {
  const { image, hashes } = await openSideForDiff(job, signal, onProgress);
  try {
    return { container: image.container, model: exportModel(image.model), via: image.via, ...(hashes ? { hashes: hashes.toTransfer() } : {}) };
  } finally {
    image.close();
  }
});
