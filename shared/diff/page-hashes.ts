import { blockExtents, blockPageCount, gatherExtentPages, type Extent } from '../memory/guest-memory';
import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel, RamBlock } from '../formats/qemu-stream/model';

/** A 64-bit fingerprint of one page's bytes (the caller picks the function: xxh64 in the app and the CLI). */
export type PageHasher = (page: Uint8Array) => bigint;

/** The hashes of one RAM block: `present[p]` says whether `hashes[p]` holds page p's. */
export interface BlockPageHashes {
  hashes: BigUint64Array;
  present: Uint8Array;
}

/** PageHashes as plain data, to cross a thread (structured clone keeps the typed arrays). */
export type PageHashesTransfer = Record<string, BlockPageHashes>;

/** Pages read at once when hashes are taken by reading (bounded memory for any guest size). */
const HASH_CHUNK_PAGES = 1024;

/**
 * The fingerprints of the final content of every plain page of one image (pages whose last
 * record is a PAGE record, or mapped-ram data), by RAM block idstr and page. `migwb diff`
 * takes them during the scan (ParseOptions.onPageData) or, for an image whose model came
 * from a section directory, in one read of its page data, so two images are compared
 * without reading either again. 9 bytes per guest page, never the pages themselves.
 */
export class PageHashes {
  private readonly blocks = new Map<string, BlockPageHashes>();

  static from(transfer: PageHashesTransfer): PageHashes {
    const h = new PageHashes();
    for (const [id, b] of Object.entries(transfer)) h.blocks.set(id, b);
    return h;
  }

  toTransfer(): PageHashesTransfer {
    return Object.fromEntries(this.blocks);
  }

  /** The hashes of block `id`, if any were taken. */
  of(id: string): BlockPageHashes | undefined {
    return this.blocks.get(id);
  }

  set(block: Pick<RamBlock, 'id' | 'usedLength'>, pageSize: number, page: number, hash: bigint): void {
    let b = this.blocks.get(block.id);
    if (!b) {
      const pages = Math.ceil(block.usedLength / pageSize);
      b = { hashes: new BigUint64Array(pages), present: new Uint8Array(pages) };
      this.blocks.set(block.id, b);
    }
    if (page >= b.hashes.length) return;
    b.hashes[page] = hash;
    b.present[page] = 1;
  }

  /**
   * A scan hook (ParseOptions.onPageData) that hashes each PAGE record as it passes. A
   * later record of the same page replaces the earlier hash, as it replaces the page.
   */
  scanHook(hash: PageHasher): (block: RamBlock, page: number, data: Uint8Array) => void {
    return (block, page, data) => this.set(block, data.length, page, hash(data));
  }

  /**
   * Completes the hashes for `model`: every plain page the scan did not hash (a model from
   * a section directory, mapped-ram data) is read once and hashed, and hashes of pages
   * whose final record is not plain are dropped, so a hash is present only for a plain page
   * (pages that could not be read whole stay without one).
   */
  complete(source: ByteSource, model: QemuStreamModel, hash: PageHasher, cancelled?: () => boolean): void {
    const ps = model.pageSize;
    const out = new Uint8Array(HASH_CHUNK_PAGES * ps);
    const scratch = { buf: new Uint8Array(0) };
    model.ramBlocks.forEach((block, index) => {
      const pages = blockPageCount(model, index);
      if (!this.blocks.has(block.id)) this.blocks.set(block.id, { hashes: new BigUint64Array(pages), present: new Uint8Array(pages) });
      const b = this.blocks.get(block.id)!;
      for (const e of blockExtents(model, index)) {
        if (!isPlain(e)) {
          b.present.fill(0, e.firstPage, e.firstPage + e.pages);
          continue;
        }
        for (let page = e.firstPage, end = e.firstPage + e.pages; page < end; ) {
          if (b.present[page]) {
            page++;
            continue;
          }
          if (cancelled?.()) throw new Error('the diff was cancelled');
          let count = 1;
          while (count < HASH_CHUNK_PAGES && page + count < end && !b.present[page + count]) count++;
          const { parts, problems } = gatherExtentPages(source, model, index, e, page, count, out, scratch);
          // Pages that could not be read whole stay unhashed: the diff reads them and reports why.
          if (problems.length === 0) {
            pagesOf(parts, ps, count).forEach((bytes, i) => {
              b.hashes[page + i] = hash(bytes);
              b.present[page + i] = 1;
            });
          }
          page += count;
        }
      }
    });
  }
}

/** A page whose bytes are stored as they are (not zero-filled, compressed or XBZRLE-encoded). */
export function isPlain(e: Extent): boolean {
  return (e.kind === 'page' || e.kind === 'mapped') && e.run >= 0;
}

/** gatherExtentPages gives one view per page, or one view of all pages back to back. */
function pagesOf(parts: Uint8Array[], ps: number, count: number): Uint8Array[] {
  if (parts.length === count) return parts;
  const all = parts[0];
  return Array.from({ length: count }, (_, i) => all.subarray(i * ps, (i + 1) * ps));
}
