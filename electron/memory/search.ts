import { blockExtents, isZeroExtent, pageDataOffset, type Extent, type ExtentKind } from '../../shared/memory/guest-memory';
import { guestAddressesOf, type MachineLayout } from '../../shared/memory/layout';
import type { OffsetSpace } from '../../shared/api/offset-map';
import { openImageAsync, type OpenedImage, type OpenOptions } from '../services/open-image';
import { cancelled } from '../services/cancellation';
import { UserError } from '../services/user-error';
import { readGuestMemory } from './read-memory';
import { forEachBlockPiece, layoutOf } from './guest-view';
import { lastAtOrBefore } from '../../shared/util/sorted';
import { findLiteral } from './literal-search';
import { findLiteralInParallel, literalSearchThreads } from './parallel-literal-search';
import { ScanTimeLiteralSearch } from './scan-literal-search';
import { compilePattern, type Matcher, type SearchPattern } from './pattern';
import { loadEngineOf } from '../formats/engine-format';

export type { SearchPattern };


export interface SearchOptions {
  /** Only guest-physical [start, end). */
  gpaRange?: { start: number; end: number };
  /** Stop after this many hits per image (default 1000). */
  maxHits?: number;
  /** Longest match a regex may have across chunk boundaries (default 4096). */
  regexWindow?: number;
  maxRamBelow4g?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface SearchHit {
  /** Guest-physical address(es) of the first matched byte (several for aliased ROM). */
  gpa?: number;
  aliases?: number[];
  block: string;
  blockOffset: number;
  length: number;
  /** Record kind of the page holding the first matched byte. */
  kind: ExtentKind;
  /** Where that byte is stored: stream offset, and file offset when the file holds it. */
  streamOffset?: number;
  fileOffset?: number;
  offsetSpace: OffsetSpace;
  /** The matched bytes, hex, at most 64. */
  match: string;
  /** The match with up to PREVIEW_CONTEXT bytes on either side (within its block), hex, and where it starts. */
  preview: { blockOffset: number; hex: string };
}

/** Bytes of context shown on either side of a match. */
const PREVIEW_CONTEXT = 8;

export interface SearchResult {
  image: string;
  hits: SearchHit[];
  /** More hits exist than maxHits. */
  truncated: boolean;
  scannedBytes: number;
  /** Why the image could not be searched (the others still are). */
  error?: string;
}

const DEFAULT_MAX_HITS = 1000;
/** Thrown through the block reader to stop reading once enough hits are found. */
const STOP = new Error('enough hits');

/** Whether the pattern can match bytes that are all zero (then zero pages must be scanned too). */
function matchesZeros(m: Matcher): boolean {
  let found = false;
  m.find(Buffer.alloc(Math.max(1, m.overlap) * 2 + 1), 0, () => ((found = true), false));
  return found;
}

/**
 * Searches the final guest memory of an opened image, block by block in large chunks.
 * Pages that read as zero are not read at all unless the pattern can match zeros.
 */
export async function searchImage(img: OpenedImage, pattern: SearchPattern, options: SearchOptions = {}, scanned?: ScanTimeLiteralSearch): Promise<SearchResult> {
  const matcher = compilePattern(pattern, options.regexWindow);
  const layout = layoutOf(img, { maxRamBelow4g: options.maxRamBelow4g });
  const ranges = searchRanges(img, layout, options.gpaRange);
  const total = ranges.reduce((n, r) => n + (r.end - r.start), 0);
  const includeZero = matchesZeros(matcher);
  const maxHits = options.maxHits ?? DEFAULT_MAX_HITS;
  const result: SearchResult = { image: img.path, hits: [], truncated: false, scannedBytes: 0 };
  let done = 0;
  for (const range of ranges) {
    const extents = blockExtents(img.model, range.block);
    const record = (offset: number, bytes: Uint8Array) => {
      if (result.hits.length >= maxHits) {
        result.truncated = true;
        return false;
      }
      result.hits.push(describeHit(img, layout, range.block, extents, offset, bytes));
      return true;
    };
    if (matcher.needle) {
      const needle = matcher.needle;
      const doneBefore = done;
      const count = (n: number) => {
        done += n;
        options.onProgress?.(done, total);
      };
      const onBytes = (n: number) => {
        count(n);
        if (options.signal?.aborted) throw cancelled('search');
      };
      const threads = literalSearchThreads(extents, range.start, range.end, img.model.pageSize);
      // Searched while the image was scanned (see searchImages): only the pages that are not plain records are read now.
      const fromScan = scanned?.offsetsIn(img, range.block, extents, range.start, range.end, includeZero, onBytes);
      if (fromScan) {
        for (const offset of fromScan) if (!record(offset, needle)) break;
        count(Math.max(0, range.end - range.start - (done - doneBefore)));
      } else if (threads > 1) {
        const limit = maxHits - result.hits.length + 1;
        const offsets = await findLiteralInParallel(img, range.block, extents, range, needle, includeZero, threads, { limit, onBytes: count, signal: options.signal });
        for (const offset of offsets) if (!record(offset, needle)) break;
      } else {
        findLiteral(img, range.block, extents, range.start, range.end, needle, includeZero, (offset) => record(offset, needle), onBytes);
      }
      result.scannedBytes += range.end - range.start;
      if (result.truncated) break;
      continue;
    }
    const scanner = new Scanner(matcher, record);
    const zeros = Buffer.alloc(matcher.overlap);
    let end = range.start;
    const gap = (until: number) => {
      const length = until - end;
      if (length <= 0) return;
      if (length <= 2 * matcher.overlap) scanner.feed(end, Buffer.alloc(length));
      else {
        // Matches may run into or out of zero pages by at most `overlap` bytes.
        scanner.feed(end, zeros);
        scanner.restart(until - zeros.length);
        scanner.feed(until - zeros.length, zeros);
      }
    };
    scanner.restart(range.start);
    try {
      forEachBlockPiece(
        img,
        range.block,
        range.start,
        range.end - range.start,
        (piece) => {
          if (result.truncated) throw STOP;
          gap(piece.offset);
          scanner.feed(piece.offset, Buffer.from(piece.bytes.buffer, piece.bytes.byteOffset, piece.bytes.length));
          end = piece.offset + piece.bytes.length;
          done += piece.bytes.length;
          if (options.signal?.aborted) throw cancelled('search');
          options.onProgress?.(done, total);
        },
        { includeZero, extents },
      );
    } catch (e) {
      if (e !== STOP) throw e;
    }
    gap(Math.min(range.end, end + matcher.overlap));
    scanner.flush();
    result.scannedBytes += range.end - range.start;
    if (result.truncated) break;
  }
  return result;
}

/** Block ranges to search: every block whole, or the blocks behind a guest-physical range. */
function searchRanges(img: OpenedImage, layout: MachineLayout | undefined, gpaRange: SearchOptions['gpaRange']): { block: number; start: number; end: number }[] {
  if (!gpaRange) return img.model.ramBlocks.map((b, block) => ({ block, start: 0, end: b.usedLength }));
  if (!layout) throw new UserError(`the guest-physical layout of machine type ${img.model.machineType ?? '(unknown)'} is not known, so --gpa-range cannot be used`);
  return layout.regions
    .filter((r) => r.gpa < gpaRange.end && r.gpa + r.size > gpaRange.start)
    .map((r) => {
      const from = Math.max(gpaRange.start, r.gpa);
      const to = Math.min(gpaRange.end, r.gpa + r.size);
      return { block: r.block, start: r.blockOffset + (from - r.gpa), end: r.blockOffset + (to - r.gpa) };
    });
}

function describeHit(img: OpenedImage, layout: MachineLayout | undefined, block: number, extents: Extent[], offset: number, bytes: Uint8Array): SearchHit {
  const ps = img.model.pageSize;
  const page = Math.floor(offset / ps);
  const extent = extentAt(extents, page);
  const gpas = layout ? guestAddressesOf(layout, block, offset) : [];
  const pageData = isZeroExtent(extent) ? undefined : pageDataOffset(img.model, extent, page);
  const streamOffset = pageData === undefined ? undefined : extent.kind === 'page' || extent.kind === 'mapped' ? pageData + (offset - page * ps) : pageData;
  return {
    gpa: gpas[0],
    aliases: gpas.length > 1 ? gpas.slice(1) : undefined,
    block: img.model.ramBlocks[block].id,
    blockOffset: offset,
    length: bytes.length,
    kind: extent.kind,
    streamOffset,
    fileOffset: streamOffset === undefined ? undefined : img.fileOffsetOf(streamOffset),
    offsetSpace: img.offsetSpace,
    match: Buffer.from(bytes.subarray(0, 64)).toString('hex'),
    preview: previewAround(img, block, offset, Math.min(bytes.length, 64)),
  };
}

function previewAround(img: OpenedImage, block: number, offset: number, length: number): SearchHit['preview'] {
  const b = img.model.ramBlocks[block];
  const start = Math.max(0, offset - PREVIEW_CONTEXT);
  const end = Math.min(b.usedLength, offset + length + PREVIEW_CONTEXT);
  const { bytes } = readGuestMemory(img, { block: b.id, offset: start }, end - start, undefined);
  return { blockOffset: start, hex: Buffer.from(bytes).toString('hex') };
}

function extentAt(extents: Extent[], page: number): Extent {
  return extents[lastAtOrBefore(extents, page, (e) => e.firstPage)];
}

/**
 * Finds matches in a sequence of contiguous chunks, keeping `overlap` bytes between them
 * so a match across a chunk boundary is found once. A match is reported when it starts
 * before the retained tail (or at the end), which is where the next window begins.
 */
class Scanner {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  private pendingFrom = 0;
  private stopped = false;

