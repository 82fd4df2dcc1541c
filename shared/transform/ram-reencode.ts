import { unzlibSync } from 'fflate';
import { MAPPED_RAM_HEADER_SIZE, RamFlag, RAM_IDSTR } from '../formats/qemu-stream/constants';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { PageKind } from '../formats/qemu-stream/page-index';
import { locateRecord } from '../formats/qemu-stream/page-records';
import { readGuestPage } from '../formats/qemu-stream/ram-reader';
import { payloadRange } from '../formats/qemu-stream/section-decoder';
import { applyXbzrle } from '../formats/qemu-stream/xbzrle';
import { readBytes, type ByteSource } from '../io/byte-source';
import { ascii, be32, be64, concatBytes } from '../io/bytes';
import type { RamPolicy } from './rule';

/**
 * RAM re-encoding as a derived byte source: the new payloads of the RAM sections a
 * transform rewrites, generated on demand from the image. A converted 8 GiB guest is a
 * few typed arrays of segments (one per page record at most), never the data itself, and
 * the journal refers to it by ranges like any other source. The same recipe rebuilds the
 * same bytes from the same image, so a saved journal re-applies.
 *
 * Segments: copies of the image, literal framing, runs of zeros, and page records whose
 * body is computed (a mapped-ram page, an inflated COMPRESS_PAGE, an XBZRLE page replayed
 * up to that record, or a page's final content).
 */

const enum Seg {
  COPY = 1,
  LITERAL = 2,
  ZEROS = 3,
  /** PAGE record whose data is `c` (a file offset of raw page bytes). */
  PAGE_FROM_DATA = 4,
  ZERO_RECORD = 5,
  /** PAGE record from a COMPRESS_PAGE body at `c`, `d` bytes. */
  PAGE_INFLATED = 6,
  /** PAGE record with the page as of XBZRLE run `d`. */
  PAGE_XBZRLE = 7,
  /** The final content of a page, no header (mapped-ram page data). */
  FINAL_DATA = 8,
}

/** One RAM element whose payload is replaced: where in the derived source its new payload is. */
export interface RamReplacement {
  element: number;
  /** Source range replaced: the element's payload (after the header, before the footer). */
  offset: number;
  deleteLength: number;
  /** Range of the derived source that replaces it. */
  derivedOffset: number;
  derivedLength: number;
  summary: string;
}

/** What `buildRamReencoding` needs, as JSON (the journal's recipe for rebuilding it). */
export interface RamRecipe {
  kind: 'ram-reencode';
  policy: RamPolicy;
  /**
   * For inline→mapped-ram: the offset the START payload will have in the transformed stream
   * (mapped-ram headers hold absolute offsets).
   */
  startPayloadAt?: number;
}

export class ReencodedRam implements ByteSource {
  private count = 0;
  private kind = new Uint8Array(64);
  private named = new Uint8Array(64);
  private a = new Float64Array(64);
  private b = new Float64Array(64);
  private c = new Float64Array(64);
  private d = new Float64Array(64);
  private starts = new Float64Array(65);
  private readonly literals: Uint8Array[] = [];
  private cached = -1;
  private cachedBytes: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  size = 0;

  constructor(private readonly view: ByteSource, private readonly model: QemuStreamModel) {}

  // ------------------------------------------------------------------ building

  copy(offset: number, length: number): void {
    if (length <= 0) return;
    const last = this.count - 1;
    // Adjacent copies merge, so unchanged stretches cost one segment.
    if (last >= 0 && this.kind[last] === Seg.COPY && this.a[last] + this.b[last] === offset) {
      this.b[last] += length;
      this.size += length;
      this.starts[this.count] = this.size;
      return;
    }
    this.push(Seg.COPY, 0, offset, length, 0, 0, length);
  }

  literal(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.literals.push(bytes);
    this.push(Seg.LITERAL, 0, this.literals.length - 1, 0, 0, 0, bytes.length);
  }

