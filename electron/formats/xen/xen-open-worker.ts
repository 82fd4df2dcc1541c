import { exportXenModel, type XenModelTransfer } from '../../../shared/formats/xen/model-transfer';
import { parseXen } from '../../../shared/formats/xen/parse';
import { openReadOnly } from '../../services/open-image';
import { runAsAsyncWorkerJob } from '../../services/worker-job';
import type { OpenProgress } from '../../workbench/open-worker';

/** Worker thread: parses a Xen stream off the main thread (an 8 GiB save is a few seconds of record headers and pfn lists). */
runAsAsyncWorkerJob<{ path: string }, XenModelTransfer, OpenProgress>(async ({ path }, signal, onProgress) => {
  const file = openReadOnly(path);
  try {
    return exportXenModel(
      parseXen(file, {
        onProgress: (done, total) => {
          signal.throwIfAborted();
          onProgress({ phase: 'scan', done, total });
        },
      }),
    );
  } finally {
    file.close();
  }
});
