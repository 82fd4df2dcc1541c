import { hex } from '../../diagnostics';
import { EditError } from '../../edit/errors';
import { encodeFieldValue, formatFieldValue } from '../../edit/field-value';
import { compileSetField } from '../../edit/field-edit';
import type { EditRequest } from '../../edit/intents';
import type { ByteChange, CompiledEdit } from '../../edit/journal';
import { bytesPiece, IMAGE_SOURCE, PieceTable, rangePiece, type JournalSource } from '../../edit/pieces';
import { parseHex } from '../../edit/user-input';
import { SliceSource, type ByteSource } from '../../io/byte-source';
import { intValue } from '../qemu-stream/vmstate-decode';
import { LibxcRecord, LibxlRecord, XEN_PAGE_SIZE } from './constants';
import { resolveXenField } from './field-address';
import { XenGuestMemory } from './guest-memory';
import type { XenStreamModel } from './model';
import { openNestedQemu } from './nested-qemu';
import { StreamOut } from './stream-out';
import { XenWriter } from './wire';

/** What a Xen edit is compiled against: the edited file as it stands and its model. */
export interface XenEditContext {
  view: JournalSource;
  model: XenStreamModel;
}

/**
 * Compiles an edit request against a Xen stream: raw bytes, a field by its Xen address
 * (a record field, or a QEMU device field inside EMULATOR_CONTEXT: "EMULATOR_CONTEXT.cpu.env.eip"),
 * or guest memory by address (guest-physical for HVM, pseudo-physical pfn × 4096 for PV).
 */
export function compileXenEdit(request: EditRequest, ctx: XenEditContext): CompiledEdit {
  switch (request.op) {
    case 'replace-bytes':
    case 'insert-bytes':
    case 'delete-bytes':
      return byteEdit(request, ctx.view.size);
    case 'set-field':
      return setField(ctx, request.field, request.value);
    case 'ram-write':
      return pageWrite(ctx, request.gpa, parseHex(request.hex, 'the memory bytes'));
    default:
      throw new EditError(`${request.op} edits QEMU device sections; a Xen stream takes byte edits, field edits (--set RECORD.FIELD) and guest memory edits (--ram ADDRESS=HEX)`);
  }
}

function byteEdit(request: Extract<EditRequest, { op: 'replace-bytes' | 'insert-bytes' | 'delete-bytes' }>, size: number): CompiledEdit {
  const { offset } = request;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) throw new EditError(`offset ${offset} is outside the file (0 to ${size})`);
  if (request.op === 'delete-bytes') {
    if (request.length <= 0 || offset + request.length > size) throw new EditError(`cannot delete ${request.length} bytes at ${hex(offset)}: the file has ${size} bytes`);
    return { intent: { op: 'delete-bytes', offset, length: request.length }, summary: `deleted ${request.length} bytes at ${hex(offset)}`, changes: [{ offset, deleteLength: request.length, insert: [] }], fixups: [] };
  }
  const bytes = parseHex(request.hex, 'the bytes');
  if (request.op === 'replace-bytes' && offset + bytes.length > size) throw new EditError(`${bytes.length} bytes at ${hex(offset)} run past the end of the file (${size} bytes)`);
  return {
    intent: { op: request.op, offset, hex: request.hex },
    summary: `${request.op === 'insert-bytes' ? 'inserted' : 'replaced'} ${bytes.length} bytes at ${hex(offset)}`,
    changes: [{ offset, deleteLength: request.op === 'replace-bytes' ? bytes.length : 0, insert: [bytesPiece(bytes)] }],
    fixups: [],
  };
}

function setField(ctx: XenEditContext, spec: string, text: string): CompiledEdit {
  const nested = nestedQemuField(ctx, spec, text);
  if (nested) return nested;
  const { node, target, path } = resolveXenField(ctx.model, ctx.view, spec);
  const where = `${target.names[0]} ${path}`;
  if (node.problem) throw new EditError(`${where} is cut short (${node.problem}); edit its bytes instead`);
  const bytes = encodeFieldValue(node, text, where);
  const le = node.value?.kind === 'int' && node.value.littleEndian;
  const oldValue = formatFieldValue(node.value);
  const newValue = formatFieldValue(node.value?.kind === 'int' ? intValue(bytes, node.value.signed, le) : node.value?.kind === 'text' ? node.value : { kind: 'bytes', hex: [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' '), truncated: false });
  return {
    intent: { op: 'set-field', field: spec, target: target.names[0], path, type: node.type, offset: node.offset, size: node.size, old: oldValue, new: newValue },
    summary: `${where} (${node.type} at ${hex(node.offset)}): ${oldValue} → ${newValue}`,
    changes: [{ offset: node.offset, deleteLength: node.size, insert: [bytesPiece(bytes)] }],
    fixups: [],
  };
}

/**
 * "EMULATOR_CONTEXT[:K].SECTION.FIELD": a QEMU device field inside the emulator blob,
 * compiled by the QEMU engine over the blob and moved to file offsets. Only same-size values:
 * a size change would need the record length and the blob's vmdesc rewritten together.
 */
