import { pageDataOffset, type Extent } from '../../shared/memory/guest-memory';
import type { ParseOptions } from '../../shared/formats/qemu-stream/stream-parser';
import { lastAtOrBefore } from '../../shared/util/sorted';
import type { OpenedImage } from '../services/open-image';
import { cancelled } from '../services/cancellation';
import { findLiteral } from './literal-search';
import { readGuestMemory } from './read-memory';

/**
 * Candidates kept during one scan (4 numbers each). Past this many (a needle that is nearly
 * everywhere) the scan's candidates are dropped and the search reads the pages again, so
 * memory stays bounded whatever the image holds.
 */
const MAX_CANDIDATES = 1 << 18;
/** Pages between two looks at the cancel signal. */
const CANCEL_EVERY_PAGES = 4096;

/**
 * A literal search made during the scan's one read of an image that is not sealed: the scan
 * hands every plain page record to `tap` while the page is in its read window, and the
 * matches inside the page, and the needle prefixes the page ends with, are noted in stream
 * terms. Once the model is built, `offsetsIn` keeps those of each page's last record (a page
 * sent twice counts as its last copy), completes the prefixes with the next page's first
 * bytes, and searches the few pages that are not plain records (compressed, XBZRLE, ...) as
 * the search always did. Without this, a search of an unsealed image read the whole file
 * twice: once to scan it, once to search its pages.
 */
export class ScanTimeLiteralSearch {
  /** The scan's ParseOptions.onPageData. */
  readonly tap: NonNullable<ParseOptions['onPageData']>;
  /** The RAM block ids the candidates name by their index here. */
  private readonly blockIds: string[] = [];
  /** block, page, record data offset, match offset in the page: matches inside a page. */
  private readonly inPage: number[] = [];
  /** block, page, record data offset, k: the page ends with the needle's first k bytes. */
  private readonly prefixes: number[] = [];
  private overflowed = false;
  private pagesSeen = 0;

  constructor(private readonly needle: Buffer, signal?: AbortSignal) {
    const n = needle.length;
    const keep = n - 1;
    const first = needle[0];
    // The tap sees the reader's window; it is searched once per refill (one indexOf over the
    // window finds the next match for all the pages in it), not once per page.
    let window: Uint8Array | undefined;
    let view: Buffer = Buffer.alloc(0);
    let windowBase = NaN;
    /** The first match in the window at or after the last place searched from (-1: none to its end); undefined in a new window. */
    let next: number | undefined;
    this.tap = (ramBlock, page, data, dataOffset) => {
      if (++this.pagesSeen % CANCEL_EVERY_PAGES === 0 && signal?.aborted) throw cancelled('search');
      if (this.overflowed) return;
      let block = this.blockIds.lastIndexOf(ramBlock.id);
      if (block < 0) block = this.blockIds.push(ramBlock.id) - 1;
      // `data` is a view of the reader's window: the window is searched as a whole.
      const bytes = new Uint8Array(data.buffer);
      const at = data.byteOffset;
      if (bytes.buffer !== window?.buffer || dataOffset - at !== windowBase) {
        if (bytes.buffer !== window?.buffer) view = Buffer.from(data.buffer);
        window = bytes;
        windowBase = dataOffset - at;
        next = undefined;
      }
      const end = at + data.length;
      // Pages come in stream order, so a match found past this page is the next page's too.
      if (next === undefined || (next !== -1 && next < at)) next = view.indexOf(needle, at);
      while (next !== -1 && next < end) {
        if (next + n <= end) this.note(this.inPage, block, page, dataOffset, next - at);
        next = view.indexOf(needle, next + 1);
      }
      for (let j = Math.max(at, end - keep); j < end; j++) {
        if (bytes[j] !== first) continue;
        let q = 1;
        while (j + q < end && bytes[j + q] === needle[q]) q++;
        if (j + q === end) this.note(this.prefixes, block, page, dataOffset, end - j);
      }
    };
  }

