import { readBytes, type ByteSource } from '../../io/byte-source';
import type { FieldNode } from '../qemu-stream/vmstate-decode';
import { CHECKPOINT_STATES, EMULATOR_IDS, HVM_PARAM_NAMES, LIBXC_RECORD_NAMES, LIBXL_RECORD_NAMES, LibxcRecord, LibxlRecord, PFINFO_NAMES, PFN_MASK, PFN_TYPE_SHIFT, RECORD_HEADER_BYTES, XEN_PAGE_SIZE } from './constants';
import { decodeHvmSaveRecord, HVM_DESCRIPTOR, splitHvmContext } from './hvm-context';
import { array, bytes, decodeLayout, struct, u64, type Layout } from './layout';
import {
  CHECKPOINT_STATE,
  CPUID_LEAF,
  EMULATOR_HEADER,
  HVM_PARAM,
  HVM_PARAMS_HEADER,
  MSR_ENTRY,
  PAGE_DATA_HEADER,
  PV_VCPU_EXTENDED,
  PV_VCPU_XSAVE,
  pvVcpuContext,
  RECORD_HEADER,
  sharedInfo,
  X86_PV_INFO,
  X86_PV_P2M_FRAMES_HEADER,
  X86_PV_VCPU_HEADER,
  X86_TSC_INFO,
} from './layouts';
import type { XenRecord, XenStreamModel } from './model';
import { splitNul } from './record-rules';
import { paddingOf, XenBytes } from './wire';

/** Bodies above this are shown as a byte range, never decoded into nodes (page data, emulator blobs). */
const MAX_DECODED_BODY = 1 << 20;

export function recordName(rec: Pick<XenRecord, 'layer' | 'type'>): string {
  const names = rec.layer === 'libxl' ? LIBXL_RECORD_NAMES : LIBXC_RECORD_NAMES;
  return names[rec.type] ?? `0x${rec.type.toString(16).padStart(8, '0')}${rec.type & 0x8000_0000 ? ' (optional)' : ''}`;
}

export function recordLittleEndian(model: XenStreamModel, rec: XenRecord): boolean {
  return rec.layer === 'libxl' ? model.libxl?.littleEndian ?? true : model.images[rec.image ?? 0]?.littleEndian ?? true;
}

/** The record header's fields (type, length). */
export function recordHeaderFields(source: ByteSource, model: XenStreamModel, rec: XenRecord): FieldNode[] {
  return decodeLayout(readBytes(source, rec.offset, RECORD_HEADER_BYTES), rec.offset, RECORD_HEADER, recordLittleEndian(model, rec)).nodes;
}

/** Where a record's padding is, if it has any in the file. */
export function recordPadding(rec: XenRecord): { offset: number; length: number } | undefined {
  const n = paddingOf(rec.bodyLength);
  const at = rec.offset + RECORD_HEADER_BYTES + rec.bodyLength;
  return n && !rec.truncated && !rec.resynced ? { offset: at, length: n } : undefined;
}

/**
 * A record body decoded into fields, for every record whose body is structure rather than
 * bulk data. PAGE_DATA gives its header and pfn list (the pages are the tree's to list);
 * EMULATOR_CONTEXT its header and the blob as one range (the QEMU engine opens it).
 */
