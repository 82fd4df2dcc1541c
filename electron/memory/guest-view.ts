import { blockExtents, isZeroExtent, readExtentPages, type Extent } from '../../shared/memory/guest-memory';
import { machineLayout, type LayoutOptions, type MachineLayout } from '../../shared/memory/layout';
import { pciConfigSpaces } from '../../shared/memory/pci-config';
import type { OpenedImage } from '../services/open-image';

/** Largest piece of guest memory handled at once: bounded memory for any guest size. */
export const CHUNK_BYTES = 8 << 20;

/** The machine's memory map for an opened image (device state decides PAM and BARs). */
export function layoutOf(img: OpenedImage, options: Omit<LayoutOptions, 'pciConfig'> = {}): MachineLayout | undefined {
  return machineLayout(img.model, { ...options, pciConfig: pciConfigSpaces(img.source, img.model) });
}

/** A piece of a block's content: its block offset, the extent it comes from, and its bytes. */
export interface BlockPiece {
  offset: number;
  extent: Extent;
  bytes: Uint8Array;
}

/**
 * Streams [from, from + length) of a block's final content in pieces of at most
 * CHUNK_BYTES, skipping pages that read as zero unless `includeZero`. The piece buffer is
 * reused: copy what must outlive the callback. `problems` collects pages that could not
 * be reconstructed.
 */
export function forEachBlockPiece(
  img: OpenedImage,
  block: number,
  from: number,
  length: number,
  visit: (piece: BlockPiece) => void,
  options: { includeZero?: boolean; problems?: string[]; extents?: Extent[] } = {},
): void {
  const ps = img.model.pageSize;
  const end = from + length;
  const buf = new Uint8Array(CHUNK_BYTES);
  const scratch = { buf: new Uint8Array(0) };
  for (const extent of options.extents ?? blockExtents(img.model, block)) {
    const extStart = extent.firstPage * ps;
    const extEnd = extStart + extent.pages * ps;
    if (extEnd <= from || extStart >= end) continue;
    if (isZeroExtent(extent) && !options.includeZero) continue;
    const firstPage = Math.floor(Math.max(from, extStart) / ps);
    const lastPage = Math.ceil(Math.min(end, extEnd) / ps);
    for (let page = firstPage; page < lastPage; ) {
      const count = Math.min(lastPage - page, CHUNK_BYTES / ps);
      const problems = readExtentPages(img.source, img.model, block, extent, page, count, buf, scratch);
      options.problems?.push(...problems);
      const pieceStart = Math.max(from, page * ps);
      const pieceEnd = Math.min(end, (page + count) * ps);
      visit({ offset: pieceStart, extent, bytes: buf.subarray(pieceStart - page * ps, pieceEnd - page * ps) });
      page += count;
    }
  }
}
