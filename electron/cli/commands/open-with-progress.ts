import type { OpenedImage, OpenOptions } from '../../services/open-image';
import type { CliIO } from '../output';
import { progressBar } from '../progress';

/**
 * Opens any container (decompressing a compressed libvirt save into the cache first, with
 * its own progress bar) and scans it.
 */
export async function openForCommand(io: CliIO, path: string, options: OpenOptions = {}): Promise<OpenedImage> {
  // The engine loads with the first command that opens an image, not with every start.
  const { openImageAsync } = await import('../../services/open-image');
  const unpack = progressBar(io, 'decompressing');
  const scan = progressBar(io, 'scanning');
  try {
    return await openImageAsync(path, { ...options, cache: { ...options.cache, onProgress: (d, t) => unpack.update(d, t) }, onProgress: (d, t) => scan.update(d, t) });
  } finally {
    unpack.done();
    scan.done();
  }
}
