import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { importModel } from '../../shared/formats/qemu-stream/model-transfer';
import type { ImageContainer } from '../../shared/formats/registry';
import type { LoadedVia } from '../services/load-stream';
import { compiledWorker } from '../services/worker-job';
import { WorkerPool } from '../services/worker-pool';
import type { OpenJob, OpenProgress, OpenResult } from './open-worker';

export interface ScannedImage {
  /** The container as the worker's format described it. */
  container: ImageContainer;
  model: QemuStreamModel;
  via: LoadedVia;
}

/**
 * Opens scanned at once; more wait their turn. The workers stay, so an open does not pay
 * for starting a thread and loading the engine again (most of the cost of a small image).
 */
const CONCURRENT_SCANS = 2;
const scans = new WorkerPool<OpenJob, OpenResult, OpenProgress>(() => compiledWorker('workbench/open-worker.js'), CONCURRENT_SCANS);

/** Opens an image in a worker thread (decompressing or scanning a large image never blocks the caller). */
export async function scanInWorker(path: string, onProgress?: (p: OpenProgress) => void): Promise<ScannedImage> {
  const r = await scans.run({ path }, { onProgress });
  return { container: r.container, model: importModel(r.model), via: r.via };
}
