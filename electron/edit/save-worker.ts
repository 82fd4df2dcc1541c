import { parentPort, workerData } from 'node:worker_threads';
import type { JournalDocument } from '../../shared/edit/journal-file';
import { SaveRefusedError } from './atomic-save';
import { EditSession } from './edit-session';
import type { SaveJob, WorkerMessage } from './worker-save';

/**
 * Worker thread entry: re-applies a journal to its image and saves the result, reporting
 * progress, so the GUI's main process never blocks on hashing, writing or re-validating.
 */
const job = workerData as SaveJob;
const abort = new AbortController();
parentPort!.on('message', (m: { cancel?: boolean }) => {
  if (m.cancel) abort.abort();
});
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

void (async () => {
  const session = EditSession.open(job.image);
  try {
    await session.loadJournal(job.journal as JournalDocument, job.donors ?? {}, { signal: abort.signal, onProgress: (done, total) => post({ kind: 'progress', phase: 'hashing', done, total }) });
    const result = await session.save(job.output, { force: job.force, signal: abort.signal, onProgress: (done, total) => post({ kind: 'progress', phase: 'writing', done, total }) });
    post({ kind: 'done', result });
  } catch (e) {
    const err = e as Error;
    if (err.name === 'AbortError') post({ kind: 'failed', name: 'UserError', message: 'save cancelled; nothing was written' });
    else post({ kind: 'failed', name: err.name, message: err.message, diagnostics: e instanceof SaveRefusedError ? e.diagnostics : undefined, stack: err.stack });
  } finally {
    session.close();
  }
})();