  zeros(length: number): void {
    if (length <= 0) return;
    const last = this.count - 1;
    if (last >= 0 && this.kind[last] === Seg.ZEROS) {
      this.b[last] += length;
      this.size += length;
      this.starts[this.count] = this.size;
      return;
    }
    this.push(Seg.ZEROS, 0, 0, length, 0, 0, length);
  }

  pageFromData(block: number, page: number, named: boolean, dataOffset: number): void {
    this.push(Seg.PAGE_FROM_DATA, named ? 1 : 0, block, page, dataOffset, 0, this.headerLength(block, named) + this.model.pageSize);
  }

  zeroRecord(block: number, page: number, named: boolean): void {
    this.push(Seg.ZERO_RECORD, named ? 1 : 0, block, page, 0, 0, this.headerLength(block, named) + 1);
  }

  pageInflated(block: number, page: number, named: boolean, dataOffset: number, dataLength: number): void {
    this.push(Seg.PAGE_INFLATED, named ? 1 : 0, block, page, dataOffset, dataLength, this.headerLength(block, named) + this.model.pageSize);
  }

  pageXbzrle(block: number, page: number, named: boolean, run: number): void {
    this.push(Seg.PAGE_XBZRLE, named ? 1 : 0, block, page, 0, run, this.headerLength(block, named) + this.model.pageSize);
  }

  finalData(block: number, page: number): void {
    this.push(Seg.FINAL_DATA, 0, block, page, 0, 0, this.model.pageSize);
  }

  private headerLength(block: number, named: boolean): number {
    return 8 + (named ? 1 + this.model.ramBlocks[block].id.length : 0);
  }

  private push(kind: Seg, named: number, a: number, b: number, c: number, d: number, length: number): void {
    if (this.count === this.kind.length) this.grow();
    const i = this.count++;
    this.kind[i] = kind;
    this.named[i] = named;
    this.a[i] = a;
    this.b[i] = b;
    this.c[i] = c;
    this.d[i] = d;
    this.starts[i] = this.size;
    this.size += length;
    this.starts[i + 1] = this.size;
  }

  private grow(): void {
    const n = this.kind.length * 2;
    const g8 = (x: Uint8Array) => {
      const y = new Uint8Array(n);
      y.set(x);
      return y;
    };
    const g64 = (x: Float64Array, extra = 0) => {
      const y = new Float64Array(n + extra);
      y.set(x);
      return y;
    };
    this.kind = g8(this.kind);
    this.named = g8(this.named);
    this.a = g64(this.a);
    this.b = g64(this.b);
    this.c = g64(this.c);
    this.d = g64(this.d);
    this.starts = g64(this.starts, 1);
  }

  /** Segments in use (for tests and the plan's numbers). */
  get segments(): number {
    return this.count;
  }

