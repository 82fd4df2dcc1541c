import { runAsAsyncWorkerJob } from '../services/worker-job';
import { openLibraryDatabase } from './database';
import { runIndex, type IndexProgress, type IndexReport } from './indexer';

/** The indexing worker thread: runIndex with its own database connection, off the UI thread. */
export interface IndexJob {
  dbPath: string;
  paths: string[];
  sealSidecars: boolean;
}

runAsAsyncWorkerJob<IndexJob, IndexReport, IndexProgress>(async (job, signal, onProgress) => {
  const db = openLibraryDatabase(job.dbPath);
  try {
    return await runIndex(db, job.paths, { sealSidecars: job.sealSidecars, isCancelled: () => signal.aborted, onProgress });
  } finally {
    db.close();
  }
});
