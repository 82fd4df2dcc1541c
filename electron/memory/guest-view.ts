import { blockExtents, gatherExtentPages, isZeroExtent, readExtentPages, type Extent } from '../../shared/memory/guest-memory';
import { machineLayout, type LayoutOptions, type MachineLayout } from '../../shared/memory/layout';
import { pciConfigSpaces } from '../../shared/memory/pci-config';
import type { OpenedImage } from '../services/open-image';

/** Largest piece of guest memory handled at once: bounded memory for any guest size. */
export const CHUNK_BYTES = 8 << 20;

/** The machine's memory map for an opened image (device state decides PAM and BARs). */
export function layoutOf(img: Pick<OpenedImage, 'source' | 'model'>, options: Omit<LayoutOptions, 'pciConfig'> = {}): MachineLayout | undefined {
  return machineLayout(img.model, { ...options, pciConfig: pciConfigSpaces(img.source, img.model) });
}

/** A piece of a block's content: its block offset, the extent it comes from, and its bytes. */
export interface BlockPiece {
  offset: number;
  extent: Extent;
  bytes: Uint8Array;
}

/** A piece of a block's content as consecutive parts (page views of the read buffer, for writev). */
export interface GatheredPiece {
  offset: number;
  extent: Extent;
  length: number;
  parts: Uint8Array[];
}

interface PieceOptions {
  includeZero?: boolean;
  problems?: string[];
  extents?: Extent[];
}

/**
 * Streams [from, from + length) of a block's final content in pieces of at most
 * CHUNK_BYTES, skipping pages that read as zero unless `includeZero`. The piece buffer is
 * reused: copy what must outlive the callback. `problems` collects pages that could not
 * be reconstructed.
 */
export function forEachBlockPiece(img: OpenedImage, block: number, from: number, length: number, visit: (piece: BlockPiece) => void, options: PieceOptions = {}): void {
  const buf = new Uint8Array(CHUNK_BYTES);
  const scratch = { buf: new Uint8Array(0) };
  forEachPageSpan(img, from, length, block, options, (extent, page, count, skip, take) => {
    const problems = readExtentPages(img.source, img.model, block, extent, page, count, buf, scratch);
    options.problems?.push(...problems);
    visit({ offset: page * img.model.pageSize + skip, extent, bytes: buf.subarray(skip, skip + take) });
  });
}

/** forEachBlockPiece without copying page data into place: for writing it out with writev. */
export function forEachGatheredPiece(img: OpenedImage, block: number, from: number, length: number, visit: (piece: GatheredPiece) => void, options: PieceOptions = {}): void {
  const buf = new Uint8Array(CHUNK_BYTES);
  const scratch = { buf: new Uint8Array(0) };
  forEachPageSpan(img, from, length, block, options, (extent, page, count, skip, take) => {
    const { parts, problems } = gatherExtentPages(img.source, img.model, block, extent, page, count, buf, scratch);
    options.problems?.push(...problems);
    visit({ offset: page * img.model.pageSize + skip, extent, length: take, parts: trimParts(parts, skip, take) });
  });
}

/**
 * The page spans to read for [from, from + length) of a block: per extent, runs of at most
 * CHUNK_BYTES of pages, with the bytes to skip at the start and to take (for ranges that
 * do not start or end on a page boundary).
 */
function forEachPageSpan(
  img: OpenedImage,
  from: number,
  length: number,
  block: number,
  options: PieceOptions,
  visit: (extent: Extent, page: number, count: number, skip: number, take: number) => void,
): void {
  const ps = img.model.pageSize;
  const end = from + length;
  for (const extent of options.extents ?? blockExtents(img.model, block)) {
    const extStart = extent.firstPage * ps;
    const extEnd = extStart + extent.pages * ps;
    if (extEnd <= from || extStart >= end) continue;
    if (isZeroExtent(extent) && !options.includeZero) continue;
    const firstPage = Math.floor(Math.max(from, extStart) / ps);
    const lastPage = Math.ceil(Math.min(end, extEnd) / ps);
    for (let page = firstPage; page < lastPage; ) {
      const count = Math.min(lastPage - page, CHUNK_BYTES / ps);
      const pieceStart = Math.max(from, page * ps);
      const pieceEnd = Math.min(end, (page + count) * ps);
      visit(extent, page, count, pieceStart - page * ps, pieceEnd - pieceStart);
      page += count;
    }
  }
}

/** The bytes [skip, skip + take) of consecutive parts, as parts. */
function trimParts(parts: Uint8Array[], skip: number, take: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (take <= 0) break;
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    const part = p.subarray(skip, skip + take);
    out.push(part);
    take -= part.length;
    skip = 0;
  }
  return out;
}
