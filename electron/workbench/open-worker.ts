import { parentPort, workerData } from 'node:worker_threads';
import { exportModel, transferables } from '../../shared/qemu/model-transfer';
import { openImage } from '../services/open-image';
import { UserError } from '../services/user-error';

/**
 * Worker thread: opens and scans one image off the main thread, posting progress and
 * then the model (page runs transferred, not copied).
 */
const { path } = workerData as { path: string };
try {
  const image = openImage(path, { onProgress: (done, total) => parentPort!.postMessage({ progress: { done, total } }) });
  image.close();
  const model = exportModel(image.model);
  parentPort!.postMessage({ model, kind: image.kind, streamBase: image.streamBase }, transferables(model));
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message, userError: e instanceof UserError });
}
