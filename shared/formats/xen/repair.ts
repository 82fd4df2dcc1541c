import { hex, type Diagnostic } from '../../diagnostics';
import { bytesPiece } from '../../edit/pieces';
import { repairAction, type RepairAction } from '../../repair/action';
import { LIBXC_IDENT, LibxcRecord, LibxlRecord, PFN_RESERVED_MASK, PFN_TYPE_SHIFT, PFINFO_XTAB, RECORD_HEADER_BYTES, XL_MANDATORY_FLAG_STREAMV2, XEN_PAGE_SIZE } from './constants';
import type { XenEditContext } from './edits';
import type { XenRecord } from './model';
import { upgradeEdits } from './upgrade-v3';
import { paddingOf, XenBytes, XenWriter } from './wire';
import { StreamOut } from './stream-out';

/**
 * The next repair of a Xen stream, planned against the edited file as it stands (each repair
 * moves offsets the next one works with), or undefined when nothing more can be repaired.
 * Each answers diagnostics of the validator and keeps every byte that can be kept: a magic
 * or reserved field written back, padding cleared, a PAGE_DATA whose pages are missing
 * re-framed by marking the pfns without data XTAB (not sent), a v2 image holding v3 records
 * made version 3, a missing STATIC_DATA_END inserted where the spec places it, a cut stream
 * ended after its last complete record with the END records it lacks.
 */
export function nextXenRepair(ctx: XenEditContext): RepairAction | undefined {
  const diags = ctx.model.diagnostics.filter((d) => d.severity === 'error' || d.code === 'xen-xl-flags');
  for (const d of diags) {
    const action = repairFor(ctx, d);
    if (action) return action;
  }
  return undefined;
}

function repairFor(ctx: XenEditContext, d: Diagnostic): RepairAction | undefined {
  const m = ctx.model;
  const rec = recordAt(ctx, d.offset);
  switch (d.code) {
    case 'xen-bad-magic':
      return magicRepair(ctx, d);
    case 'xen-padding': {
      if (!rec) return undefined;
      const at = rec.offset + RECORD_HEADER_BYTES + rec.bodyLength;
      return repairAction('clear-padding', `cleared the ${paddingOf(rec.bodyLength)} padding bytes after record ${rec.index} at ${hex(at)}`, [d], [{ offset: at, deleteLength: paddingOf(rec.bodyLength), insert: [bytesPiece(new Uint8Array(paddingOf(rec.bodyLength)))] }]);
    }
    case 'xen-pfn-reserved': {
      if (!rec) return undefined;
      return pfnRepair(ctx, rec, d, (e) => e & ~PFN_RESERVED_MASK, 'cleared reserved bits 52-59 of', 'clear-pfn-reserved-bits');
    }
    case 'xen-page-data-length':
      return rec ? missingPagesRepair(ctx, rec, d) : undefined;
    case 'xen-reserved': {
      if (!d.length || d.length > 8) return undefined;
      return repairAction('clear-reserved', `cleared a reserved field of ${d.length} bytes at ${hex(d.offset)}`, [d], [{ offset: d.offset, deleteLength: d.length, insert: [bytesPiece(new Uint8Array(d.length))] }]);
    }
    case 'xen-v3-record-in-v2': {
      const up = upgradeEdits(m);
      if ('refused' in up) return undefined;
      const img = m.images.find((i) => i.version === 2)!;
      const changes = up.edits.map((e) => ({ offset: e.at, deleteLength: e.remove, insert: [bytesPiece(e.insert)] }));
      return repairAction('image-version-3', `libxc image at ${hex(img.offset)}: version 2 → 3, the version its v3 records need${up.edits.length > 1 ? ' (with STATIC_DATA_END where the spec places it)' : ''}`, [d], changes);
    }
    case 'xen-missing-static-data-end': {
      if (!rec) return undefined;
      return repairAction('insert-static-data-end', `inserted STATIC_DATA_END before record ${rec.index} at ${hex(rec.offset)}, where a v3 image needs it`, [d], [{ offset: rec.offset, deleteLength: 0, insert: [bytesPiece(new XenWriter().u32(LibxcRecord.STATIC_DATA_END).u32(0).finish())] }]);
    }
    case 'xen-missing-end':
    case 'xen-truncated':
      return endRepair(ctx, d);
    case 'xen-xl-flags': {
      const xl = m.xl;
      if (!xl || xl.streamV2 || !m.libxl) return undefined;
      return repairAction('xl-streamv2-flag', 'set mandatory flag STREAMv2 in the xl header: the body is a libxl v2 stream', [d], [{ offset: 36, deleteLength: 4, insert: [bytesPiece(new XenWriter(xl.littleEndian).u32(xl.mandatoryFlags | XL_MANDATORY_FLAG_STREAMV2).finish())] }]);
    }
    default:
      return undefined;
  }
}

