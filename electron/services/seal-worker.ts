import { sealImage, type SealResult, type SealTarget } from './seal-image';
import { runAsWorkerJob } from './worker-job';

/** The sealing worker thread: sealImage off the UI thread; cancelling stops it and leaves no file. */
export interface SealJob {
  image: string;
  target: SealTarget;
}

class Cancelled extends Error {}

runAsWorkerJob<SealJob, SealResult | 'cancelled', { done: number; total: number }>((job, isCancelled, onProgress) => {
  let last = 0;
  try {
    return sealImage(job.image, job.target, (done, total) => {
      if (isCancelled()) throw new Cancelled();
      if (Date.now() - last >= 100) {
        last = Date.now();
        onProgress({ done, total });
      }
    });
  } catch (e) {
    if (e instanceof Cancelled) return 'cancelled';
    throw e;
  }
});
