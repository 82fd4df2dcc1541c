import { openImage, type OpenedImage } from '../../services/open-image';
import type { CliIO } from '../output';
import { progressBar } from '../progress';

/** Opens and scans an image, drawing a progress bar on a terminal while it scans. */
export function openWithProgress(io: CliIO, path: string): OpenedImage {
  const bar = progressBar(io, 'scanning');
  try {
    return openImage(path, { onProgress: (done, total) => bar.update(done, total) });
  } finally {
    bar.done();
  }
}
