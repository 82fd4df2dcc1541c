import type { DiffRequest, ImageDiffResult } from '../../shared/api/contract';
import type { ImageDiff } from '../../shared/api/image-diff';
import { exportModel } from '../../shared/formats/qemu-stream/model-transfer';
import { hashOpenImages } from '../services/diff-open';
import type { DescribedImage, DiffJob, DiffProgress } from '../services/diff-worker';
import { compiledWorker, runWorkerJob } from '../services/worker-job';
import type { ImageSession } from './image-session';

function described(session: ImageSession): DescribedImage {
  const image = session.original;
  return { path: image.path, container: image.container, model: exportModel(image.model), via: image.via };
}

/** Progress units of each phase: hashing both sides, then the diff. */
const PHASE_UNITS = 1000;

/**
 * Diffs two open images with the engine of `migwb diff`: for a RAM diff, both sides' plain
 * pages are first hashed at once, in a worker each (hashOpenImages), and the diff worker
 * compares them by hash. Like the memory search it reads the files as they are on disk:
 * unsaved edits are counted, not compared. Progress runs once through both phases.
 */
export async function diffSessions(a: ImageSession, b: ImageSession, request: DiffRequest, controls: { signal: AbortSignal; onProgress(p: DiffProgress): void }): Promise<ImageDiffResult> {
  const started = Date.now();
  const job: DiffJob = { a: described(a), b: described(b), request };
  const editsNotCompared = a.opened.edits + b.opened.edits;
  const phases = request.ram ? 2 : 1;
  const report = (phase: number) => (done: number, total: number) =>
    controls.onProgress({ done: phase * PHASE_UNITS + (total > 0 ? Math.floor((done / total) * PHASE_UNITS) : PHASE_UNITS), total: phases * PHASE_UNITS });
  try {
    if (request.ram) {
      const [hashesA, hashesB] = await hashOpenImages([job.a, job.b], { signal: controls.signal, onProgress: report(0) });
      job.hashes = { a: hashesA, b: hashesB };
    }
    const onDiffProgress = report(phases - 1);
    const diff = await runWorkerJob<DiffJob, ImageDiff, DiffProgress>(compiledWorker('services/diff-worker.js'), job, {
      signal: controls.signal,
      onProgress: (p) => onDiffProgress(p.done, p.total),
    });
    return { diff, cancelled: false, elapsedMs: Date.now() - started, editsNotCompared };
  } catch (e) {
    if (!controls.signal.aborted) throw e;
    return { diff: null, cancelled: true, elapsedMs: Date.now() - started, editsNotCompared };
  }
}
