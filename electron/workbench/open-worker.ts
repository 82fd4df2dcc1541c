import { exportModel, type ModelTransfer } from '../../shared/formats/qemu-stream/model-transfer';
import type { LoadedVia } from '../services/load-stream';
import { openImageAsync } from '../services/open-image';
import { runAsAsyncWorkerJob } from '../services/worker-job';

export interface OpenJob {
  path: string;
}

export interface OpenResult {
  model: ModelTransfer;
  via: LoadedVia;
}

export type OpenPhase = 'decompress' | 'scan';

export interface OpenProgress {
  phase: OpenPhase;
  done: number;
  total: number;
}

/**
 * Worker thread: opens one image off the main thread. A compressed libvirt save is first
 * decompressed into the cache; then the model comes from the section directory, the
 * sidecar or a scan.
 */
runAsAsyncWorkerJob<OpenJob, OpenResult, OpenProgress>(async ({ path }, signal, onProgress) => {
  const image = await openImageAsync(path, {
    cache: { signal, onProgress: (done, total) => onProgress({ phase: 'decompress', done, total }) },
    onProgress: (done, total) => onProgress({ phase: 'scan', done, total }),
  });
  image.close();
  return { model: exportModel(image.model), via: image.via };
});
