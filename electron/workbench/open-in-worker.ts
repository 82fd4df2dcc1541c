import type { ImageKind } from '../../shared/formats/detect';
import type { QemuStreamModel } from '../../shared/qemu/model';
import { importModel } from '../../shared/qemu/model-transfer';
import type { LoadedVia } from '../services/load-stream';
import { compiledWorker, runWorkerJob } from '../services/worker-job';
import type { OpenJob, OpenResult } from './open-worker';

export interface ScannedImage {
  model: QemuStreamModel;
  kind: ImageKind;
  streamBase?: number;
  via: LoadedVia;
}

/** Opens an image in a worker thread (a scan of a large image never blocks the caller). */
export async function scanInWorker(path: string, onProgress?: (done: number, total: number) => void): Promise<ScannedImage> {
  const r = await runWorkerJob<OpenJob, OpenResult, { done: number; total: number }>(compiledWorker(__dirname, 'open-worker.js'), { path }, {
    onProgress: (p) => onProgress?.(p.done, p.total),
  });
  return { model: importModel(r.model), kind: r.kind, streamBase: r.streamBase, via: r.via };
}
