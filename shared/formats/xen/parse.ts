import { latin1Decode } from '../../util/text-bytes';
import { readBytes, type ByteSource } from '../../io/byte-source';
import { DomainType, LIBXL_IDENT, XL_BYTEORDER_MARKER, XL_HEADER_BYTES, XL_MAGIC, XL_MANDATORY_FLAG_JSON, XL_MANDATORY_FLAG_STREAMV2, XL_MANDATORY_KNOWN, LibxcRecord, XEN_PAGE_SIZE } from './constants';
import { VERIFY, XenDiagnostics } from './diagnostics';
import { longModeOf, splitHvmContext } from './hvm-context';
import { sniffLegacy } from './legacy-sniff';
import { openNestedQemu, qemuBlobs } from './nested-qemu';
import type { XenStreamKind, XenStreamModel, XlHeader } from './model';
import { XenPageIndex } from './page-index';
import { parseLegacy } from './parse-legacy';
import { isV2Body, parseV2, type V2State } from './parse-v2';
import { XenBytes } from './wire';

export interface ParseXenOptions {
  /** Called every few tens of megabytes with the current offset; may throw to cancel. */
  onProgress?: (done: number, total: number) => void;
  /** Also check what records carry: HVM context save records, the QEMU device state (default true). */
  deep?: boolean;
}

/** HVM context blobs larger than this are not split (no real context comes near). */
const MAX_HVM_CONTEXT = 64 << 20;

/**
 * What the records carry, beyond their framing: every HVM context's save records (Xen's
 * hvm_load checks), and every QEMU device state as the QEMU engine reads it.
 */
function checkContents(model: XenStreamModel, source: ByteSource, diags: XenDiagnostics): void {
  const contexts: { offset: number; length: number }[] = [];
  for (const r of model.records) if (r.layer === 'libxc' && r.type === LibxcRecord.HVM_CONTEXT && !r.truncated && !r.resynced) contexts.push({ offset: r.offset + 8, length: r.bodyLength });
  for (const cp of model.legacy?.checkpoints ?? []) if (cp.tail?.hvmContext) contexts.push(cp.tail.hvmContext);
  for (const c of contexts) {
    if (c.length === 0 || c.length > MAX_HVM_CONTEXT) continue;
    for (const f of splitHvmContext(readBytes(source, c.offset, c.length), c.offset).findings) diags.add(f.offset, { ...f, at: 0 }, 'HVM context');
  }
  for (const blob of qemuBlobs(model)) {
    const nested = openNestedQemu(source, blob.offset, blob.length);
    diags.addShifted(nested.model.diagnostics, blob.offset, 'QEMU device state');
  }
}

/** What kind of Xen stream the bytes at the start of a file are, if any. */
export function sniffXen(source: ByteSource): XenStreamKind | undefined {
  const head = readBytes(source, 0, XL_MAGIC.length);
  if (head.length === XL_MAGIC.length && String.fromCharCode(...head) === XL_MAGIC) return 'xl';
  const v2 = isV2Body(head);
  if (v2) return v2;
  return sniffLegacy(source, 0) ? 'legacy' : undefined;
}

/**
 * Parses a Xen save or migration stream of any layer (xl file, libxl stream, libxc image, or
 * a pre-4.6 legacy stream) into an index of offsets. Never throws on bad input: every
 * problem is a diagnostic with its offset, and what can be read is read.
 */
