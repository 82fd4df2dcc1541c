import { isZeroExtent, readExtentPages, readFully, type Extent } from '../../shared/memory/guest-memory';
import type { OpenedImage } from '../services/open-image';
import { CHUNK_BYTES } from './guest-view';

/**
 * Literal search (text or hex) over a block's final content, built for speed: pages stored
 * as plain PAGE records are searched where they lie in the stream, between their record
 * headers, without first being copied into place. A match inside a page is found by one
 * Buffer.indexOf over many pages; a match across two pages is found by checking each page
 * boundary, which is cheap because almost no page ends with a prefix of the needle.
 */
export function findLiteral(
  img: Pick<OpenedImage, 'source' | 'model'>,
  block: number,
  extents: Extent[],
  start: number,
  end: number,
  needle: Buffer,
  includeZero: boolean,
  visit: (offset: number) => boolean,
  onBytes: (n: number) => void,
): void {
  const ps = img.model.pageSize;
  const n = needle.length;
  const keep = n - 1;
  /** The last up-to-`keep` bytes before `tailEnd`, for matches that continue into the next bytes. */
  let tail = Buffer.alloc(0);
  let tailEnd = start;
  let stopped = false;
  const report = (offset: number) => {
    if (stopped || offset < start || offset + n > end) return;
    if (!visit(offset)) stopped = true;
  };
  /** Matches starting in `tail` and ending in `head` (which starts at `at`). */
  const junction = (head: Uint8Array, at: number) => {
    if (at !== tailEnd) tail = Buffer.alloc(0);
    for (let k = Math.min(keep, tail.length); k >= 1; k--) {
      if (head.length < n - k) continue;
      if (tail.compare(needle, 0, k, tail.length - k) === 0 && Buffer.from(head.buffer, head.byteOffset, n - k).compare(needle, k, n) === 0) report(at - k);
    }
  };
  const remember = (bytes: Uint8Array, endOffset: number) => {
    const take = Math.min(keep, bytes.length);
    const fresh = Buffer.from(bytes.subarray(bytes.length - take));
    tail = endOffset - bytes.length === tailEnd && take < keep ? Buffer.concat([tail, fresh]).subarray(-keep) : fresh;
    tailEnd = endOffset;
  };
  /** Plain bytes (decoded pages, zeros) at block offset `at`. */
  const plain = (bytes: Uint8Array, at: number) => {
    junction(bytes, at);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = buf.indexOf(needle); i >= 0 && !stopped; i = buf.indexOf(needle, i + 1)) report(at + i);
    remember(bytes, at + bytes.length);
  };
  const zeros = Buffer.alloc(Math.max(keep, 1));
  const buf = new Uint8Array(CHUNK_BYTES + 2 * ps);
  const scratch = { buf: new Uint8Array(0) };
  for (const e of extents) {
    if (stopped) return;
    const eStart = Math.max(start, e.firstPage * ps);
    const eEnd = Math.min(end, (e.firstPage + e.pages) * ps);
    if (eEnd <= eStart) continue;
    if (isZeroExtent(e) && !includeZero) {
      // Zero pages are not read; a match can only reach `keep` bytes into or out of them.
      const length = eEnd - eStart;
      if (length <= 2 * keep) plain(Buffer.alloc(length), eStart);
      else {
        plain(zeros.subarray(0, keep), eStart);
        tail = Buffer.from(zeros.subarray(0, keep));
        tailEnd = eEnd;
      }
      continue;
    }
    const firstPage = Math.floor(eStart / ps);
    const lastPage = Math.ceil(eEnd / ps);
    const run = e.run >= 0 ? img.model.pages.run(e.run) : undefined;
    const rawPages = (e.kind === 'page' || e.kind === 'mapped') && run !== undefined;
    // Stored pages are read as spans of the stream, which must fit the buffer with their headers.
    const perChunk = rawPages && run.stride > ps ? Math.floor((buf.length - ps) / run.stride) + 1 : Math.floor(CHUNK_BYTES / ps);
    for (let page = firstPage; page < lastPage && !stopped; ) {
      const count = Math.min(lastPage - page, perChunk);
      if (rawPages && run.stride > ps && count > 1) {
        scanStoredPages(img, e.run, run.stride, page, count, buf);
      } else {
        readExtentPages(img.source, img.model, block, e, page, count, buf, scratch);
        plain(buf.subarray(0, count * ps), page * ps);
      }
      onBytes(count * ps);
      page += count;
    }
  }
  if (!stopped && tail.length) plain(zeros.subarray(0, Math.min(keep, end - tailEnd)), tailEnd);

  /** `count` stored pages read as one span of the stream, searched in place. */
  function scanStoredPages(image: Pick<OpenedImage, 'source' | 'model'>, runIndex: number, stride: number, page: number, count: number, into: Uint8Array): void {
    const span = (count - 1) * stride + ps;
    const raw = into;
    readFully(image.source, raw.subarray(0, span), image.model.pages.dataOffsetIn(runIndex, page));
    const view = Buffer.from(raw.buffer, raw.byteOffset, span);
    junction(view.subarray(0, ps), page * ps);
    const hits: number[] = [];
    for (let i = view.indexOf(needle); i >= 0; i = view.indexOf(needle, i + 1)) {
      const p = Math.floor(i / stride);
      const inPage = i - p * stride;
      if (inPage + n <= ps) hits.push((page + p) * ps + inPage);
    }
    // Matches across the page boundaries inside the span: a page that ends with the needle's
    // first k bytes, followed by a page that starts with the rest. Plain loops: a native
    // compare (or a subarray) per candidate page cost more than the whole search of the page.
    const first = needle[0];
    for (let p = 0; p + 1 < count; p++) {
      const pageEnd = p * stride + ps;
      const nextPage = (p + 1) * stride;
      for (let j = pageEnd - keep; j < pageEnd; j++) {
        if (view[j] !== first) continue;
        const k = pageEnd - j;
        let q = 1;
        while (q < k && view[j + q] === needle[q]) q++;
        if (q < k) continue;
        while (q < n && view[nextPage + q - k] === needle[q]) q++;
        if (q === n) hits.push((page + p + 1) * ps - k);
      }
    }
    hits.sort((a, b) => a - b);
    for (const h of hits) report(h);
    remember(view.subarray((count - 1) * stride, span), (page + count) * ps);
  }
}
