import { blockExtents, blockPageCount, gatherExtentPages, type Extent } from '../memory/guest-memory';
import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel, RamBlock } from '../formats/qemu-stream/model';

/**
 * Takes 64-bit fingerprints of pages many at a time (the caller picks the function: xxh64
 * in the app and the CLI). Pages are placed in `input`, which the hasher owns (so it can be
 * memory the hash function reads in place, and a file can be read straight into it), and
 * hashed in one call.
 */
export interface PageHasher {
  /** Where the pages to hash are put; its size bounds one call. */
  readonly input: Uint8Array;
  /**
   * Hashes `count` pages of `pageSize` bytes in `input`, the first at `offset` (0) and each
   * `stride` bytes (`pageSize`) after the one before. Returns hash i as the little-endian
   * u32 pair [2i, 2i + 1], in a view that the next call overwrites.
   */
  hashInput(pageSize: number, count: number, stride?: number, offset?: number): Uint32Array;
}

/**
 * The hashes of one RAM block: `present[p]` says whether page p's 64-bit hash is held, as
 * the u32 pair `hashes[2p]` (low half), `hashes[2p + 1]` (high half).
 */
export interface BlockPageHashes {
  hashes: Uint32Array;
  present: Uint8Array;
}

/** PageHashes as plain data, to cross a thread (structured clone keeps the typed arrays). */
export type PageHashesTransfer = Record<string, BlockPageHashes>;

/**
 * Bytes of pages hashed in one call: the scan's pages copied into the hasher, and the page
 * data of a sealed image read straight into it. Small enough that the pages are still in
 * the CPU cache when they are hashed: on the 1 GiB benchmark image, batches of 4 MiB cost
 * about a fifth more CPU than these (scan 64 KiB, read 256 KiB).
 */
const SCAN_BATCH_BYTES = 64 << 10;
const READ_BATCH_BYTES = 256 << 10;

/**
 * The fingerprints of the final content of every plain page of one image (pages whose last
 * record is a PAGE record, or mapped-ram data), by RAM block idstr and page. `migwb diff`
 * takes them during the scan (ParseOptions.onPageData) or, for an image whose model came
 * from a section directory, in one read of its page data, so two images are compared
 * without reading either again. 9 bytes per guest page, never the pages themselves.
 */
export class PageHashes {
  private readonly blocks = new Map<string, BlockPageHashes>();
  /** The scan hook's pages copied into the hasher's input and not hashed yet: their blocks and page numbers. */
  private pending: { hasher: PageHasher; pageSize: number; blocks: BlockPageHashes[]; pages: number[] } | undefined;

  static from(transfer: PageHashesTransfer): PageHashes {
    const h = new PageHashes();
    for (const [id, b] of Object.entries(transfer)) h.blocks.set(id, b);
    return h;
  }

  toTransfer(): PageHashesTransfer {
    this.flush();
    return Object.fromEntries(this.blocks);
  }

  /** The hashes of block `id`, if any were taken. */
  of(id: string): BlockPageHashes | undefined {
    this.flush();
    return this.blocks.get(id);
  }

  private block(block: Pick<RamBlock, 'id' | 'usedLength'>, pageSize: number): BlockPageHashes {
    let b = this.blocks.get(block.id);
    if (!b) {
      const pages = Math.ceil(block.usedLength / pageSize);
      b = { hashes: new Uint32Array(2 * pages), present: new Uint8Array(pages) };
      this.blocks.set(block.id, b);
    }
    return b;
  }

  /**
   * A scan hook (ParseOptions.onPageData) that hashes each PAGE record as it passes: its
   * bytes are copied into the hasher's input and hashed with the pages before it once the
   * input is full (or at complete() or toTransfer()). A later record of the same page
   * replaces the earlier hash, as it replaces the page.
   */
  scanHook(hasher: PageHasher): (block: RamBlock, page: number, data: Uint8Array) => void {
    return (block, page, data) => {
      const ps = data.length;
      let p = this.pending;
      if (p && (p.hasher !== hasher || p.pageSize !== ps)) this.flush();
      const b = this.block(block, ps);
      if (page >= b.present.length) return;
      p = this.pending ??= { hasher, pageSize: ps, blocks: [], pages: [] };
      hasher.input.set(data, p.pages.length * ps);
      p.blocks.push(b);
      p.pages.push(page);
      if ((p.pages.length + 1) * ps > Math.min(hasher.input.length, SCAN_BATCH_BYTES)) this.flush();
    };
  }

