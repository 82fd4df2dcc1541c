import { UserError } from '../services/user-error';
import { runAsAsyncWorkerJob } from '../services/worker-job';
import { EditSession } from './edit-session';
import type { SaveJob, SaveProgress } from './worker-save';

/**
 * Worker thread entry: re-applies a journal to its image and saves the result, reporting
 * progress, so the GUI's main process never blocks on hashing, writing or re-validating.
 */
runAsAsyncWorkerJob<SaveJob, Awaited<ReturnType<EditSession['save']>>, SaveProgress>(async (job, signal, onProgress) => {
  const session = await EditSession.openAsync(job.image, { cache: { signal } });
  try {
    await session.loadJournal(job.journal, job.donors ?? {}, { signal, onProgress: (done, total) => onProgress({ phase: 'hashing', done, total }) });
    return await session.save(job.output, { force: job.force, streamOnly: job.streamOnly, signal, onProgress: (done, total) => onProgress({ phase: 'writing', done, total }) });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw new UserError('save cancelled; nothing was written');
    throw e;
  } finally {
    session.close();
  }
});
