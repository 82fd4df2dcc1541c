import type { ByteSource } from '../io/byte-source';
import { readBytes } from '../io/byte-source';
import { RamFlag } from './constants';
import { PageKind, type PageRun } from './page-index';

/**
 * Byte ranges of the page records of a run. The index stores where each record's *data*
 * is; the record itself starts earlier: an 8-byte header, then the block id unless the
 * record continues the previous block, then kind-specific length bytes.
 */
export interface RecordRange {
  /** Offset of the record's be64 header. */
  start: number;
  /** Offset just past the record's data. */
  end: number;
}

/** Bytes between a record's header+block id and its data, by kind. */
function dataPrefix(kind: PageKind): number {
  switch (kind) {
    case PageKind.XBZRLE:
      return 3; // u8 encoding + be16 length
    case PageKind.COMPRESS:
      return 4; // be32 length
    default:
      return 0;
  }
}

/**
 * Where the first record of a run starts. It may or may not carry the block id, so check
 * the bytes: a block id is u8 length + the idstr right before the data prefix.
 */
export function firstRecordStart(source: ByteSource, run: PageRun, blockId: string): number {
  if (run.kind === PageKind.MAPPED) return run.dataOffset; // mapped-ram pages have no record header
  const dataStart = run.dataOffset - dataPrefix(run.kind);
  const withId = dataStart - blockId.length - 1;
  if (withId - 8 >= 0) {
    const b = readBytes(source, withId - 8, 9 + blockId.length);
    const flags = b[7] | ((b[6] & 0x03) << 8);
    const idMatches = b[8] === blockId.length && blockId.split('').every((c, i) => b[9 + i] === c.charCodeAt(0));
    if (idMatches && !(flags & RamFlag.CONTINUE)) return withId - 8;
  }
  return dataStart - 8;
}

/** Byte range of record `k` (0-based) of a run whose first record starts at `first`. */
export function recordRange(run: PageRun, first: number, k: number): RecordRange {
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
