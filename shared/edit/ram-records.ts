import { hex } from '../diagnostics';
import type { ByteSource } from '../io/byte-source';
import { readBytes } from '../io/byte-source';
import { RamFlag } from '../formats/qemu-stream/constants';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { PageKind } from '../formats/qemu-stream/page-index';
import { locateRecord, type RamRecord } from '../formats/qemu-stream/page-records';
import { ascii, be64, concatBytes, readBe64 } from '../io/bytes';
import { EditError } from './errors';

/**
 * The record holding `page` in run `runIndex` (see qemu/page-records locateRecord), or an
 * edit error saying where the RAM section is damaged.
 */
export function locateRecordForEdit(source: ByteSource, model: QemuStreamModel, runIndex: number, page: number): RamRecord {
  const run = model.pages.run(runIndex);
  const id = model.ramBlocks[run.block].id;
  if (run.kind === PageKind.MAPPED) throw new EditError(`page ${page} of ${id} is mapped-ram data at a fixed offset, not a record`);
  const record = locateRecord(source, model, runIndex, page);
  if (!record) throw new EditError(`cannot find the record header of page ${page} of ${id} before ${hex(model.pages.dataOffsetIn(runIndex, page))}; the RAM section is damaged there (run "migwb validate")`);
  return record;
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
