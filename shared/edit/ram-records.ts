import { hex } from '../diagnostics';
import type { ByteSource } from '../io/byte-source';
import { readBytes } from '../io/byte-source';
import { RamFlag } from '../qemu/constants';
import type { QemuStreamModel } from '../qemu/model';
import { PageKind } from '../qemu/page-index';
import { ascii, be64, concatBytes, readBe64 } from './binary';
import { EditError } from './errors';

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
 * Finds the record that holds `page` in run `runIndex` of the model's page index. The
 * index keeps only data offsets; the header in front is one of two shapes (with or
 * without the block id), and both shapes are checked against the flags, the page offset
 * and the block name, so the answer is exact or an error, never a guess.
 */
export function locateRecord(source: ByteSource, model: QemuStreamModel, runIndex: number, page: number): RamRecord {
  const run = model.pages.run(runIndex);
  const flag = KIND_FLAG[run.kind];
  if (flag === undefined) throw new EditError(`page ${page} of ${model.ramBlocks[run.block].id} is mapped-ram data at a fixed offset, not a record`);
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
  throw new EditError(`cannot find the record header of page ${page} of ${id} before ${hex(dataOffset)}; the RAM section is damaged there (run "migwb validate")`);
}

function headerAt(source: ByteSource, offset: number): number {
  const b = readBytes(source, offset, 8);
  return b.length === 8 ? readBe64(b, 0) : -1;
}

/** A record header: be64 (page offset | flags), then u8 length + block id unless CONTINUE. */
export function recordHeader(addr: number, flags: number, blockId?: string): Uint8Array {
  const head = be64(addr + (blockId === undefined ? flags | RamFlag.CONTINUE : flags));
  return blockId === undefined ? head : concatBytes(head, Uint8Array.of(blockId.length), ascii(blockId));
}

/** A full PAGE record for `page` with `data`, naming its block or continuing the previous record's. */
export function pageRecord(model: QemuStreamModel, block: number, page: number, data: Uint8Array, nameBlock: boolean): Uint8Array {
  return concatBytes(recordHeader(page * model.pageSize, RamFlag.PAGE, nameBlock ? model.ramBlocks[block].id : undefined), data);
}

/** The record header rewritten to name its block: the fix when the record before it changed. */
export function namedHeader(source: ByteSource, model: QemuStreamModel, r: RamRecord): Uint8Array {
  const flags = readBe64(readBytes(source, r.offset, 8), 0) % model.pageSize;
  return recordHeader(r.page * model.pageSize, flags & ~RamFlag.CONTINUE, model.ramBlocks[r.block].id);
}