export function decodeRecordBody(source: ByteSource, model: XenStreamModel, rec: XenRecord): FieldNode[] {
  const at = rec.offset + RECORD_HEADER_BYTES;
  const available = Math.max(0, Math.min(rec.bodyLength, source.size - at));
  const le = recordLittleEndian(model, rec);
  if (rec.resynced) return [];
  if (rec.layer === 'libxl') return decodeLibxl(source, rec, at, available, le);
  const width = model.domain.guestWidth ?? 8;
  const small = () => readBytes(source, at, Math.min(available, MAX_DECODED_BODY));
  const decode = (layout: Layout, data = small()) => withRest(decodeLayout(data, at, layout, le), data, at);
  switch (rec.type) {
    case LibxcRecord.PAGE_DATA: {
      const head = readBytes(source, at, Math.min(available, 8));
      const count = head.length === 8 ? new XenBytes(head, le).u32(0) : 0;
      const listed = Math.min(count, Math.floor((available - 8) / 8), 1 << 17);
      return decodeLayout(readBytes(source, at, 8 + listed * 8), at, [...PAGE_DATA_HEADER, array(u64('pfn'), listed)], le).nodes;
    }
    case LibxcRecord.X86_PV_INFO:
      return decode(X86_PV_INFO);
    case LibxcRecord.X86_PV_P2M_FRAMES:
      return decode([...X86_PV_P2M_FRAMES_HEADER, array(u64('p2m_pfn'), Math.max(0, Math.floor((available - 8) / 8)))]);
    case LibxcRecord.X86_PV_VCPU_BASIC:
      return decode([...X86_PV_VCPU_HEADER, struct('context', pvVcpuContext(width))]);
    case LibxcRecord.X86_PV_VCPU_EXTENDED:
      return decode([...X86_PV_VCPU_HEADER, struct('context', PV_VCPU_EXTENDED)]);
    case LibxcRecord.X86_PV_VCPU_XSAVE:
      return decode([...X86_PV_VCPU_HEADER, struct('context', PV_VCPU_XSAVE)]);
    case LibxcRecord.X86_PV_VCPU_MSRS:
      return decode([...X86_PV_VCPU_HEADER, struct('msr', MSR_ENTRY, Math.max(0, Math.floor((available - 8) / 16)))]);
    case LibxcRecord.SHARED_INFO:
      return decode(sharedInfo(width));
    case LibxcRecord.X86_TSC_INFO:
      return decode(X86_TSC_INFO);
    case LibxcRecord.HVM_PARAMS:
      return decode([...HVM_PARAMS_HEADER, struct('param', HVM_PARAM, Math.max(0, Math.floor((available - 8) / 16)))]);
    case LibxcRecord.HVM_CONTEXT:
      return decodeHvmContext(small(), at);
    case LibxcRecord.X86_CPUID_POLICY:
      return decode([struct('leaf', CPUID_LEAF, Math.floor(available / 24))]);
    case LibxcRecord.X86_MSR_POLICY:
      return decode([struct('msr', MSR_ENTRY, Math.floor(available / 16))]);
    case LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST:
      return decode([array(u64('pfn'), Math.floor(available / 8))]);
    default:
      return available ? decode([bytes('body', available)], readBytes(source, at, Math.min(available, MAX_DECODED_BODY))) : [];
  }
}

function decodeLibxl(source: ByteSource, rec: XenRecord, at: number, available: number, le: boolean): FieldNode[] {
  switch (rec.type) {
    case LibxlRecord.EMULATOR_XENSTORE_DATA: {
      const data = readBytes(source, at, Math.min(available, MAX_DECODED_BODY));
      const nodes = decodeLayout(data, at, EMULATOR_HEADER, le).nodes;
      if (data.length > 8) nodes.push(...xenstorePairs(data.subarray(8), at + 8));
      return nodes;
    }
    case LibxlRecord.EMULATOR_CONTEXT: {
      const head = readBytes(source, at, Math.min(available, 8));
      const nodes = decodeLayout(head, at, EMULATOR_HEADER, le).nodes;
      if (available > 8) nodes.push({ name: 'emulator_ctx', type: 'buffer', offset: at + 8, size: available - 8 });
      return nodes;
    }
    case LibxlRecord.CHECKPOINT_STATE: {
      const data = readBytes(source, at, Math.min(available, 64));
      return withRest(decodeLayout(data, at, CHECKPOINT_STATE, le), data, at);
    }
    default: {
      const data = readBytes(source, at, Math.min(available, MAX_DECODED_BODY));
      return data.length ? decodeLayout(data, at, [bytes('body', data.length)], le).nodes : [];
    }
  }
}

/** The key/value strings of EMULATOR_XENSTORE_DATA as text fields named by their keys. */
function xenstorePairs(data: Uint8Array, base: number): FieldNode[] {
  const out: FieldNode[] = [];
  const parts = splitNul(data[data.length - 1] === 0 ? data.subarray(0, data.length - 1) : data);
  let at = base;
  for (let k = 0; k < parts.length; k += 2) {
    const key = parts[k];
    const value = parts[k + 1];
    const keyNode: FieldNode = { name: 'key', type: 'text', offset: at, size: key.length + 1, value: { kind: 'text', value: key } };
    at += key.length + 1;
    const pair: FieldNode = { name: key, type: 'struct', offset: keyNode.offset, size: 0, children: [keyNode] };
    if (value !== undefined) {
      pair.children!.push({ name: 'value', type: 'text', offset: at, size: value.length + 1, value: { kind: 'text', value } });
      at += value.length + 1;
    } else pair.problem = 'a key without a value';
    pair.size = at - pair.offset;
    pair.value = { kind: 'text', value: value ?? '' };
    out.push(pair);
  }
  return out;
}

