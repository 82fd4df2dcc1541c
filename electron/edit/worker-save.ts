import { compiledWorker, runWorkerJob } from '../services/worker-job';
import type { JournalDocument } from '../../shared/edit/journal-file';
import type { Diagnostic } from '../../shared/diagnostics';
import { SaveRefusedError } from './atomic-save';
import type { SessionSaveResult } from './edit-session';

export interface SaveJob {
  image: string;
  journal: JournalDocument;
  output: string;
  donors?: Record<string, string>;
  force?: boolean;
  streamOnly?: boolean;
}

export interface SaveProgress {
  phase: 'hashing' | 'writing';
  done: number;
  total: number;
}

/**
 * Saves the result of a journal in a worker thread (for the GUI: the main process stays
 * responsive while an 8 GiB image is hashed, written and re-validated). Errors come back
 * as the same UserError / SaveRefusedError the in-process save throws.
 */
export async function saveJournalInWorker(job: SaveJob, options: { onProgress?: (p: SaveProgress) => void; signal?: AbortSignal } = {}): Promise<SessionSaveResult> {
  try {
    return await runWorkerJob<SaveJob, SessionSaveResult, SaveProgress>(compiledWorker('edit/save-worker.js'), job, options);
  } catch (e) {
    const diagnostics = (e as { diagnostics?: Diagnostic[] }).diagnostics;
    throw diagnostics ? new SaveRefusedError(diagnostics) : e;
  }
}
