import type { DiffRequest, ImageDiffResult } from '../../shared/api/contract';
import type { ImageDiff } from '../../shared/api/image-diff';
import { exportModel } from '../../shared/formats/qemu-stream/model-transfer';
import type { DescribedImage, DiffJob, DiffProgress } from '../services/diff-worker';
import { compiledWorker, runWorkerJob } from '../services/worker-job';
import type { ImageSession } from './image-session';

function described(session: ImageSession): DescribedImage {
  const image = session.original;
  return { path: image.path, container: image.container, model: exportModel(image.model), via: image.via };
}

/**
 * Diffs two open images in a worker with the service `migwb diff` uses. Like the memory
 * search it reads the files as they are on disk: unsaved edits are counted, not compared.
 */
export async function diffSessions(a: ImageSession, b: ImageSession, request: DiffRequest, controls: { signal: AbortSignal; onProgress(p: DiffProgress): void }): Promise<ImageDiffResult> {
  const started = Date.now();
  const job: DiffJob = { a: described(a), b: described(b), request };
  const editsNotCompared = a.opened.edits + b.opened.edits;
  try {
    const diff = await runWorkerJob<DiffJob, ImageDiff, DiffProgress>(compiledWorker('services/diff-worker.js'), job, controls);
    return { diff, cancelled: false, elapsedMs: Date.now() - started, editsNotCompared };
  } catch (e) {
    if (!controls.signal.aborted) throw e;
    return { diff: null, cancelled: true, elapsedMs: Date.now() - started, editsNotCompared };
  }
}