  constructor(private readonly matcher: Matcher, private readonly report: (blockOffset: number, bytes: Uint8Array) => boolean) {}

  restart(at: number): void {
    this.flush();
    this.window = Buffer.alloc(0);
    this.windowStart = at;
    this.pendingFrom = at;
  }

  feed(offset: number, bytes: Buffer): void {
    if (this.stopped) return;
    if (offset !== this.windowStart + this.window.length) throw new Error(`search chunks out of order at ${offset}`);
    this.window = this.window.length ? Buffer.concat([this.window, bytes]) : bytes;
    const boundary = this.windowStart + this.window.length - this.matcher.overlap;
    this.scan(boundary);
    const keep = Math.max(0, boundary - this.windowStart);
    // Copy the tail: the chunk buffer is reused by the reader.
    this.window = Buffer.from(this.window.subarray(keep));
    this.windowStart += keep;
  }

  flush(): void {
    if (!this.stopped && this.window.length) this.scan(Infinity);
    this.window = Buffer.alloc(0);
  }

  private scan(boundary: number): void {
    const from = Math.max(0, this.pendingFrom - this.windowStart);
    this.matcher.find(this.window, from, (index, length) => {
      const at = this.windowStart + index;
      if (at >= boundary) return false;
      if (!this.report(at, this.window.subarray(index, index + length))) {
        this.stopped = true;
        return false;
      }
      return true;
    });
    this.pendingFrom = Math.max(this.pendingFrom, Math.min(boundary, this.windowStart + this.window.length));
  }
}

/** Searches several images (the same pattern), opening each in turn, compressed ones included. */
export async function searchImages(paths: string[], pattern: SearchPattern, options: SearchOptions & OpenOptions = {}): Promise<SearchResult[]> {
  const matcher = compilePattern(pattern, options.regexWindow); // report a bad pattern before opening anything
  const out: SearchResult[] = [];
  for (const path of paths) {
    // A format with an engine of its own (Xen streams) searches its guest memory itself.
    const engine = await loadEngineOf(path);
    if (engine) {
      out.push(engine.searchImage(path, pattern, options));
      continue;
    }
    // A literal search of an image that is not sealed runs within its scan: the file is read once.
    const scanned = matcher.needle ? new ScanTimeLiteralSearch(matcher.needle, options.signal) : undefined;
    let img: OpenedImage;
    try {
      img = await openImageAsync(path, { ...options, onPageData: scanned?.tap });
    } catch (e) {
      // One unreadable or moved image must not end a search across a library.
      if (!(e instanceof UserError)) throw e;
      out.push({ image: path, hits: [], truncated: false, scannedBytes: 0, error: e.message });
      continue;
    }
    try {
      out.push(await searchImage(img, pattern, options, img.via === 'scan' ? scanned : undefined));
    } finally {
      img.close();
    }
  }
  return out;
}
