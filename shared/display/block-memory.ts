import { readBytes, type ByteSource } from '../io/byte-source';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { PageKind } from '../formats/qemu-stream/page-index';
import { copyAcrossPages, readGuestPageBytes } from '../formats/qemu-stream/ram-reader';

/** One file read covers at most this many pages (1 MiB of 4 KiB pages with their headers). */
const MAX_PAGES_PER_READ = 256;

/**
 * A device RAM block (vga.vram, qxl.vram, qxl.vrom, …) as the destination QEMU holds it
 * after loading, read page by page on demand: a display touches a few hundred KiB to a few
 * MiB of a block that may be far larger, so only the pages a mode needs are ever read.
 * Bytes past the block's end read as zero.
 */
export class BlockMemory {
  readonly size: number;
  private readonly pageSize: number;
  private readonly pages = new Map<number, Uint8Array>();
  /** Pages whose content could not be reconstructed (they read as zero), by page number. */
  readonly problems = new Map<number, string>();

  constructor(
    private readonly source: ByteSource,
    private readonly model: QemuStreamModel,
    readonly block: number,
  ) {
    this.size = model.ramBlocks[block].usedLength;
    this.pageSize = model.pageSize;
  }

  get id(): string {
    return this.model.ramBlocks[this.block].id;
  }

  private page(n: number): Uint8Array {
    let p = this.pages.get(n);
    if (!p) {
      if (n * this.pageSize >= this.size) p = new Uint8Array(this.pageSize);
      else {
        const got = readGuestPageBytes(this.source, this.model, this.block, n);
        p = got.bytes;
        if (got.problem) this.problems.set(n, got.problem);
      }
      this.pages.set(n, p);
    }
    return p;
  }

  /**
   * Reads the pages of [first, last] not read yet. Pages that the same run of plain page
   * records sent one after another are read with one read of the file (a framebuffer is
   * hundreds of such pages, and a read per page costs more than drawing them).
   */
  private prefetchPages(first: number, last: number): void {
    const pages = this.model.pages;
    const ps = this.pageSize;
    for (let n = first; n <= last; ) {
      if (this.pages.has(n) || n * ps >= this.size) {
        n++;
        continue;
      }
      const run = pages.latestRun(this.block, n);
      if (run < 0 || pages.run(run).kind !== PageKind.PAGE) {
        this.page(n);
        n++;
        continue;
      }
      let end = n + 1;
      while (end <= last && end - n < MAX_PAGES_PER_READ && !this.pages.has(end) && pages.latestRun(this.block, end) === run) end++;
      const start = pages.dataOffsetIn(run, n);
      const stride = pages.dataOffsetIn(run, n + 1) - start;
      const span = readBytes(this.source, start, (end - n - 1) * stride + ps);
      if (span.length < (end - n - 1) * stride + ps) {
        // Cut by the end of the file: page by page, so each page says what is missing.
        for (; n < end; n++) this.page(n);
        continue;
      }
      for (let i = n; i < end; i++) this.pages.set(i, span.subarray((i - n) * stride, (i - n) * stride + ps));
      n = end;
    }
  }

  /** Reads [offset, offset + length) ahead, in as few file reads as the records allow (a picture about to be drawn line by line). */
  prefetch(offset: number, length: number): void {
    const end = Math.min(offset + length, this.size);
    if (end > offset) this.prefetchPages(Math.floor(offset / this.pageSize), Math.floor((end - 1) / this.pageSize));
  }

  /** Copies [offset, offset + length) into `out` at `at` (a new array when none is given). */
  read(offset: number, length: number, out: Uint8Array = new Uint8Array(length), at = 0): Uint8Array {
    if (length > this.pageSize) this.prefetch(offset, length);
    return copyAcrossPages(offset, length, this.pageSize, (n) => this.page(n), out, at);
  }

  /**
   * Reads `length` bytes from `address & mask` on, wrapping at `mask + 1` the way QEMU's
   * vga_read_* helpers mask every VRAM address (vbe_size_mask).
   */
  readWrapped(address: number, length: number, mask: number, out: Uint8Array): Uint8Array {
    const limit = mask + 1;
    let done = 0;
    let at = address & mask;
    while (done < length) {
      const take = Math.min(length - done, limit - at);
      this.read(at, take, out, done);
      done += take;
      at = 0;
    }
    return out;
  }

  u8(offset: number): number {
    const n = Math.floor(offset / this.pageSize);
    return this.page(n)[offset - n * this.pageSize];
  }

  u16le(offset: number): number {
    return this.u8(offset) | (this.u8(offset + 1) << 8);
  }

  u32le(offset: number): number {
    return (this.u8(offset) | (this.u8(offset + 1) << 8) | (this.u8(offset + 2) << 16) | (this.u8(offset + 3) << 24)) >>> 0;
  }

  u64le(offset: number): bigint {
    return BigInt(this.u32le(offset)) | (BigInt(this.u32le(offset + 4)) << 32n);
  }

  /** Pages read so far that hold data the stream could not give (for the render's notes). */
  problemSummary(): string[] {
    return [...this.problems].map(([n, why]) => `${this.id} page ${n}: ${why}`);
  }
}