/** The HVM context blob as its save records, each with its descriptor and payload fields. */
export function decodeHvmContext(blob: Uint8Array, base: number): FieldNode[] {
  const ctx = splitHvmContext(blob, base);
  return ctx.records.map((r) => {
    const descriptor = decodeLayout(blob.subarray(r.offset - base, r.offset - base + 8), r.offset, HVM_DESCRIPTOR, true).nodes;
    const payload = r.cut ? [] : decodeHvmSaveRecord(blob, base, r);
    const node: FieldNode = { name: `${r.name}${r.typecode === 0 || r.typecode === 1 ? '' : `:${r.instance}`}`, type: 'struct', offset: r.offset, size: Math.min(8 + r.length, blob.length - (r.offset - base)), children: [struct0('descriptor', descriptor, r.offset), ...payload] };
    if (r.cut) node.problem = 'runs past the end of the context';
    return node;
  });
}

function struct0(name: string, children: FieldNode[], offset: number): FieldNode {
  return { name, type: 'struct', offset, size: children.reduce((n, c) => n + c.size, 0), children };
}

function withRest(d: { nodes: FieldNode[]; consumed: number }, data: Uint8Array, at: number): FieldNode[] {
  if (d.consumed < data.length) d.nodes.push(decodeLayout(data.subarray(d.consumed), at + d.consumed, [bytes('_rest', data.length - d.consumed)], true).nodes[0]);
  return d.nodes;
}

/** "pfn 0x12 NOTAB": a PAGE_DATA pfn entry in words. */
export function describePfnEntry(entry: bigint): { pfn: number; type: number; label: string } {
  const type = Number(entry >> PFN_TYPE_SHIFT);
  const pfn = Number(entry & PFN_MASK);
  return { pfn, type, label: `pfn 0x${pfn.toString(16)} ${PFINFO_NAMES[type] ?? `type 0x${type.toString(16)}`}` };
}

/** One-line summaries of a record for lists and the tree. */
export function describeRecord(source: ByteSource, model: XenStreamModel, rec: XenRecord): string {
  const le = recordLittleEndian(model, rec);
  const at = rec.offset + RECORD_HEADER_BYTES;
  const b = XenBytes.at(source, at, Math.min(rec.bodyLength, 24), le);
  const size = `${rec.bodyLength} bytes`;
  if (rec.resynced) return `damaged · ${rec.length} bytes skipped`;
  if (rec.layer === 'libxl') {
    switch (rec.type) {
      case LibxlRecord.EMULATOR_CONTEXT:
      case LibxlRecord.EMULATOR_XENSTORE_DATA:
        return b.length >= 8 ? `${EMULATOR_IDS[b.u32(0)] ?? `emulator ${b.u32(0)}`} #${b.u32(4)} · ${size}` : size;
      case LibxlRecord.CHECKPOINT_STATE:
        return b.length >= 4 ? CHECKPOINT_STATES[b.u32(0)] ?? `control ${b.u32(0)}` : size;
      default:
        return size;
    }
  }
  switch (rec.type) {
    case LibxcRecord.PAGE_DATA: {
      const count = b.length >= 4 ? b.u32(0) : 0;
      const withData = Math.max(0, Math.floor((rec.bodyLength - 8 - count * 8) / XEN_PAGE_SIZE));
      return `${count} pfn${count === 1 ? '' : 's'}, ${withData} page${withData === 1 ? '' : 's'}`;
    }
    case LibxcRecord.X86_PV_INFO:
      return b.length >= 2 ? `${b.u8(0) * 8}-bit guest, ${b.u8(1)} page-table levels` : size;
    case LibxcRecord.X86_PV_P2M_FRAMES:
      return b.length >= 8 ? `pfns ${b.u32(0)}-${b.u32(4)}, ${Math.max(0, (rec.bodyLength - 8) / 8)} frames` : size;
    case LibxcRecord.X86_PV_VCPU_BASIC:
    case LibxcRecord.X86_PV_VCPU_EXTENDED:
    case LibxcRecord.X86_PV_VCPU_XSAVE:
    case LibxcRecord.X86_PV_VCPU_MSRS:
      return b.length >= 4 ? `vCPU ${b.u32(0)} · ${rec.bodyLength - 8} bytes` : size;
    case LibxcRecord.X86_TSC_INFO:
      return b.length >= 16 ? `mode ${b.u32(0)}, ${b.u32(4)} kHz, ${b.u64(8)} ns` : size;
    case LibxcRecord.HVM_PARAMS: {
      const n = b.length >= 4 ? b.u32(0) : 0;
      return `${n} parameter${n === 1 ? '' : 's'}`;
    }
    case LibxcRecord.X86_CPUID_POLICY:
      return `${Math.floor(rec.bodyLength / 24)} leaves`;
    case LibxcRecord.X86_MSR_POLICY:
      return `${Math.floor(rec.bodyLength / 16)} MSRs`;
    default:
      return size;
  }
}

/** "STORE_PFN": the name of an HVM param index. */
export function hvmParamName(index: number): string {
  return HVM_PARAM_NAMES[index] ?? `param ${index}`;
}