  // ------------------------------------------------------------------ reading

  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    if (position >= this.size || length <= 0) return 0;
    const end = Math.min(this.size, position + length);
    let at = position;
    let i = this.segmentAt(at);
    while (at < end) {
      const segStart = this.starts[i];
      const segEnd = this.starts[i + 1];
      const from = at - segStart;
      const n = Math.min(segEnd, end) - at;
      const out = targetOffset + (at - position);
      switch (this.kind[i]) {
        case Seg.COPY:
          readFully(this.view, target, out, n, this.a[i] + from);
          break;
        case Seg.ZEROS:
          target.fill(0, out, out + n);
          break;
        default:
          target.set(this.materialise(i).subarray(from, from + n), out);
      }
      at += n;
      i++;
    }
    return end - position;
  }

  private segmentAt(offset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private materialise(i: number): Uint8Array<ArrayBufferLike> {
    if (this.cached === i) return this.cachedBytes;
    const kind = this.kind[i];
    let bytes: Uint8Array<ArrayBufferLike>;
    if (kind === Seg.LITERAL) {
      bytes = this.literals[this.a[i]];
    } else if (kind === Seg.FINAL_DATA) {
      bytes = readGuestPage(this.view, this.model, this.a[i], this.b[i]).bytes;
    } else {
      const block = this.a[i];
      const page = this.b[i];
      const named = this.named[i] === 1;
      const flag = kind === Seg.ZERO_RECORD ? RamFlag.ZERO : RamFlag.PAGE;
      const id = this.model.ramBlocks[block].id;
      const header = named ? concatBytes(be64(page * this.model.pageSize + flag), Uint8Array.of(id.length), ascii(id)) : be64(page * this.model.pageSize + (flag | RamFlag.CONTINUE));
      bytes = concatBytes(header, this.body(kind, i));
    }
    this.cached = i;
    this.cachedBytes = bytes;
    return bytes;
  }

  private body(kind: Seg, i: number): Uint8Array<ArrayBufferLike> {
    const ps = this.model.pageSize;
    switch (kind) {
      case Seg.ZERO_RECORD:
        return Uint8Array.of(0);
      case Seg.PAGE_FROM_DATA:
        return exactly(readBytes(this.view, this.c[i], ps), ps);
      case Seg.PAGE_INFLATED:
        return exactly(unzlibSync(readBytes(this.view, this.c[i], this.d[i])), ps);
      case Seg.PAGE_XBZRLE:
        return this.xbzrleAsOf(this.a[i], this.b[i], this.d[i]);
      default:
        throw new Error(`internal: segment kind ${kind}`);
    }
  }

  /** The page as the destination holds it right after XBZRLE run `run`: every record of it replayed in stream order. */
  private xbzrleAsOf(block: number, page: number, run: number): Uint8Array<ArrayBufferLike> {
    const pages = this.model.pages;
    let content: Uint8Array<ArrayBufferLike> = new Uint8Array(this.model.pageSize);
    for (const r of pages.runsHolding(block, page)) {
      const info = pages.run(r);
      const data = pages.dataOffsetIn(r, page);
      if (info.kind === PageKind.XBZRLE) content = applyXbzrle(content, readBytes(this.view, data, info.dataLength));
      else if (info.kind === PageKind.ZERO) content = new Uint8Array(this.model.pageSize).fill(info.fill);
      else if (info.kind === PageKind.COMPRESS) content = exactly(unzlibSync(readBytes(this.view, data, info.dataLength)), this.model.pageSize);
      else content = exactly(readBytes(this.view, data, this.model.pageSize), this.model.pageSize);
      if (r === run) break;
    }
    return content;
  }
}

function exactly(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.length !== size) throw new Error(`a page of ${bytes.length} bytes where ${size} were expected`);
  return bytes;
}

function readFully(source: ByteSource, target: Uint8Array, at: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const got = source.readInto(target, at + done, length - done, position + done);
    if (got <= 0) throw new Error(`the image ends at ${position + done} inside a RAM segment`);
    done += got;
  }
}

// ---------------------------------------------------------------------- planning

/**
 * Builds the re-encoded RAM payloads the policy asks for. Returns the derived source and
 * which element payloads it replaces; no replacements when nothing needs re-encoding.
 */
export function buildRamReencoding(view: ByteSource, model: QemuStreamModel, recipe: RamRecipe): { source: ReencodedRam; replacements: RamReplacement[] } {
  const out = new ReencodedRam(view, model);
  const replacements: RamReplacement[] = [];
  const ram = model.elements.filter((e) => e.idstr === RAM_IDSTR && (e.type === 'START' || e.type === 'PART' || e.type === 'END'));
  const { policy } = recipe;
  const mapped = model.ramBlocks.some((b) => b.mappedRam);
  if (policy.mappedToInline && mapped) {
    mappedToInline(view, model, ram, out, replacements);
  } else if (policy.inlineToMapped && !mapped) {
    inlineToMapped(model, ram, out, replacements, recipe.startPayloadAt ?? 0);
  } else if (policy.inflateCompressed || policy.xbzrleToPage) {
    convertRecords(view, model, ram, policy, out, replacements);
  }
  return { source: out, replacements };
}

function replace(out: ReencodedRam, replacements: RamReplacement[], e: StreamElement, summary: string, fill: () => void): void {
  const { start, end } = payloadRange(e);
  const derivedOffset = out.size;
  fill();
  replacements.push({ element: e.index, offset: start, deleteLength: end - start, derivedOffset, derivedLength: out.size - derivedOffset, summary });
}