function recordAt(ctx: XenEditContext, offset: number): XenRecord | undefined {
  return ctx.model.records.find((r) => offset >= r.offset && offset < r.offset + Math.max(r.length, RECORD_HEADER_BYTES));
}

function magicRepair(ctx: XenEditContext, d: Diagnostic): RepairAction | undefined {
  const m = ctx.model;
  const img = m.images.find((i) => d.offset >= i.offset && d.offset < i.offset + 24);
  if (img && d.offset === img.offset + 8) return repairAction('libxc-image-id', `wrote the libxc image id "XENF" at ${hex(d.offset)}`, [d], [{ offset: d.offset, deleteLength: 4, insert: [bytesPiece(new XenWriter(false).u32(LIBXC_IDENT).finish())] }]);
  if (img && d.offset === img.offset) return repairAction('libxc-marker', `wrote the libxc image marker (8 × 0xff) at ${hex(d.offset)}`, [d], [{ offset: d.offset, deleteLength: 8, insert: [bytesPiece(new Uint8Array(8).fill(0xff))] }]);
  if (m.libxl && d.offset === m.libxl.offset) return repairAction('libxl-ident', `wrote the libxl ident "LibxlFmt" at ${hex(d.offset)}`, [d], [{ offset: d.offset, deleteLength: 8, insert: [bytesPiece(Uint8Array.from('LibxlFmt', (c) => c.charCodeAt(0)))] }]);
  return undefined;
}

/** Rewrites the pfn entries of a PAGE_DATA record with `fix`. */
function pfnRepair(ctx: XenEditContext, rec: XenRecord, d: Diagnostic, fix: (e: bigint) => bigint, what: string, code: string): RepairAction | undefined {
  const le = ctx.model.images[rec.image ?? 0]?.littleEndian ?? true;
  const at = rec.offset + RECORD_HEADER_BYTES;
  const count = XenBytes.at(ctx.view, at, 4, le).u32(0);
  const list = XenBytes.at(ctx.view, at + 8, count * 8, le);
  if (list.length < count * 8) return undefined;
  const out = new XenWriter(le);
  const changed: number[] = [];
  for (let k = 0; k < count; k++) {
    const e = list.u64big(k * 8);
    const f = fix(e);
    if (f !== e) changed.push(k);
    out.u64(f);
  }
  if (!changed.length) return undefined;
  return repairAction(code, `${what} pfn ${changed.map((k) => `[${k}]`).join(', ')} of the PAGE_DATA record at ${hex(rec.offset)}`, [d], [{ offset: at + 8, deleteLength: count * 8, insert: [bytesPiece(out.finish())] }]);
}

/**
 * A PAGE_DATA record whose length holds fewer pages than its pfns announce: the record's
 * bytes are all there, its pfn list promises too much. Marking the last pfns with data XTAB
 * (not sent) until the list matches the pages keeps every page that is in the file.
 */
