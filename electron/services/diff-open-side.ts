import { PageHashes } from '../../shared/diff/page-hashes';
import type { OpenProgress } from '../workbench/open-worker';
import { openImageAsync, type OpenedImage } from './open-image';
import { pageHasher } from './page-hasher';

export interface DiffOpenJob {
  path: string;
  /** qcow2: the snapshot to open. */
  snapshot?: string;
  /** Take the hashes of the plain pages (only a RAM diff needs them). */
  hashPages: boolean;
}

/**
 * Opens one side of `migwb diff` and hashes its plain pages in the same pass (the scan's
 * hook), or, for a model read from a section directory, in one read of the page data.
 * The caller closes the image.
 */
export async function openSideForDiff({ path, snapshot, hashPages }: DiffOpenJob, signal: AbortSignal, onProgress: (p: OpenProgress) => void): Promise<{ image: OpenedImage; hashes?: PageHashes }> {
  const hash = hashPages ? pageHasher() : undefined;
  const hashes = new PageHashes();
  const image = await openImageAsync(path, {
    snapshot,
    cache: { signal, onProgress: (done, total) => onProgress({ phase: 'decompress', done, total }) },
    onProgress: (done, total) => onProgress({ phase: 'scan', done, total }),
    ...(hash ? { onPageData: hashes.scanHook(hash) } : {}),
  });
  try {
    if (hash) hashes.complete(image.source, image.model, hash, { cancelled: () => signal.aborted });
  } catch (e) {
    image.close();
    throw e;
  }
  return { image, ...(hash ? { hashes } : {}) };
}