/** COMPRESS_PAGE and/or XBZRLE records become PAGE records framed as before (block id or CONTINUE). */
function convertRecords(view: ByteSource, model: QemuStreamModel, ram: StreamElement[], policy: RamPolicy, out: ReencodedRam, replacements: RamReplacement[]): void {
  const pages = model.pages;
  const wanted = (k: PageKind) => (k === PageKind.COMPRESS && policy.inflateCompressed) || (k === PageKind.XBZRLE && policy.xbzrleToPage);
  const byElement = new Map<number, number[]>();
  for (let r = 0; r < pages.runCount; r++) {
    const run = pages.run(r);
    if (wanted(run.kind)) byElement.set(run.element, [...(byElement.get(run.element) ?? []), r]);
  }
  for (const e of ram) {
    const runs = byElement.get(e.index);
    if (!runs) continue;
    let compressed = 0;
    let xbzrle = 0;
    replace(out, replacements, e, '', () => {
      let at = payloadRange(e).start;
      for (const r of runs) {
        const run = pages.run(r);
        for (let k = 0; k < run.count; k++) {
          const page = run.firstPage + k;
          const record = locateRecord(view, model, r, page);
          if (!record) throw new Error(`the record of page ${page} of ${model.ramBlocks[run.block].id} cannot be located; repair the image first`);
          out.copy(at, record.offset - at);
          if (run.kind === PageKind.COMPRESS) {
            out.pageInflated(run.block, page, record.hasBlockId, pages.dataOffsetIn(r, page), run.dataLength);
            compressed++;
          } else {
            out.pageXbzrle(run.block, page, record.hasBlockId, r);
            xbzrle++;
          }
          at = record.end;
        }
      }
      out.copy(at, payloadRange(e).end - at);
    });
    replacements[replacements.length - 1].summary = [compressed && `${compressed} COMPRESS_PAGE`, xbzrle && `${xbzrle} XBZRLE`].filter(Boolean).join(' and ') + ` record${compressed + xbzrle === 1 ? '' : 's'} of ${e.type} ram became PAGE records`;
  }
}

/**
 * mapped-ram → inline: the START keeps the block list without the MappedRamHeaders (and
 * without the bitmap and page regions between the entries); every page becomes a PAGE
 * record (present in the bitmap) or a ZERO record, put in front of the first PART (or END).
 */
function mappedToInline(view: ByteSource, model: QemuStreamModel, ram: StreamElement[], out: ReencodedRam, replacements: RamReplacement[]): void {
  const start = ram.find((e) => e.type === 'START' && e.ramBlocks?.some((b) => b.mappedRam));
  if (!start) return;
  const host = ram.find((e) => e !== start && (e.type === 'PART' || e.type === 'END'));
  const blocks = start.ramBlocks!;
  let present = 0;
  let zero = 0;
  const records = () => {
    for (const block of blocks) {
      const index = model.ramBlocks.findIndex((b) => b.id === block.id);
      const info = block.mappedRam!;
      const count = Math.ceil(block.usedLength / model.pageSize);
      const bitmap = readBytes(view, info.bitmapOffset, info.bitmapLength);
      for (let p = 0; p < count; p++) {
        const named = p === 0;
        if ((bitmap[p >> 3] >> (p & 7)) & 1) {
          out.pageFromData(index, p, named, info.pagesOffset + p * model.pageSize);
          present++;
        } else {
          out.zeroRecord(index, p, named);
          zero++;
        }
      }
    }
  };
  replace(out, replacements, start, '', () => {
    const { start: from, end } = payloadRange(start);
    out.copy(from, 8); // the MEM_SIZE record header
    let resume = from + 8;
    for (const block of blocks) {
      out.copy(block.recordOffset, block.mappedRam!.headerOffset - block.recordOffset);
      resume = block.mappedRam!.pagesOffset + block.usedLength;
    }
    if (!host) records();
    out.copy(resume, end - resume);
  });
  const summary = () => `mapped-ram: the START block list lost its ${blocks.length} MappedRamHeaders, bitmaps and page regions; ${present} present pages became PAGE records and ${zero} absent pages ZERO records`;
  replacements[replacements.length - 1].summary = host ? `mapped-ram: the START block list lost its ${blocks.length} MappedRamHeaders, bitmaps and page regions` : summary();
  if (host) {
    replace(out, replacements, host, '', () => {
      records();
      const { start: from, end } = payloadRange(host);
      out.copy(from, end - from);
    });
    replacements[replacements.length - 1].summary = `${present} present mapped-ram pages became PAGE records and ${zero} absent ones ZERO records, in front of ${host.type} ram`;
  }
}

