import { importModel, type ModelTransfer } from '../../shared/formats/qemu-stream/model-transfer';
import type { ImageContainer } from '../../shared/formats/registry';
import type { Extent } from '../../shared/memory/guest-memory';
import { cancelled } from '../services/cancellation';
import { attachContainer } from '../services/open-container';
import { openReadOnly } from '../services/open-image';
import { runAsWorkerJob } from '../services/worker-job';
import { findLiteral } from './literal-search';

export interface LiteralSearchJob {
  path: string;
  /** The image's container as the main thread holds it: the share attaches the same stream (the same qcow2 snapshot, the cached decompressed copy) without reading the structure again. */
  container: ImageContainer;
  model: ModelTransfer;
  block: number;
  extents: Extent[];
  start: number;
  end: number;
  needle: Uint8Array;
  includeZero: boolean;
  /** Stop after this many matches. */
  limit: number;
}

/** Worker thread: one share of a literal search (see parallel-literal-search.ts). */
runAsWorkerJob<LiteralSearchJob, number[], number>((job, isCancelled, onProgress) => {
  const file = openReadOnly(job.path);
  const attached = attachContainer(job.path, file, job.container);
  try {
    const img = { source: attached.stream, model: importModel(job.model) };
    const found: number[] = [];
    let bytes = 0;
    findLiteral(img, job.block, job.extents, job.start, job.end, Buffer.from(job.needle), job.includeZero, (offset) => found.push(offset) < job.limit, (n) => {
      if (isCancelled()) throw cancelled('search');
      bytes += n;
      onProgress(bytes);
    });
    return found;
  } finally {
    attached.close();
    file.close();
  }
});
