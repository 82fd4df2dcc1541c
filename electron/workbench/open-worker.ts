import { exportModel, type ModelTransfer } from '../../shared/formats/qemu-stream/model-transfer';
import type { ImageContainer } from '../../shared/formats/registry';
import type { LoadedVia } from '../services/load-stream';
import { openImageAsync } from '../services/open-image';
import { runAsAsyncWorkerJob } from '../services/worker-job';

export interface OpenJob {
  path: string;
}

export interface OpenResult {
  /** The container as its format described it, so the main thread attaches the stream without reading the structure again. */
  container: ImageContainer;
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
 * Worker thread: opens one image off the main thread. Its format is detected and its
 * structure read (once: the description goes back with the model), a compressed libvirt
 * save is decompressed into the cache, then the model comes from the section directory,
 * the sidecar or a scan.
 */
runAsAsyncWorkerJob<OpenJob, OpenResult, OpenProgress>(async ({ path }, signal, onProgress) => {
  const image = await openImageAsync(path, {
    cache: { signal, onProgress: (done, total) => onProgress({ phase: 'decompress', done, total }) },
    onProgress: (done, total) => onProgress({ phase: 'scan', done, total }),
  });
  image.close();
  return { container: image.container, model: exportModel(image.model), via: image.via };
});