function missingPagesRepair(ctx: XenEditContext, rec: XenRecord, d: Diagnostic): RepairAction | undefined {
  const le = ctx.model.images[rec.image ?? 0]?.littleEndian ?? true;
  const at = rec.offset + RECORD_HEADER_BYTES;
  const count = XenBytes.at(ctx.view, at, 4, le).u32(0);
  const list = XenBytes.at(ctx.view, at + 8, count * 8, le);
  if (list.length < count * 8) return undefined;
  const present = rec.bodyLength - 8 - count * 8;
  if (present < 0 || present % XEN_PAGE_SIZE) return undefined;
  const withData: number[] = [];
  for (let k = 0; k < count; k++) if ((Number(list.u64big(k * 8) >> PFN_TYPE_SHIFT) & 7) <= 4) withData.push(k);
  let missing = withData.length - present / XEN_PAGE_SIZE;
  if (missing <= 0) return undefined;
  const drop = new Set(withData.slice(withData.length - missing));
  const action = pfnRepair(ctx, rec, d, (() => {
    let k = -1;
    return (e: bigint) => (drop.has(++k) ? (BigInt(PFINFO_XTAB) << PFN_TYPE_SHIFT) | (e & ((1n << 52n) - 1n)) : e);
  })(), `marked XTAB (no page in the record:`, 'mark-missing-pages-xtab');
  if (!action) return undefined;
  missing = drop.size;
  action.edit.summary = `PAGE_DATA record at ${hex(rec.offset)} lists ${missing} more page${missing === 1 ? '' : 's'} than it holds: marked pfn ${[...drop].map((k) => `[${k}]`).join(', ')} XTAB (not sent), keeping every page that is there`;
  return action;
}

/**
 * A stream that stops early: cut after its last complete record, then the END records it
 * lacks. A checkpointed stream keeps its last completed checkpoint (what a failover restores).
 */
function endRepair(ctx: XenEditContext, d: Diagnostic): RepairAction | undefined {
  const m = ctx.model;
  if (m.legacy) return undefined;
  const complete = m.records.filter((r) => !r.truncated && !r.resynced);
  let keep = complete[complete.length - 1];
  if (m.checkpoints > 0) {
    const lastCheckpointEnd = [...complete].reverse().find((r) => r.layer === 'libxl' && r.type === LibxlRecord.CHECKPOINT_END);
    if (lastCheckpointEnd) keep = lastCheckpointEnd;
  }
  const cut = keep ? keep.offset + keep.length : (m.images[0] ? m.images[0].offset + m.images[0].length : m.libxl ? m.libxl.offset + 16 : 0);
  if (!cut) return undefined;
  const kept = m.records.filter((r) => r.offset < cut);
  const libxcOpen = m.images.length > 0 && !kept.some((r) => r.layer === 'libxc' && r.type === LibxcRecord.END && r.image === m.images.length - 1);
  const lastLayer = kept.length ? kept[kept.length - 1].layer : m.libxl ? 'libxl' : 'libxc';
  const inLibxc = libxcOpen && (lastLayer === 'libxc' || kept[kept.length - 1]?.type === LibxlRecord.LIBXC_CONTEXT || kept[kept.length - 1]?.type === LibxlRecord.CHECKPOINT_END || !m.libxl);
  const out = new StreamOut();
  const ends: string[] = [];
  if (inLibxc) {
    out.record(LibxcRecord.END);
    ends.push('libxc END');
  }
  if (m.libxl && !kept.some((r) => r.layer === 'libxl' && r.type === LibxlRecord.END)) {
    out.record(LibxlRecord.END);
    ends.push('libxl END');
  }
  if (!ends.length && cut === ctx.view.size) return undefined;
  const dropped = ctx.view.size - cut;
  const what = `${dropped ? `cut the ${dropped} bytes after the last complete record at ${hex(cut)}` : `the stream ends at ${hex(cut)}`}${ends.length ? ` and appended ${ends.join(' and ')}` : ''}`;
  return repairAction('end-stream', what, [d], [{ offset: cut, deleteLength: dropped, insert: out.pieces }], {}, m.checkpoints > 0 ? ['the last completed checkpoint is kept, as a Remus/COLO failover restores it'] : []);
}
