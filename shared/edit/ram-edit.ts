import { hex } from '../diagnostics';
import { readBytes } from '../io/byte-source';
import { RamFlag, RAM_IDSTR } from '../formats/qemu-stream/constants';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { PageKind, PAGE_KIND_NAMES } from '../formats/qemu-stream/page-index';
import { readGuestPage } from '../formats/qemu-stream/ram-reader';
import { readBe64 } from '../io/bytes';
import type { EditContext } from './context';
import { EditError } from './errors';
import type { ByteChange, CompiledEdit } from './journal';
import { bytesPiece } from './pieces';
import { locateRecordForEdit, pageRecord } from './ram-records';

export interface RamTarget {
  block: number;
  offset: number;
  /** The guest-physical address the user gave, and how it was mapped. */
  gpa?: number;
  rule?: string;
}

/**
 * Writes `data` into guest RAM by changing, for every page it touches, the record that
 * gives the page its final content (the last one in stream order):
 * - a PAGE record (or mapped-ram page) is changed in place;
 * - a ZERO, XBZRLE or compressed record becomes a full PAGE record holding the page's
 *   final content with the edit, framed like the record it replaces (same block id or
 *   CONTINUE), so the records after it still continue the right block;
 * - a page the stream never sent gets a new PAGE record before the end of the last RAM
 *   section.
 */
export function compileRamWrite(ctx: EditContext, target: RamTarget, data: Uint8Array): CompiledEdit {
  const { model, view } = ctx;
  const block = model.ramBlocks[target.block];
  const end = target.offset + data.length;
  if (data.length === 0) throw new EditError('a RAM edit needs at least one byte');
  if (end > block.usedLength) throw new EditError(`the edit ends at ${hex(end)}, past the end of RAM block ${block.id} (${hex(block.usedLength)} bytes)`);
  const ps = model.pageSize;
  const changes: ByteChange[] = [];
  const added: Uint8Array[] = [];
  const was = new Map<string, number>();
  for (let at = target.offset; at < end; ) {
    const page = Math.floor(at / ps);
    const inPage = at - page * ps;
    const chunk = data.subarray(at - target.offset, Math.min(end, (page + 1) * ps) - target.offset);
    at += chunk.length;
    const runIndex = model.pages.latestRun(target.block, page);
    const kind = runIndex < 0 ? 'never-sent' : PAGE_KIND_NAMES[model.pages.run(runIndex).kind];
    was.set(kind, (was.get(kind) ?? 0) + 1);
    if (runIndex < 0) {
      if (block.mappedRam) throw new EditError(`page ${hex(page * ps)} of ${block.id} is not stored in this mapped-ram image; adding pages to mapped-ram is not supported`);
      const content = new Uint8Array(ps);
      content.set(chunk, inPage);
      added.push(pageRecord(model, target.block, page, content, added.length === 0));
      continue;
    }
    const run = model.pages.run(runIndex);
    if (run.kind === PageKind.PAGE || run.kind === PageKind.MAPPED) {
      changes.push({ offset: model.pages.dataOffsetIn(runIndex, page) + inPage, deleteLength: chunk.length, insert: [bytesPiece(chunk.slice())] });
      continue;
    }
    const record = locateRecordForEdit(view, model, runIndex, page);
    const current = readGuestPage(view, model, target.block, page);
    if (current.provenance.problem) throw new EditError(`page ${hex(page * ps)} of ${block.id} cannot be reconstructed (${current.provenance.problem}), so it cannot be edited`);
    const content = current.bytes.slice();
    content.set(chunk, inPage);
    changes.push({ offset: record.offset, deleteLength: record.end - record.offset, insert: [bytesPiece(pageRecord(model, target.block, page, content, record.hasBlockId))] });
  }
  const fixups = [...was]
    .filter(([k]) => k !== 'page' && k !== 'mapped' && k !== 'never-sent')
    .map(([k, n]) => `${n} ${k} record${n > 1 ? 's' : ''} became ${n > 1 ? 'full page records' : 'a full page record'}, framed as before (block id or CONTINUE), so the records after ${n > 1 ? 'them' : 'it'} are unaffected`);
  if (added.length) fixups.push(...appendRecords(ctx, added, changes));
  const where = `${block.id}+${hex(target.offset)}${target.gpa !== undefined ? ` (GPA ${hex(target.gpa)})` : ''}`;
  const pageCount = [...was.values()].reduce((a, b) => a + b, 0);
  const heldBy = [...was].map(([k, n]) => (k === 'never-sent' ? `${n} never sent` : `${n} ${k} record${n > 1 ? 's' : ''}`)).join(', ');
  return {
    intent: {
      op: 'ram-write',
      block: block.id,
      offset: target.offset,
      ...(target.gpa !== undefined ? { gpa: target.gpa, mapping: target.rule ?? '' } : {}),
      length: data.length,
      pages: Object.fromEntries(was),
    },
    summary: `wrote ${data.length} bytes of guest RAM at ${where}: ${pageCount} page${pageCount > 1 ? 's' : ''} (${heldBy})`,
    changes,
    fixups,
  };
}

/**
 * Adds new page records before the EOS of the last RAM section; returns the fixups made.
 * The first names its block and the rest continue it. Nothing after the last RAM section
 * is a page record, so no later record's CONTINUE can be broken by the insertion.
 */
function appendRecords(ctx: EditContext, records: Uint8Array[], changes: ByteChange[]): string[] {
  const { model, view } = ctx;
  const host = lastRamSection(model);
  const eos = (host.footerOffset ?? host.offset + host.length) - 8;
  const eosBytes = readBytes(view, eos, 8);
  if (host.damaged || eosBytes.length !== 8 || readBe64(eosBytes, 0) !== RamFlag.EOS) {
    throw new EditError(`the last RAM section (${host.type} at ${hex(host.offset)}) does not end with an intact end-of-section record; repair the image first`);
  }
  changes.push({ offset: eos, deleteLength: 0, insert: records.map(bytesPiece) });
  return [`${records.length} page${records.length > 1 ? 's' : ''} the source never sent got new page records before the end of ${host.type} ram at ${hex(eos)}`];
}

export function lastRamSection(model: QemuStreamModel): StreamElement {
  const ram = model.elements.filter((e) => e.idstr === RAM_IDSTR && (e.type === 'START' || e.type === 'PART' || e.type === 'END'));
  if (ram.length === 0) throw new EditError('the stream has no RAM section');
  return ram[ram.length - 1];
}