export function parseXen(source: ByteSource, options: ParseXenOptions = {}): XenStreamModel {
  const diags = new XenDiagnostics();
  const pages = new XenPageIndex();
  const kind = sniffXen(source) ?? 'legacy';
  const model: XenStreamModel = {
    format: 'xen',
    kind,
    size: source.size,
    littleEndian: true,
    images: [],
    records: [],
    checkpoints: 0,
    domain: { type: 'unknown', pfnLimit: 0, vcpus: [] },
    pages,
    emulators: [],
    diagnostics: [],
  };
  let bodyAt = 0;
  let body: 'libxl' | 'libxc' | 'legacy' = kind === 'xl' ? 'legacy' : kind;
  if (kind === 'xl') {
    const xl = parseXlHeader(source, diags);
    model.xl = xl;
    bodyAt = xl.bodyOffset;
    const found = isV2Body(readBytes(source, bodyAt, 16));
    body = found ?? 'legacy';
    if (xl.streamV2 && found !== 'libxl') {
      diags.add(bodyAt, { severity: 'error', code: 'xen-xl-body', expected: `a libxl stream ("${LIBXL_IDENT}"), as mandatory flag STREAMv2 says`, found: found ? 'a bare libxc image' : 'no libxl header', message: 'The xl header announces a v2 stream that is not there', hint: 'xl restore reads the body as a libxl stream and fails.' });
    } else if (!xl.streamV2 && found) {
      diags.add(xl.offset + 36, { severity: 'warning', code: 'xen-xl-flags', length: 4, expected: 'mandatory flag STREAMv2 for a v2 body', found: 'flag clear', message: 'The xl header does not announce the v2 stream that follows', hint: 'xl restore would hand the body to the legacy converter. A repair sets the flag.' });
    }
  }
  if (body === 'legacy') {
    const shape = sniffLegacy(source, bodyAt);
    if (!shape) {
      diags.add(bodyAt, { severity: 'error', code: 'xen-unrecognised', expected: 'a Xen save stream (xl header, "LibxlFmt", a libxc image header, or a legacy stream)', found: 'none of these', message: 'Not a Xen stream the workbench can read' });
    } else {
      model.kind = kind === 'xl' ? 'xl' : 'legacy';
      model.legacy = parseLegacy(source, bodyAt, shape, diags, pages);
    }
  } else {
    const state: V2State = { source, diags, records: model.records, images: model.images, pages, emulators: model.emulators, checkpoints: 0, lastCompleteCheckpointRun: 0, onProgress: options.onProgress };
    const end = parseV2(state, bodyAt, body);
    model.libxl = state.libxl;
    model.checkpoints = state.checkpoints;
    model.littleEndian = state.libxl?.littleEndian ?? model.images[0]?.littleEndian ?? true;
    if (state.end !== undefined && end < source.size) {
      model.trailing = { offset: end, length: source.size - end };
      diags.add(end, { severity: 'warning', code: 'xen-trailing-data', length: source.size - end, expected: 'the end of the file after the END record', found: `${source.size - end} more bytes`, message: 'Data after the end of the stream', hint: 'Xen never reads it (and verify-stream-v2 never looks). convert-legacy-stream -f libxc puts the raw qemu record there.' });
    }
    // A checkpointed stream cut after a CHECKPOINT: Xen restores the last completed checkpoint.
    if (state.checkpoints > 0 && state.end === undefined) pages.excludeFrom(state.lastCompleteCheckpointRun);
  }
  if (options.deep !== false) checkContents(model, source, diags);
  model.domain = summarise(model, source);
  options.onProgress?.(source.size, source.size);
  model.diagnostics = diags.finish(source.size);
  return model;
}

/** The xl save header: magic, byte-order marker, flags, optional data (the domain config). */
export function parseXlHeader(source: ByteSource, diags: XenDiagnostics): XlHeader {
  const h = XenBytes.at(source, 0, XL_HEADER_BYTES, true);
  const xl: XlHeader = { offset: 0, length: Math.min(XL_HEADER_BYTES, h.length), littleEndian: true, mandatoryFlags: 0, optionalFlags: 0, optionalDataLength: 0, bodyOffset: h.length, streamV2: false };
  if (h.length < XL_HEADER_BYTES) {
    diags.add(0, { severity: 'error', code: 'xen-truncated', expected: `a ${XL_HEADER_BYTES}-byte xl header`, found: `${h.length} bytes`, message: 'The file ends inside the xl header', verifier: VERIFY.truncated() });
    return xl;
  }
  const marker = h.u32(32);
  if (marker !== XL_BYTEORDER_MARKER) {
    const swapped = new XenBytes(h.data, false).u32(32) === XL_BYTEORDER_MARKER;
    xl.littleEndian = !swapped;
    diags.add(32, swapped
      ? { severity: 'error', code: 'xen-big-endian', length: 4, expected: 'byte order 0x01020304 in little-endian', found: 'big-endian', message: 'xl header from a big-endian host', hint: 'xl refuses a header whose byte order differs from its own.' }
      : { severity: 'error', code: 'xen-xl-byteorder', length: 4, expected: 'byte-order marker 0x01020304', found: `0x${marker.toString(16)}`, message: 'Damaged xl byte-order marker', hint: 'xl refuses the file ("file has wrong byte order"); a repair restores the marker.' });
  }
  const r = new XenBytes(h.data, xl.littleEndian);
  xl.mandatoryFlags = r.u32(36);
  xl.optionalFlags = r.u32(40);
  xl.optionalDataLength = r.u32(44);
  xl.streamV2 = (xl.mandatoryFlags & XL_MANDATORY_FLAG_STREAMV2) !== 0;
  xl.bodyOffset = XL_HEADER_BYTES + xl.optionalDataLength;
  xl.length = xl.bodyOffset;
  if (xl.mandatoryFlags & ~XL_MANDATORY_KNOWN) {
    diags.add(36, { severity: 'error', code: 'xen-xl-flags', length: 4, expected: 'mandatory flags JSON (1) and STREAMv2 (2) only', found: `0x${xl.mandatoryFlags.toString(16)}`, message: 'Unknown mandatory xl flags', hint: 'xl refuses files with mandatory flags it does not know.' });
  }
  if (xl.optionalFlags) {
    diags.add(40, { severity: 'warning', code: 'xen-xl-flags', length: 4, expected: 'no optional flags (xl 4.17 defines none)', found: `0x${xl.optionalFlags.toString(16)}`, message: 'Unknown optional xl flags' });
  }
  if (XL_HEADER_BYTES + xl.optionalDataLength > source.size) {
    diags.add(44, { severity: 'error', code: 'xen-truncated', length: 4, expected: `${xl.optionalDataLength} bytes of optional data`, found: `${source.size - XL_HEADER_BYTES} bytes in the file`, message: 'The xl optional data runs past the end of the file', verifier: VERIFY.truncated() });
    xl.bodyOffset = source.size;
    return xl;
  }
  if (xl.optionalDataLength >= 4) {
    const configLength = XenBytes.at(source, XL_HEADER_BYTES, 4, xl.littleEndian).u32(0);
    const json = (xl.mandatoryFlags & XL_MANDATORY_FLAG_JSON) !== 0;
    if (configLength > xl.optionalDataLength - 4) {
      diags.add(XL_HEADER_BYTES, { severity: 'error', code: 'xen-xl-config', length: 4, expected: `a config of at most ${xl.optionalDataLength - 4} bytes`, found: `${configLength}`, message: 'The domain config length runs past the optional data' });
    } else {
      const bytes = readBytes(source, XL_HEADER_BYTES + 4, configLength);
      const text = latin1Decode(bytes).replace(/\0+$/, '');
      xl.config = { offset: XL_HEADER_BYTES + 4, length: configLength, text, json };
      if (json) {
        try {
          JSON.parse(text);
        } catch (e) {
          diags.add(XL_HEADER_BYTES + 4, { severity: 'warning', code: 'xen-xl-config', length: configLength, expected: 'the domain configuration as JSON (mandatory flag JSON is set)', found: (e as Error).message, message: 'The domain configuration is not valid JSON', hint: 'xl restore parses it and would fail.' });
        }
      }
    }
  }
  return xl;
}

