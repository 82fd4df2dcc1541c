import { runAsWorkerJob } from '../services/worker-job';
import { openLibraryDatabase } from './database';
import { runIndex, type IndexProgress, type IndexReport } from './indexer';

/** The indexing worker thread: runIndex with its own database connection, off the UI thread. */
export interface IndexJob {
  dbPath: string;
  paths: string[];
  sealSidecars: boolean;
}

runAsWorkerJob<IndexJob, IndexReport, IndexProgress>((job, isCancelled, onProgress) => {
  const db = openLibraryDatabase(job.dbPath);
  try {
    return runIndex(db, job.paths, { sealSidecars: job.sealSidecars, isCancelled, onProgress });
  } finally {
    db.close();
  }
});
