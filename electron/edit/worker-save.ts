import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Diagnostic } from '../../shared/diagnostics';
import type { JournalDocument } from '../../shared/edit/journal-file';
import { UserError } from '../services/user-error';
import { SaveRefusedError } from './atomic-save';
import type { SessionSaveResult } from './edit-session';

export interface SaveJob {
  image: string;
  journal: JournalDocument;
  output: string;
  donors?: Record<string, string>;
  force?: boolean;
}

export type WorkerMessage =
  | { kind: 'progress'; phase: 'hashing' | 'writing'; done: number; total: number }
  | { kind: 'done'; result: SessionSaveResult }
  | { kind: 'failed'; name: string; message: string; diagnostics?: Diagnostic[]; stack?: string };

/**
 * Saves the result of a journal in a worker thread (for the GUI: the main process stays
 * responsive while an 8 GiB image is hashed, written and re-validated). Errors come back
 * as the same UserError / SaveRefusedError the in-process save throws.
 */
export function saveJournalInWorker(job: SaveJob, options: { onProgress?: (m: Extract<WorkerMessage, { kind: 'progress' }>) => void; signal?: AbortSignal } = {}): Promise<SessionSaveResult> {
  const worker = new Worker(workerScript(), { workerData: job });
  const cancel = () => worker.postMessage({ cancel: true });
  options.signal?.addEventListener('abort', cancel, { once: true });
  return new Promise<SessionSaveResult>((resolve, reject) => {
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'progress') options.onProgress?.(m);
      else if (m.kind === 'done') resolve(m.result);
      else if (m.diagnostics) reject(new SaveRefusedError(m.diagnostics));
      else if (m.name === 'UserError') reject(new UserError(m.message));
      else reject(Object.assign(new Error(m.message), { stack: m.stack }));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the save worker exited (${code}) without a result`)));
  }).finally(() => {
    options.signal?.removeEventListener('abort', cancel);
    void worker.terminate();
  });
}

/** The compiled worker script: beside this module in the build, or in build/ when running from sources (tests). */
function workerScript(): string {
  const beside = path.join(__dirname, 'save-worker.js');
  if (fs.existsSync(beside)) return beside;
  const built = path.join(__dirname, '..', '..', 'build', 'electron', 'edit', 'save-worker.js');
  if (fs.existsSync(built)) return built;
  throw new Error(`the save worker is not built (${built}); run "npm run build"`);
}