/** The last HVM context of the stream (the state a restore ends with). */
function lastHvmContext(model: XenStreamModel): { offset: number; length: number } | undefined {
  const rec = [...model.records].reverse().find((r) => r.layer === 'libxc' && r.type === LibxcRecord.HVM_CONTEXT && !r.truncated && !r.resynced);
  if (rec) return { offset: rec.offset + 8, length: rec.bodyLength };
  return [...(model.legacy?.checkpoints ?? [])].reverse().find((cp) => cp.tail?.hvmContext)?.tail?.hvmContext;
}

/** HVM: the vCPUs with a CPU save record, and whether vCPU 0 was in long mode. */
function hvmSummary(model: XenStreamModel, source: ByteSource): { vcpus: number[]; longMode?: boolean } {
  const c = lastHvmContext(model);
  if (!c || c.length > MAX_HVM_CONTEXT) return { vcpus: [] };
  const blob = readBytes(source, c.offset, c.length);
  const ctx = splitHvmContext(blob, c.offset);
  return { vcpus: ctx.vcpus, longMode: longModeOf(blob, c.offset, ctx) };
}

function summarise(model: XenStreamModel, source: ByteSource): XenStreamModel['domain'] {
  const pfnLimit = model.pages.pfnLimit;
  const hvm = hvmSummary(model, source);
  const legacy = model.legacy;
  if (legacy) {
    const info = legacy.extendedInfo;
    return {
      type: legacy.guest,
      guestWidth: info?.guestWidth,
      ptLevels: info?.ptLevels,
      xenVersion: 'before 4.6 (legacy format)',
      pfnLimit,
      vcpus: legacy.guest === 'hvm' && hvm.vcpus.length ? hvm.vcpus : legacy.vcpus,
      longMode: hvm.longMode,
    };
  }
  const img = model.images[0];
  const type = img?.domainType === DomainType.X86_PV ? 'pv' : img?.domainType === DomainType.X86_HVM ? 'hvm' : 'unknown';
  const info = model.records.find((r) => r.layer === 'libxc' && r.type === LibxcRecord.X86_PV_INFO && r.bodyLength === 8);
  let guestWidth: 4 | 8 | undefined;
  let ptLevels: number | undefined;
  if (info) {
    const b = readBytes(source, info.offset + 8, 2);
    if (b[0] === 4 || b[0] === 8) guestWidth = b[0] as 4 | 8;
    ptLevels = b[1];
  }
  const vcpus = new Set<number>();
  for (const r of model.records) {
    if (r.layer === 'libxc' && r.type === LibxcRecord.X86_PV_VCPU_BASIC && r.bodyLength >= 8) vcpus.add(XenBytes.at(source, r.offset + 8, 4, model.littleEndian).u32(0));
  }
  return {
    type,
    guestWidth,
    ptLevels,
    xenVersion: img ? (img.xenMajor === 0 ? `converted from a legacy stream (convert-legacy-stream v${img.xenMinor})` : `${img.xenMajor}.${img.xenMinor}`) : undefined,
    pfnLimit,
    vcpus: type === 'hvm' ? hvm.vcpus : [...vcpus].sort((a, b) => a - b),
    longMode: type === 'hvm' ? hvm.longMode : undefined,
  };
}

/** Bytes of guest memory the stream carries pages for. */
export function pageBytes(model: XenStreamModel): number {
  return model.pages.pagesWithData * XEN_PAGE_SIZE;
}
