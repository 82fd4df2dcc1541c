import { runAsAsyncWorkerJob } from '../services/worker-job';
import { openLibraryDatabase } from './database';
import { runIndex, type IndexProgress, type IndexReport } from './indexer';

/** The indexing worker thread: runIndex with its own database connection, off the UI thread. */
export interface IndexJob {
  dbPath: string;
  paths: string[];
  sealSidecars: boolean;
  /** Files an earlier run of this job gave up on (over their time budget): already recorded, not tried again. */
  skip?: string[];
}

runAsAsyncWorkerJob<IndexJob, IndexReport, IndexProgress>(async (job, signal, onProgress) => {
  const db = openLibraryDatabase(job.dbPath);
  try {
    return await runIndex(db, job.paths, { sealSidecars: job.sealSidecars, skip: new Set(job.skip ?? []), isCancelled: () => signal.aborted, onProgress });
  } finally {
    db.close();
  }
});
