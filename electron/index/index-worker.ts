import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../services/user-error';
import { openLibraryDatabase } from './database';
import { runIndex, type IndexOptions } from './indexer';

/**
 * The indexing worker thread: runs runIndex off the UI thread with its own database
 * connection. Progress goes to the parent as messages; the parent cancels by setting a
 * shared flag, which the synchronous indexer polls (it never yields to the event loop).
 */
export interface IndexJob {
  dbPath: string;
  paths: string[];
  sealSidecars: boolean;
  /** Int32Array over it: [0] = 1 to cancel. */
  cancelFlag: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'progress'; progress: Parameters<NonNullable<IndexOptions['onProgress']>>[0] }
  | { type: 'done'; report: ReturnType<typeof runIndex> }
  | { type: 'error'; message: string; userError: boolean };

const job = workerData as IndexJob;
const cancel = new Int32Array(job.cancelFlag);
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
try {
  const db = openLibraryDatabase(job.dbPath);
  try {
    const report = runIndex(db, job.paths, {
      sealSidecars: job.sealSidecars,
      isCancelled: () => Atomics.load(cancel, 0) === 1,
      onProgress: (progress) => post({ type: 'progress', progress }),
    });
    post({ type: 'done', report });
  } finally {
    db.close();
  }
} catch (e) {
  post({ type: 'error', message: e instanceof UserError ? e.message : ((e as Error).stack ?? String(e)), userError: e instanceof UserError });
}
