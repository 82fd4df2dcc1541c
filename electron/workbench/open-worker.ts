import { exportModel, type ModelTransfer } from '../../shared/qemu/model-transfer';
import type { ImageKind } from '../../shared/formats/detect';
import type { LoadedVia } from '../services/load-stream';
import { openImage } from '../services/open-image';
import { runAsWorkerJob } from '../services/worker-job';

export interface OpenJob {
  path: string;
}

export interface OpenResult {
  model: ModelTransfer;
  kind: ImageKind;
  streamBase?: number;
  via: LoadedVia;
}

/** Worker thread: opens one image (directory, sidecar or scan) off the main thread. */
runAsWorkerJob<OpenJob, OpenResult, { done: number; total: number }>(({ path }, _cancelled, onProgress) => {
  const image = openImage(path, { onProgress: (done, total) => onProgress({ done, total }) });
  image.close();
  return { model: exportModel(image.model), kind: image.kind, streamBase: image.streamBase, via: image.via };
});
