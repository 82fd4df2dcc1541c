import { Worker } from 'node:worker_threads';
import type { ImageKind } from '../../shared/formats/detect';
import type { QemuStreamModel } from '../../shared/qemu/model';
import { importModel, type ModelTransfer } from '../../shared/qemu/model-transfer';
import { compiledScript } from '../build-paths';
import { UserError } from '../services/user-error';

export interface ScannedImage {
  model: QemuStreamModel;
  kind: ImageKind;
  streamBase?: number;
}

/** Opens and scans an image in a worker thread, so the caller's event loop stays free. */
export function scanInWorker(path: string, onProgress?: (done: number, total: number) => void): Promise<ScannedImage> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(compiledScript(__dirname, 'open-worker.js'), { workerData: { path } });
    let settled = false;
    worker.on('message', (msg: { progress?: { done: number; total: number }; model?: ModelTransfer; kind?: ImageKind; streamBase?: number; error?: string; userError?: boolean }) => {
      if (msg.progress) onProgress?.(msg.progress.done, msg.progress.total);
      else if (msg.model) {
        settled = true;
        resolve({ model: importModel(msg.model), kind: msg.kind!, streamBase: msg.streamBase });
      } else if (msg.error !== undefined) {
        settled = true;
        reject(msg.userError ? new UserError(msg.error) : new Error(msg.error));
      }
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`the scan of ${path} stopped unexpectedly (worker exit ${code})`));
    });
  });
}
