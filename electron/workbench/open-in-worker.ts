import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { importModel } from '../../shared/formats/qemu-stream/model-transfer';
import type { ImageContainer } from '../../shared/formats/registry';
import type { LoadedVia } from '../services/load-stream';
import { compiledWorker, runWorkerJob } from '../services/worker-job';
import type { OpenJob, OpenProgress, OpenResult } from './open-worker';

export interface ScannedImage {
  /** The container as the worker's format described it. */
  container: ImageContainer;
  model: QemuStreamModel;
  via: LoadedVia;
}

/** Opens an image in a worker thread (decompressing or scanning a large image never blocks the caller). */
export async function scanInWorker(path: string, onProgress?: (p: OpenProgress) => void): Promise<ScannedImage> {
  const r = await runWorkerJob<OpenJob, OpenResult, OpenProgress>(compiledWorker('workbench/open-worker.js'), { path }, { onProgress });
  return { container: r.container, model: importModel(r.model), via: r.via };
}