  /** Hashes the pages the scan hook has queued. */
  private flush(): void {
    const p = this.pending;
    if (!p || p.pages.length === 0) return;
    const out = p.hasher.hashInput(p.pageSize, p.pages.length);
    for (let i = 0; i < p.pages.length; i++) {
      const b = p.blocks[i];
      const page = p.pages[i];
      b.hashes[2 * page] = out[2 * i];
      b.hashes[2 * page + 1] = out[2 * i + 1];
      b.present[page] = 1;
    }
    p.blocks.length = 0;
    p.pages.length = 0;
  }

  /**
   * Completes the hashes for `model`: every plain page the scan did not hash (a model from
   * a section directory, mapped-ram data) is read once and hashed, and hashes of pages
   * whose final record is not plain are dropped, so a hash is present only for a plain page
   * (pages that could not be read whole stay without one). The pages are read straight into
   * the hasher's input and hashed where they land.
   */
  complete(source: ByteSource, model: QemuStreamModel, hasher: PageHasher, options: { cancelled?: () => boolean; onProgress?: (donePages: number, totalPages: number) => void } = {}): void {
    this.flush();
    const { cancelled, onProgress } = options;
    const ps = model.pageSize;
    const input = hasher.input;
    const scratch = { buf: input };
    const total = model.ramBlocks.reduce((n, _, index) => n + blockPageCount(model, index), 0);
    let done = 0;
    model.ramBlocks.forEach((block, index) => {
      const b = this.block(block, ps);
      const pages = Math.min(b.present.length, blockPageCount(model, index));
      for (const e of blockExtents(model, index)) {
        done += e.pages;
        onProgress?.(done - e.pages, total);
        if (!isPlain(e)) {
          b.present.fill(0, e.firstPage, e.firstPage + e.pages);
          continue;
        }
        // PAGE records lie a header apart: as many as fit the input with their headers.
        const stride = e.kind === 'page' ? Math.max(ps, model.pages.run(e.run).stride) : ps;
        const chunk = Math.max(1, Math.floor((Math.min(input.length, READ_BATCH_BYTES) - ps) / stride) + 1);
        for (let page = e.firstPage, end = Math.min(e.firstPage + e.pages, pages); page < end; ) {
          if (b.present[page]) {
            page++;
            continue;
          }
          if (cancelled?.()) throw new Error('the diff was cancelled');
          onProgress?.(done - e.pages + (page - e.firstPage), total);
          let count = 1;
          while (count < chunk && page + count < end && !b.present[page + count]) count++;
          const { parts, problems } = gatherExtentPages(source, model, index, e, page, count, input, scratch);
          // Pages that could not be read whole stay unhashed: the diff reads them and reports why.
          if (problems.length === 0) {
            const out = hashParts(hasher, parts, ps, count);
            for (let i = 0; i < count; i++) {
              b.hashes[2 * (page + i)] = out[2 * i];
              b.hashes[2 * (page + i) + 1] = out[2 * i + 1];
              b.present[page + i] = 1;
            }
          }
          page += count;
        }
      }
    });
    onProgress?.(total, total);
  }
}

/**
 * Hashes the pages gatherExtentPages gave: in place when they lie in the hasher's input at
 * an even stride (one view of all pages back to back, or one view per page of a read
 * buffer that is the input), otherwise copied into the input first.
 */
function hashParts(hasher: PageHasher, parts: Uint8Array[], ps: number, count: number): Uint32Array {
  const input = hasher.input;
  const at = (v: Uint8Array) => (v.buffer === input.buffer ? v.byteOffset - input.byteOffset : -1);
  if (parts.length === 1) {
    if (at(parts[0]) >= 0) return hasher.hashInput(ps, count, ps, at(parts[0]));
    input.set(parts[0].subarray(0, count * ps));
    return hasher.hashInput(ps, count);
  }
  const first = at(parts[0]);
  const stride = count > 1 ? at(parts[1]) - first : ps;
  if (first >= 0 && stride >= ps && parts.every((v, i) => at(v) === first + i * stride)) return hasher.hashInput(ps, count, stride, first);
  parts.forEach((v, i) => input.set(v, i * ps));
  return hasher.hashInput(ps, count);
}

/** A page whose bytes are stored as they are (not zero-filled, compressed or XBZRLE-encoded). */
export function isPlain(e: Extent): boolean {
  return (e.kind === 'page' || e.kind === 'mapped') && e.run >= 0;
}
