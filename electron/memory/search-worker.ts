import { importModel, type ModelTransfer } from '../../shared/formats/qemu-stream/model-transfer';
import type { ImageContainer } from '../../shared/formats/registry';
import type { LoadedVia } from '../services/load-stream';
import { openDescribedImage } from '../services/open-image';
import { runAsAsyncWorkerJob, throttledProgress } from '../services/worker-job';
import { searchImage, type SearchPattern, type SearchResult } from './search';

export interface MemorySearchJob {
  path: string;
  /** The image as the main thread holds it: attached again here without reading its structure or scanning it. */
  container: ImageContainer;
  model: ModelTransfer;
  via: LoadedVia;
  pattern: SearchPattern;
  maxHits: number;
}

export interface MemorySearchProgress {
  done: number;
  total: number;
}

/**
 * Worker thread: a search of all guest memory of one open image (the service `migwb search`
 * uses), so the app's main process stays free. Literal searches of large guests split
 * further across the cores from here.
 */
runAsAsyncWorkerJob<MemorySearchJob, SearchResult, MemorySearchProgress>(async (job, signal, onProgress) => {
  const img = openDescribedImage(job.path, job.container, importModel(job.model), job.via);
  try {
    return await searchImage(img, job.pattern, { maxHits: job.maxHits, signal, onProgress: throttledProgress(onProgress) });
  } finally {
    img.close();
  }
});
