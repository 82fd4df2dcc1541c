import { unzlibSync } from 'fflate';
import type { ByteSource } from '../../io/byte-source';
import { readBytes } from '../../io/byte-source';
import type { QemuStreamModel } from './model';
import { PageKind, PAGE_KIND_NAMES } from './page-index';
import { applyXbzrle } from './xbzrle';

/** Where a guest page's content comes from. */
export interface PageProvenance {
  /** "never-sent" when the stream holds no record for the page (the destination keeps zeros). */
  kind: 'zero' | 'page' | 'xbzrle' | 'compress' | 'mapped' | 'never-sent';
  /** File offset of the record data that gives the final content. */
  dataOffset?: number;
  /** Stream element (section) holding that record. */
  element?: number;
  /** How many records sent this page (more than one for running guests and XBZRLE). */
  sends: number;
  /** Set when the content could not be reconstructed. */
  problem?: string;
}

export interface GuestPage {
  bytes: Uint8Array;
  provenance: PageProvenance;
}

/**
 * Reads the final content of page `page` of RAM block `block`, as the destination would
 * have it after loading the stream: the last record wins; XBZRLE records are replayed on
 * top of the earlier copies; pages never sent read as zeros.
 */
export function readGuestPage(source: ByteSource, model: QemuStreamModel, block: number, page: number): GuestPage {
  const ps = model.pageSize;
  const last = model.pages.latestRun(block, page);
  if (last < 0) return { bytes: new Uint8Array(ps), provenance: { kind: 'never-sent', sends: 0 } };
  const run = model.pages.run(last);
  if (run.kind !== PageKind.XBZRLE) {
    const sends = run.kind === PageKind.MAPPED ? 1 : model.pages.runsHolding(block, page).length;
    const dataOffset = model.pages.dataOffsetIn(last, page);
    const provenance: PageProvenance = { kind: PAGE_KIND_NAMES[run.kind] as PageProvenance['kind'], dataOffset, element: run.element, sends };
    try {
      return { bytes: decodeRecord(source, run.kind, dataOffset, run.dataLength, run.fill, ps), provenance };
    } catch (e) {
      return { bytes: new Uint8Array(ps), provenance: { ...provenance, problem: (e as Error).message } };
    }
  }
  // XBZRLE: replay every record of this page in stream order.
  const chain = model.pages.runsHolding(block, page);
  let content: Uint8Array = new Uint8Array(ps);
  let provenance: PageProvenance = { kind: 'never-sent', sends: chain.length };
  for (const i of chain) {
    const r = model.pages.run(i);
    const dataOffset = model.pages.dataOffsetIn(i, page);
    provenance = { kind: PAGE_KIND_NAMES[r.kind] as PageProvenance['kind'], dataOffset, element: r.element, sends: chain.length };
    try {
      content = r.kind === PageKind.XBZRLE ? applyXbzrle(content, readBytes(source, dataOffset, r.dataLength)) : decodeRecord(source, r.kind, dataOffset, r.dataLength, r.fill, ps);
    } catch (e) {
      return { bytes: content, provenance: { ...provenance, problem: (e as Error).message } };
    }
  }
  return { bytes: content, provenance };
}

/**
 * A page's final content without its provenance: what readers of many pages (ranges,
 * framebuffers) need. readGuestPage also counts every record that sent the page, a walk
 * over all runs per page, which dominates when thousands of pages are read.
 */
export function readGuestPageBytes(source: ByteSource, model: QemuStreamModel, block: number, page: number): { bytes: Uint8Array; problem?: string } {
  const last = model.pages.latestRun(block, page);
  if (last < 0) return { bytes: new Uint8Array(model.pageSize) };
  const run = model.pages.run(last);
  if (run.kind === PageKind.XBZRLE) {
    const replayed = readGuestPage(source, model, block, page);
    return { bytes: replayed.bytes, problem: replayed.provenance.problem };
  }
  try {
    return { bytes: decodeRecord(source, run.kind, model.pages.dataOffsetIn(last, page), run.dataLength, run.fill, model.pageSize) };
  } catch (e) {
    return { bytes: new Uint8Array(model.pageSize), problem: (e as Error).message };
  }
}

function decodeRecord(source: ByteSource, kind: PageKind, dataOffset: number, dataLength: number, fill: number, pageSize: number): Uint8Array {
  switch (kind) {
    case PageKind.ZERO:
      return new Uint8Array(pageSize).fill(fill);
    case PageKind.COMPRESS: {
      const page = unzlibSync(readBytes(source, dataOffset, dataLength));
      if (page.length !== pageSize) throw new Error(`a compressed page inflated to ${page.length} bytes, not ${pageSize}`);
      return page;
    }
    default: {
      const page = readBytes(source, dataOffset, pageSize);
      if (page.length !== pageSize) throw new Error(`page data at ${dataOffset} is cut by the end of the file`);
      return page;
    }
  }
}

/**
 * Copies [offset, offset + length) of a paged space into `out` at `at`, one page at a time
 * (`pageAt(n)` gives page n whole): the one loop every reader of guest memory shares.
 */
export function copyAcrossPages(offset: number, length: number, pageSize: number, pageAt: (n: number) => Uint8Array, out: Uint8Array = new Uint8Array(length), at = 0): Uint8Array {
  let done = 0;
  while (done < length) {
    const pos = offset + done;
    const n = Math.floor(pos / pageSize);
    const inPage = pos - n * pageSize;
    const take = Math.min(pageSize - inPage, length - done);
    out.set(pageAt(n).subarray(inPage, inPage + take), at + done);
    done += take;
  }
  return out;
}

/** Reads `length` bytes of a RAM block starting at block offset `offset`. */
export function readGuestRange(source: ByteSource, model: QemuStreamModel, block: number, offset: number, length: number): Uint8Array {
  return copyAcrossPages(offset, length, model.pageSize, (page) => readGuestPageBytes(source, model, block, page).bytes);
}

export function findRamBlock(model: QemuStreamModel, id: string): number {
  return model.ramBlocks.findIndex((b) => b.id === id);
}