  private note(list: number[], block: number, page: number, dataOffset: number, value: number): void {
    if (this.inPage.length + this.prefixes.length >= 4 * MAX_CANDIDATES) {
      this.overflowed = true;
      this.inPage.length = 0;
      this.prefixes.length = 0;
      return;
    }
    list.push(block, page, dataOffset, value);
  }

  /**
   * The match offsets in [start, end) of `block`, in order, as a search of the model's final
   * content finds them; undefined when the scan did not see every plain page of the image
   * (the candidates overflowed, or the stream had page records of unknown blocks), and the
   * caller must search by reading.
   */
  offsetsIn(img: OpenedImage, block: number, extents: Extent[], start: number, end: number, includeZero: boolean, onBytes: (n: number) => void): number[] | undefined {
    if (!this.covers(img)) return undefined;
    const ps = img.model.pageSize;
    const n = this.needle.length;
    const found: number[] = [];
    const lastRecord = (page: number): number | undefined => {
      const extent = extents[lastAtOrBefore(extents, page, (e) => e.firstPage)];
      return extent && extent.kind === 'page' && page < extent.firstPage + extent.pages ? pageDataOffset(img.model, extent, page) : undefined;
    };
    const inRange = (offset: number) => offset >= start && offset + n <= end;
    const wanted = this.blockIds.indexOf(img.model.ramBlocks[block].id);
    for (let i = 0; i < this.inPage.length; i += 4) {
      const [b, page, dataOffset, inPage] = [this.inPage[i], this.inPage[i + 1], this.inPage[i + 2], this.inPage[i + 3]];
      if (b === wanted && lastRecord(page) === dataOffset && inRange(page * ps + inPage)) found.push(page * ps + inPage);
    }
    const blockId = img.model.ramBlocks[block].id;
    const blockEnd = img.model.ramBlocks[block].usedLength;
    for (let i = 0; i < this.prefixes.length; i += 4) {
      const [b, page, dataOffset, k] = [this.prefixes[i], this.prefixes[i + 1], this.prefixes[i + 2], this.prefixes[i + 3]];
      const next = (page + 1) * ps;
      if (b !== wanted || k >= n || next + (n - k) > blockEnd || !inRange(next - k) || lastRecord(page) !== dataOffset) continue;
      const { bytes } = readGuestMemory(img, { block: blockId, offset: next }, n - k, undefined);
      if (this.needle.compare(bytes, 0, n - k, k, n) === 0) found.push(next - k);
    }
    // The pages the tap did not see: runs of extents that are not plain page records, and
    // the matches that start in a run's last bytes and end in the page after it.
    const keep = n - 1;
    let runStart = -1;
    const searchRun = (from: number, to: number) => {
      const a = Math.max(start, from);
      const b = Math.min(end, to);
      if (a >= b) return;
      findLiteral(img, block, extents, a, b, this.needle, includeZero, (offset) => (found.push(offset), true), onBytes);
      const tailFrom = Math.max(a, b - keep);
      const headTo = Math.min(end, blockEnd, b + keep);
      if (headTo <= b) return;
      const { bytes } = readGuestMemory(img, { block: blockId, offset: tailFrom }, headTo - tailFrom, undefined);
      const seam = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      for (let i = seam.indexOf(this.needle); i >= 0 && tailFrom + i < b; i = seam.indexOf(this.needle, i + 1)) if (tailFrom + i + n > b) found.push(tailFrom + i);
    };
    for (const e of extents) {
      const plain = e.kind === 'page';
      if (plain && runStart >= 0) {
        searchRun(runStart, e.firstPage * ps);
        runStart = -1;
      } else if (!plain && runStart < 0) runStart = e.firstPage * ps;
    }
    if (runStart >= 0) searchRun(runStart, blockEnd);
    // Each match starts in exactly one page, so no offset comes twice.
    return found.sort((x, y) => x - y);
  }

  /** Whether the tap saw every plain page record the model holds. */
  private covers(img: OpenedImage): boolean {
    if (this.overflowed) return false;
    const plainRecords = img.model.elements.reduce((sum, e) => sum + (e.pages?.page ?? 0), 0);
    return plainRecords === this.pagesSeen;
  }
}