function nestedQemuField(ctx: XenEditContext, spec: string, text: string): CompiledEdit | undefined {
  const m = /^EMULATOR_CONTEXT(?::(\d+))?\.(.+)$/.exec(spec);
  if (!m) return undefined;
  const blobs = ctx.model.emulators.filter((e) => e.qemu);
  const blob = blobs[Number(m[1] ?? 0)];
  if (!blob) throw new EditError(`the stream has ${blobs.length} QEMU device states; ${spec} names none`);
  if (/^(emulator_id|index)$/.test(m[2])) return undefined;
  const nested = openNestedQemu(ctx.view, blob.offset, blob.length);
  const view = new PieceTable(new Map<string, ByteSource>([[IMAGE_SOURCE, new SliceSource(ctx.view, blob.offset, blob.length)]]), [rangePiece(IMAGE_SOURCE, 0, blob.length)]).snapshot();
  const inner = compileSetField({ view, model: nested.model, donor: () => undefined }, m[2], text, false);
  const i = inner.intent as unknown as { section: string; path: string; type: string; offset: number; old: string; new: string };
  const offset = i.offset + blob.offset;
  return {
    ...inner,
    intent: { ...inner.intent, field: spec, offset, emulator: Number(m[1] ?? 0), blobOffset: blob.offset },
    summary: `EMULATOR_CONTEXT${m[1] ? `:${m[1]}` : ''} › ${i.section} ${i.path} (${i.type} at ${hex(offset)}): ${i.old} → ${i.new}`,
    changes: inner.changes.map((c): ByteChange => ({ ...c, offset: c.offset + blob.offset })),
  };
}

/**
 * Writes guest memory: each page's final copy changes in place; a page with no data in the
 * stream (never sent, XALLOC, XTAB, a rebuilt Remus delta) gets a new record carrying it,
 * placed before the image's END (v2) or before the body's end chunk (legacy).
 */
function pageWrite(ctx: XenEditContext, address: number, data: Uint8Array): CompiledEdit {
  if (!data.length) throw new EditError('no bytes to write');
  const memory = new XenGuestMemory(ctx.view, ctx.model);
  const changes: ByteChange[] = [];
  const added: { pfn: number; page: Uint8Array }[] = [];
  const fixups: string[] = [];
  for (let at = 0; at < data.length; ) {
    const a = address + at;
    const pfn = Math.floor(a / XEN_PAGE_SIZE);
    const within = a - pfn * XEN_PAGE_SIZE;
    const n = Math.min(XEN_PAGE_SIZE - within, data.length - at);
    const page = memory.page(pfn);
    if (page.source === 'file') changes.push({ offset: page.offset! + within, deleteLength: n, insert: [bytesPiece(data.subarray(at, at + n))] });
    else {
      const content = memory.read(pfn);
      content.set(data.subarray(at, at + n), within);
      added.push({ pfn, page: content });
      fixups.push(`pfn ${hex(pfn)} had no page data in the stream (${page.state}); a new page record carries it`);
    }
    at += n;
  }
  if (added.length) changes.push(newPagesChange(ctx, added));
  const space = ctx.model.domain.type === 'hvm' ? 'guest-physical' : 'pseudo-physical';
  return {
    intent: { op: 'ram-write', gpa: address, length: data.length, pfns: [...new Set(Array.from({ length: Math.ceil((address % XEN_PAGE_SIZE + data.length) / XEN_PAGE_SIZE) }, (_, k) => Math.floor(address / XEN_PAGE_SIZE) + k))] },
    summary: `${data.length} bytes of ${space} memory at ${hex(address)} (pfn ${hex(Math.floor(address / XEN_PAGE_SIZE))})`,
    changes: sortChanges(changes),
    fixups,
  };
}

function newPagesChange(ctx: XenEditContext, pages: { pfn: number; page: Uint8Array }[]): ByteChange {
  const m = ctx.model;
  if (m.legacy) {
    const cp = [...m.legacy.checkpoints].reverse().find((c) => c.tail);
    const end = cp?.chunks.find((c) => c.kind === 'end');
    if (!end) throw new EditError('the legacy stream has no complete body to add a page batch to');
    const w = new XenWriter(true).i32(pages.length);
    for (const p of pages) {
      if (m.legacy.width === 8) w.u64(p.pfn);
      else w.u32(p.pfn);
    }
    for (const p of pages) w.bytes(p.page);
    return { offset: end.offset, deleteLength: 0, insert: [bytesPiece(w.finish())] };
  }
  const image = m.images.length - 1;
  const end = [...m.records].reverse().find((r) => r.layer === 'libxc' && r.image === image && (r.type === LibxcRecord.END || r.type === LibxcRecord.CHECKPOINT));
  const at = end?.offset ?? [...m.records].reverse().find((r) => r.layer === 'libxl' && r.type === LibxlRecord.END)?.offset;
  if (at === undefined) throw new EditError('the stream has no END record to add a page record before; repair it first');
  const head = new XenWriter(true).u32(pages.length).u32(0);
  for (const p of pages) head.u64(p.pfn);
  const out = new StreamOut().record(LibxcRecord.PAGE_DATA, head.finish(), ...pages.map((p) => p.page));
  return { offset: at, deleteLength: 0, insert: out.pieces };
}

function sortChanges(changes: ByteChange[]): ByteChange[] {
  return changes.sort((a, b) => a.offset - b.offset);
}