/** MAPPED_RAM_FILE_OFFSET_ALIGNMENT (migration/ram.c): page regions start on 1 MiB boundaries. */
const MAPPED_RAM_ALIGNMENT = 0x100000;

/**
 * inline → mapped-ram (QEMU 9.0+ `file:` migration): after each block entry of the START a
 * MappedRamHeader (version 1, page size, bitmap and page offsets, all absolute), the
 * bitmap of pages holding data, and the block's pages at their fixed offsets; the PART
 * and END sections keep only their end-of-section records.
 */
function inlineToMapped(model: QemuStreamModel, ram: StreamElement[], out: ReencodedRam, replacements: RamReplacement[], startPayloadAt: number): void {
  const start = ram.find((e) => e.type === 'START' && e.ramBlocks?.length);
  if (!start) return;
  const ps = model.pageSize;
  let present = 0;
  replace(out, replacements, start, '', () => {
    const base = out.size;
    const { start: from } = payloadRange(start);
    const at = () => startPayloadAt + (out.size - base);
    out.copy(from, 8);
    let cursor = from + 8;
    for (const block of start.ramBlocks!) {
      const index = model.ramBlocks.findIndex((b) => b.id === block.id);
      const entryEnd = block.recordOffset + 1 + block.id.length + 8 + (block.mrAddr !== undefined ? 8 : 0);
      out.copy(block.recordOffset, entryEnd - block.recordOffset);
      cursor = entryEnd;
      const count = Math.ceil(block.usedLength / ps);
      const bitmapLength = Math.ceil(count / 64) * 8;
      const bitmapOffset = at() + MAPPED_RAM_HEADER_SIZE;
      const pagesOffset = Math.ceil((bitmapOffset + bitmapLength) / MAPPED_RAM_ALIGNMENT) * MAPPED_RAM_ALIGNMENT;
      out.literal(concatBytes(be32(1), be64(ps), be64(bitmapOffset), be64(pagesOffset)));
      const bitmap = new Uint8Array(bitmapLength);
      const holds: boolean[] = [];
      for (let p = 0; p < count; p++) {
        const r = model.pages.latestRun(index, p);
        const run = r >= 0 ? model.pages.run(r) : undefined;
        const has = !!run && !(run.kind === PageKind.ZERO && run.fill === 0);
        holds.push(has);
        if (has) bitmap[p >> 3] |= 1 << (p & 7);
      }
      out.literal(bitmap);
      out.zeros(pagesOffset - (bitmapOffset + bitmapLength));
      for (let p = 0; p < count; p++) {
        if (holds[p]) {
          out.finalData(index, p);
          present++;
        } else out.zeros(ps);
      }
      out.zeros(block.usedLength - count * ps);
    }
    out.copy(cursor, payloadRange(start).end - cursor);
  });
  replacements[replacements.length - 1].summary = `inline → mapped-ram: ${start.ramBlocks!.length} blocks got MappedRamHeaders, bitmaps and page regions at 1 MiB-aligned offsets (${present} pages with data)`;
  for (const e of ram) {
    if (e === start || !e.pages || e.pages.page + e.pages.zero + e.pages.xbzrle + e.pages.compress === 0) continue;
    replace(out, replacements, e, '', () => out.literal(be64(RamFlag.EOS)));
    replacements[replacements.length - 1].summary = `${e.type} ram at ${e.offset}: its page records moved into the mapped-ram regions; only its end-of-section record is left`;
  }
}
