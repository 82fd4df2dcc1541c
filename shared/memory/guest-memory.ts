import { unzlibSync } from 'fflate';
import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { PAGE_KIND_NAMES } from '../formats/qemu-stream/page-index';
import { readGuestPage } from '../formats/qemu-stream/ram-reader';

/**
 * A RAM block's final content as ranges of pages of one kind: what the destination holds
 * after loading the stream. Consecutive pages whose last record is of the same kind form
 * one extent (a paused 1 GiB guest is a handful), so extraction and search work by extent
 * instead of by page.
 */
export type ExtentKind = 'never-sent' | 'zero' | 'page' | 'xbzrle' | 'compress' | 'mapped';

export interface Extent {
  kind: ExtentKind;
  /** First page and page count in the block. */
  firstPage: number;
  pages: number;
  /** Index of the page run holding the final records (-1 for never-sent). */
  run: number;
  /** ZERO records may carry a fill byte (always 0 from QEMU 7.2 on). */
  fill: number;
}

export function blockPageCount(model: QemuStreamModel, block: number): number {
  return Math.ceil(model.ramBlocks[block].usedLength / model.pageSize);
}

/** The extents of `block`, covering every page in order. */
export function blockExtents(model: QemuStreamModel, block: number): Extent[] {
  const total = blockPageCount(model, block);
  const out: Extent[] = [];
  let at = 0;
  const push = (e: Extent) => {
    const last = out[out.length - 1];
    // Runs of different records but the same kind merge only when they can be read alike.
    if (last && last.kind === e.kind && (e.kind === 'never-sent' || (e.kind === 'zero' && last.fill === e.fill))) last.pages += e.pages;
    else out.push(e);
  };
  for (const r of model.pages.resolvedRanges(block)) {
    const start = Math.min(r.start, total);
    const end = Math.min(r.end, total);
    if (start > at) push({ kind: 'never-sent', firstPage: at, pages: start - at, run: -1, fill: 0 });
    if (end > start) {
      const run = model.pages.run(r.run);
      push({ kind: PAGE_KIND_NAMES[run.kind] as ExtentKind, firstPage: start, pages: end - start, run: r.run, fill: run.fill });
    }
    at = Math.max(at, end);
  }
  if (at < total) push({ kind: 'never-sent', firstPage: at, pages: total - at, run: -1, fill: 0 });
  return out;
}

/** True when the extent's pages read as all zero bytes (nothing needs to be written). */
export function isZeroExtent(e: Extent): boolean {
  return e.kind === 'never-sent' || (e.kind === 'zero' && e.fill === 0);
}

/**
 * Reads `count` pages of `extent` starting at block page `firstPage` into `out`.
 * PAGE and mapped-ram data are copied with one source read per call; compressed pages are
 * inflated; XBZRLE pages are replayed on their earlier copies. Returns a problem per page
 * that could not be reconstructed (its bytes are zero).
 */
export function readExtentPages(source: ByteSource, model: QemuStreamModel, block: number, extent: Extent, firstPage: number, count: number, out: Uint8Array, scratch: { buf: Uint8Array }): string[] {
  const ps = model.pageSize;
  const problems: string[] = [];
  const target = out.subarray(0, count * ps);
  if (isZeroExtent(extent) || extent.kind === 'zero') {
    target.fill(extent.fill);
    return problems;
  }
  const pages = model.pages;
  const run = pages.run(extent.run);
  if (extent.kind === 'page' || extent.kind === 'mapped') {
    const first = pages.dataOffsetIn(extent.run, firstPage);
    const stride = count > 1 ? run.stride : ps;
    const span = (count - 1) * stride + ps;
    if (stride === ps) {
      readFully(source, target, first, problems);
      return problems;
    }
    if (scratch.buf.length < span) scratch.buf = new Uint8Array(span);
    const buf = scratch.buf.subarray(0, span);
    readFully(source, buf, first, problems);
    for (let i = 0; i < count; i++) target.set(buf.subarray(i * stride, i * stride + ps), i * ps);
    return problems;
  }
  if (extent.kind === 'compress') {
    for (let i = 0; i < count; i++) {
      const at = pages.dataOffsetIn(extent.run, firstPage + i);
      const raw = new Uint8Array(run.dataLength);
      readFully(source, raw, at, problems);
      try {
        const page = unzlibSync(raw);
        target.set(page.subarray(0, ps), i * ps);
        if (page.length !== ps) problems.push(`page ${firstPage + i}: a compressed page inflated to ${page.length} bytes`);
      } catch (e) {
        target.fill(0, i * ps, (i + 1) * ps);
        problems.push(`page ${firstPage + i}: ${(e as Error).message}`);
      }
    }
    return problems;
  }
  for (let i = 0; i < count; i++) {
    const page = readGuestPage(source, model, block, firstPage + i);
    target.set(page.bytes, i * ps);
    if (page.provenance.problem) problems.push(`page ${firstPage + i}: ${page.provenance.problem}`);
  }
  return problems;
}

/**
 * The pages of readExtentPages without copying plain pages into place: for PAGE records
 * (stride = header + page) it returns views of each page in the read buffer, for a
 * vectored write. Other kinds are reconstructed into `out` as readExtentPages does. The
 * views live until the next call with the same scratch.
 */
export function gatherExtentPages(
  source: ByteSource,
  model: QemuStreamModel,
  block: number,
  extent: Extent,
  firstPage: number,
  count: number,
  out: Uint8Array,
  scratch: { buf: Uint8Array },
): { parts: Uint8Array[]; problems: string[] } {
  const ps = model.pageSize;
  const run = extent.kind === 'page' && !isZeroExtent(extent) ? model.pages.run(extent.run) : undefined;
  if (!run || count < 2 || run.stride === ps) {
    const problems = readExtentPages(source, model, block, extent, firstPage, count, out, scratch);
    return { parts: [out.subarray(0, count * ps)], problems };
  }
  const problems: string[] = [];
  const span = (count - 1) * run.stride + ps;
  if (scratch.buf.length < span) scratch.buf = new Uint8Array(span);
  const buf = scratch.buf.subarray(0, span);
  readFully(source, buf, model.pages.dataOffsetIn(extent.run, firstPage), problems);
  const parts = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) parts[i] = buf.subarray(i * run.stride, i * run.stride + ps);
  return { parts, problems };
}

/** Fills `into` from `position`; bytes past the end of the source read as zero. Returns the bytes read. */
export function readFully(source: ByteSource, into: Uint8Array, position: number, problems?: string[]): number {
  let done = 0;
  while (done < into.length) {
    const got = source.readInto(into, done, into.length - done, position + done);
    if (got <= 0) break;
    done += got;
  }
  if (done < into.length) {
    into.fill(0, done);
    problems?.push(`page data at stream offset ${position + done} is cut by the end of the stream`);
  }
  return done;
}

/** Stream offset of the data of `page` in `extent` (for PAGE/mapped pages, the page bytes). */
export function pageDataOffset(model: QemuStreamModel, extent: Extent, page: number): number | undefined {
  return extent.run < 0 || extent.kind === 'zero' ? undefined : model.pages.dataOffsetIn(extent.run, page);
}

/** Final-state page counts of a block, by kind. */
export function pageFacts(extents: Extent[]): Record<ExtentKind, number> {
  const facts: Record<ExtentKind, number> = { 'never-sent': 0, zero: 0, page: 0, xbzrle: 0, compress: 0, mapped: 0 };
  for (const e of extents) facts[e.kind] += e.pages;
  return facts;
}
