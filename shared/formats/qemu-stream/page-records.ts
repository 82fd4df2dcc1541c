import type { ByteSource } from '../../io/byte-source';
import { readBytes } from '../../io/byte-source';
import { readBe64 } from '../../io/bytes';
import { RamFlag } from './constants';
import type { QemuStreamModel } from './model';
import { PageKind, type PageRun } from './page-index';

/**
 * Where RAM page records are. The page index keeps only each record's *data* offset; the
 * record starts earlier: an 8-byte header, the block id unless the record continues the
 * previous block, then kind-specific length bytes.
 */

/** The exact bytes of one RAM page record: header, optional block id, body. */
export interface RamRecord {
  offset: number;
  end: number;
  kind: PageKind;
  block: number;
  page: number;
  /** The record names its block (no CONTINUE flag). */
  hasBlockId: boolean;
  /** First byte after the header and block id (fill byte, page data, XBZRLE or zlib header). */
  bodyOffset: number;
}

const KIND_FLAG: Partial<Record<PageKind, number>> = {
  [PageKind.ZERO]: RamFlag.ZERO,
  [PageKind.PAGE]: RamFlag.PAGE,
  [PageKind.XBZRLE]: RamFlag.XBZRLE,
  [PageKind.COMPRESS]: RamFlag.COMPRESS_PAGE,
};
/** Bytes between the body's start and the data the page index points at. */
const BODY_TO_DATA: Partial<Record<PageKind, number>> = { [PageKind.ZERO]: 0, [PageKind.PAGE]: 0, [PageKind.XBZRLE]: 3, [PageKind.COMPRESS]: 4 };

/**
 * The record that holds `page` in run `runIndex`. Both header shapes (with or without the
 * block id) are checked against the flags, the page offset and the block name, so the
 * answer is exact; undefined when neither fits (damage) or for mapped-ram pages, which
 * are data at fixed offsets, not records.
 */
export function locateRecord(source: ByteSource, model: QemuStreamModel, runIndex: number, page: number): RamRecord | undefined {
  const run = model.pages.run(runIndex);
  const flag = KIND_FLAG[run.kind];
  if (flag === undefined) return undefined;
  const dataOffset = model.pages.dataOffsetIn(runIndex, page);
  const bodyOffset = dataOffset - BODY_TO_DATA[run.kind]!;
  const end = dataOffset + run.dataLength;
  const id = model.ramBlocks[run.block].id;
  const addr = page * model.pageSize;
  const base = { end, kind: run.kind, block: run.block, page, bodyOffset };
  const plain = bodyOffset - 8;
  if (plain >= 0 && headerAt(source, plain) === addr + (flag | RamFlag.CONTINUE)) return { ...base, offset: plain, hasBlockId: false };
  const named = bodyOffset - 9 - id.length;
  if (named >= 0 && headerAt(source, named) === addr + flag) {
    const idBytes = readBytes(source, named + 8, 1 + id.length);
    if (idBytes[0] === id.length && idBytes.subarray(1).every((b, i) => b === id.charCodeAt(i))) return { ...base, offset: named, hasBlockId: true };
  }
  return undefined;
}

function headerAt(source: ByteSource, offset: number): number {
  const b = readBytes(source, offset, 8);
  return b.length === 8 ? readBe64(b, 0) : -1;
}

/**
 * Where the first record of a run starts: located exactly, or (damaged header) right
 * before its body; a mapped-ram page starts at its data.
 */
export function firstRecordStart(source: ByteSource, model: QemuStreamModel, runIndex: number): number {
  const run = model.pages.run(runIndex);
  if (run.kind === PageKind.MAPPED) return run.dataOffset;
  return locateRecord(source, model, runIndex, run.firstPage)?.offset ?? run.dataOffset - (BODY_TO_DATA[run.kind] ?? 0) - 8;
}

/** Byte range of record `k` (0-based) of a run whose first record starts at `first`. */
export function recordRange(run: PageRun, first: number, k: number): { start: number; end: number } {
  const data = run.dataOffset + k * run.stride;
  const start = k === 0 ? first : data - (run.stride - run.dataLength);
  return { start, end: data + run.dataLength };
}

/** Index of the record of a run that contains `offset`, or -1. */
export function recordAt(run: PageRun, first: number, offset: number): number {
  if (run.kind === PageKind.MAPPED) {
    const k = Math.floor((offset - run.dataOffset) / run.stride);
    return k >= 0 && k < run.count ? k : -1;
  }
  const firstEnd = run.dataOffset + run.dataLength;
  if (offset < first) return -1;
  if (offset < firstEnd) return 0;
  if (run.count === 1) return -1;
  const k = Math.floor((offset - firstEnd) / run.stride) + 1;
  return k < run.count ? k : -1;
}
