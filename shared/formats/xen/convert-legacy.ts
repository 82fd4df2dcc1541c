import { readBytes, type ByteSource } from '../../io/byte-source';
import { ascii } from '../../io/bytes';
import {
  DomainType,
  HvmParam,
  LEGACY_CONVERTER_VERSION,
  LEGACY_PARAM_CHUNKS,
  LIBXC_IDENT,
  LIBXL_IDENT,
  LIBXL_OPT_LEGACY,
  LIBXL_VERSION,
  LibxcRecord,
  LibxlRecord,
  PFINFO_BROKEN,
  XEN_PAGE_SHIFT,
  XEN_PAGE_SIZE,
  XL_MANDATORY_FLAG_STREAMV2,
} from './constants';
import { rebuildDeltaPages } from './legacy-deltas';
import type { LegacyCheckpoint, LegacyChunk, LegacyModel } from './legacy-model';
import type { XenStreamModel } from './model';
import { LEGACY_XTAB_FILLER, legacyEntry } from './parse-legacy';
import { StreamOut, type BodyPart } from './stream-out';
import { XenBytes, XenWriter } from './wire';

/**
 * Converts a legacy (pre-4.6) stream to Migration v2, as xen.git's convert-legacy-stream does
 * and byte for byte like it, but with the toolstack width and guest type taken from the
 * stream itself (its -w and -g), and beyond it: Remus streams (every checkpoint's pages,
 * compressed ones rebuilt from their deltas, and the last checkpoint's state), and tmem
 * chunks (Migration v2 has no record for them; dropped only when asked, with their count).
 */
export interface ConvertLegacyOptions {
  /** 'libxl' (default, what `xl restore` reads) or 'libxc' (a bare libxc image, the raw qemu record after END). */
  format?: 'libxl' | 'libxc';
  /** Drop tmem chunks instead of refusing (their pages are lost: v2 cannot carry them). */
  dropTmem?: boolean;
}

export interface LegacyConversion {
  pieces: StreamOut['pieces'];
  size: number;
  /** What the conversion did beyond a plain mapping, in words. */
  notes: string[];
  /** Why the stream cannot be converted; nothing else is valid when set. */
  refused?: string;
}

export class ConversionRefused extends Error {}

export function convertLegacy(model: XenStreamModel, source: ByteSource, options: ConvertLegacyOptions = {}): LegacyConversion {
  const legacy = model.legacy;
  if (!legacy) return { pieces: [], size: 0, notes: [], refused: 'not a legacy stream' };
  try {
    return new Converter(model, legacy, source, options).run();
  } catch (e) {
    if (e instanceof ConversionRefused) return { pieces: [], size: 0, notes: [], refused: e.message };
    throw e;
  }
}

class Converter {
  private readonly out = new StreamOut();
  private readonly notes: string[] = [];
  private readonly libxl: boolean;
  private readonly pv: boolean;
  private xenstore: Uint8Array[] = [];

  constructor(private readonly model: XenStreamModel, private readonly m: LegacyModel, private readonly source: ByteSource, private readonly options: ConvertLegacyOptions) {
    this.libxl = (options.format ?? 'libxl') === 'libxl';
    this.pv = m.guest === 'pv';
  }

  run(): LegacyConversion {
    const m = this.m;
    const complete = m.checkpoints.filter((cp) => cp.tail && (this.pv || cp.qemu));
    if (!complete.length) throw new ConversionRefused('the stream holds no complete state (it ends before the tail of its first body); nothing can be converted');
    if (complete.length < m.checkpoints.length) this.notes.push(`the last checkpoint is incomplete (the stream stops in it) and is left out, as a Remus failover would`);
    this.refuseWhatCannotBeConverted(complete);
    const out = this.out;
    if (this.model.xl) this.xlHeader();
    if (this.libxl) out.bytes(new XenWriter(false).bytes(ascii(LIBXL_IDENT)).u32(LIBXL_VERSION).u32(LIBXL_OPT_LEGACY).finish()).record(LibxlRecord.LIBXC_CONTEXT);
    out.bytes(new XenWriter(false).bytes(new Uint8Array(8).fill(0xff)).u32(LIBXC_IDENT).u32(3).u16(0).u16(0).u32(0).finish());
    out.bytes(new XenWriter(true).u32(this.pv ? DomainType.X86_PV : DomainType.X86_HVM).u16(XEN_PAGE_SHIFT).u16(0).u32(0).u32(LEGACY_CONVERTER_VERSION).finish());
    if (this.pv && m.extendedInfo?.guestWidth) out.record(LibxcRecord.X86_PV_INFO, new XenWriter().u8(m.extendedInfo.guestWidth).u8(m.extendedInfo.ptLevels!).u16(0).u32(0).finish());
    out.record(LibxcRecord.STATIC_DATA_END);
    if (this.pv) this.p2mFrames();
    const deltas = m.compression ? rebuildDeltaPages(this.source, m) : undefined;
    if (deltas?.some((d) => d.problems.length)) {
      const p = deltas.flatMap((d) => d.problems)[0];
      throw new ConversionRefused(`compressed page data at 0x${p.offset.toString(16)} cannot be rebuilt: ${p.message}`);
    }
    if (complete.length > 1) this.notes.push(`${complete.length} Remus checkpoints: every checkpoint's pages are written in order (later copies win) with the last checkpoint's vCPU and device state, a plain v2 stream xl restore reads`);
    for (const cp of complete) this.body(cp, deltas?.[m.checkpoints.indexOf(cp)].pages);
    const last = complete[complete.length - 1];
    if (this.pv) this.pvTail(last);
    else this.hvmTail(last);
    if (this.libxl) {
      const xs = this.xenstore.reduce((n, b) => n + b.length, 0);
      if (xs) out.record(LibxlRecord.EMULATOR_XENSTORE_DATA, new XenWriter().u32(0).u32(0).finish(), ...this.xenstore);
      if (!this.pv && last.qemu) out.record(LibxlRecord.EMULATOR_CONTEXT, new XenWriter().u32(0).u32(0).finish(), last.qemu.data);
      out.record(LibxlRecord.END);
    } else if (!this.pv && last.qemu) {
      // convert-legacy-stream -f libxc copies the raw device model record after the libxc END.
      out.part({ offset: last.qemu.offset, length: last.qemu.length });
    }
    return { pieces: out.pieces, size: out.size, notes: this.notes };
  }

  private refuseWhatCannotBeConverted(checkpoints: LegacyCheckpoint[]): void {
    for (const cp of checkpoints) {
      for (const c of cp.chunks) {
        if (c.kind === 'tmem' || c.kind === 'tmem-extra') {
          const pages = c.tmem?.pages ?? 0;
          if (!this.options.dropTmem) {
            throw new ConversionRefused(
              `the stream has a tmem chunk at 0x${c.offset.toString(16)}${pages ? ` holding ${pages} persistent tmem page${pages === 1 ? '' : 's'}` : ''}; Migration v2 has no tmem record (Xen removed tmem in 4.12). Convert with --drop-tmem to leave tmem out${pages ? ' (the guest loses those pages, e.g. its frontswap)' : ''}`,
            );
          }
          if (c.kind === 'tmem') this.notes.push(`tmem chunk at 0x${c.offset.toString(16)} dropped: ${c.tmem?.pools ?? 0} pools, ${pages} persistent pages (${c.tmem?.pageBytes ?? 0} bytes) are not in the output`);
          else this.notes.push(`tmem invalidation list at 0x${c.offset.toString(16)} dropped`);
        }
        if (c.kind === 'pages' && (c.entries ?? 0) > 0) this.checkDuplicates(c);
      }
      if (!this.pv && cp.qemu && cp.qemu.signature === 'QemuDeviceModelRecord') this.notes.push('the qemu record "QemuDeviceModelRecord" runs to the end of the file; it is carried over as the emulator context');
    }
  }

  private checkDuplicates(c: LegacyChunk): void {
    const list = XenBytes.at(this.source, c.offset + 4, (c.entries ?? 0) * this.m.width, true);
    const seen = new Set<number>();
    for (let k = 0; k < (c.entries ?? 0); k++) {
      const e = list.ulong(k * this.m.width, this.m.width);
      if (e === LEGACY_XTAB_FILLER) continue;
      if (seen.has(e)) throw new ConversionRefused(`duplicate pfns in the page batch at 0x${c.offset.toString(16)} (convert-legacy-stream refuses it too)`);
      seen.add(e);
    }
  }

  /** convert-legacy-stream -x: the xl header copied, with mandatory flag STREAMv2 for libxl output. */
  private xlHeader(): void {
    const xl = this.model.xl!;
    const head = new Uint8Array(readBytes(this.source, 0, xl.bodyOffset));
    const flags = this.libxl ? xl.mandatoryFlags | XL_MANDATORY_FLAG_STREAMV2 : xl.mandatoryFlags;
    new DataView(head.buffer).setUint32(36, flags, xl.littleEndian);
    this.out.bytes(head);
    if (this.libxl && !(xl.mandatoryFlags & XL_MANDATORY_FLAG_STREAMV2)) this.notes.push('xl header: mandatory flag STREAMv2 set, as convert-legacy-stream -x does');
  }

  private p2mFrames(): void {
    const f = this.m.p2mFrameList!;
    const list = XenBytes.at(this.source, f.offset, f.length, true);
    const w = new XenWriter(true, 8 + f.count * 8).u32(0).u32(this.m.p2mSize - 1);
    for (let k = 0; k < f.count; k++) w.u64(list.ulong(k * this.m.width, this.m.width));
    this.out.record(LibxcRecord.X86_PV_P2M_FRAMES, w.finish());
  }

  private body(cp: LegacyCheckpoint, rebuilt: Map<number, Uint8Array> | undefined): void {
    const params: [number, number][] = [];
    const compressed: number[] = [];
    this.xenstore = [];
    for (const c of cp.chunks) {
      switch (c.kind) {
        case 'pages':
          this.pageData(c);
          break;
        case 'pfns':
          compressed.push(...this.pfnEntries(c).filter((e) => legacyEntry(e, this.m.width).type < PFINFO_BROKEN));
          break;
        case 'param':
          params.push([LEGACY_PARAM_CHUNKS.get(c.marker)!, c.value!]);
          break;
        case 'tsc': {
          const t = XenBytes.at(this.source, c.offset + 4, 20, true);
          this.out.record(LibxcRecord.X86_TSC_INFO, new XenWriter().u32(t.u32(0)).u32(t.u32(12)).u64(t.u64big(4)).u32(t.u32(16)).u32(0).finish());
          break;
        }
        case 'toolstack':
          if (this.libxl && c.dataLength) this.xenstore.push(physmapToXenstore(readBytes(this.source, c.dataOffset!, c.dataLength), this.m.width));
          break;
        case 'end':
          if (compressed.length) this.rebuiltPages(compressed, rebuilt!);
          if (params.length) this.hvmParams(params);
          break;
      }
    }
  }

  private pfnEntries(c: LegacyChunk): number[] {
    const list = XenBytes.at(this.source, c.offset + 4, (c.entries ?? 0) * this.m.width, true);
    const out: number[] = [];
    for (let k = 0; k < (c.entries ?? 0); k++) {
      const e = list.ulong(k * this.m.width, this.m.width);
      if (e !== LEGACY_XTAB_FILLER) out.push(e);
    }
    return out;
  }

  /** A page batch as PAGE_DATA: type moved from bit 28 to bit 60, XTAB fillers dropped, pages copied. */
  private pageData(c: LegacyChunk): void {
    const entries = this.pfnEntries(c);
    if (!entries.length) return;
    const pfns = new XenWriter(true, 8 + entries.length * 8).u32(entries.length).u32(0);
    for (const e of entries) {
      const { type, pfn } = legacyEntry(e, this.m.width);
      pfns.u64((BigInt(type) << 60n) | BigInt(pfn));
    }
    const pagesAt = c.offset + 4 + (c.entries ?? 0) * this.m.width;
    this.out.record(LibxcRecord.PAGE_DATA, pfns.finish(), { offset: pagesAt, length: (c.pages ?? 0) * XEN_PAGE_SIZE });
  }

  /** Pages rebuilt from Remus deltas, as PAGE_DATA records of at most 1024 pages. */
  private rebuiltPages(entries: number[], rebuilt: Map<number, Uint8Array>): void {
    // Each pfn once, with the content the body's deltas left (a pfn sent twice had both applied).
    const byPfn = new Map<number, number>();
    for (const e of entries) byPfn.set(legacyEntry(e, this.m.width).pfn, legacyEntry(e, this.m.width).type);
    const pfns = [...byPfn.keys()];
    for (let i = 0; i < pfns.length; i += 1024) {
      const batch = pfns.slice(i, i + 1024);
      const head = new XenWriter(true, 8 + batch.length * 8).u32(batch.length).u32(0);
      for (const pfn of batch) head.u64((BigInt(byPfn.get(pfn)!) << 60n) | BigInt(pfn));
      this.out.record(LibxcRecord.PAGE_DATA, head.finish(), ...batch.map((pfn): BodyPart => rebuilt.get(pfn) ?? new Uint8Array(XEN_PAGE_SIZE)));
    }
  }

  private hvmParams(params: [number, number][]): void {
    if (this.pv) throw new ConversionRefused('an HVM-only parameter chunk in a PV stream ("HVM-only param in PV stream")');
    const w = new XenWriter(true, 8 + params.length * 16).u32(params.length).u32(0);
    for (const [index, value] of params) w.u64(index).u64(value);
    this.out.record(LibxcRecord.HVM_PARAMS, w.finish());
  }

  private hvmTail(cp: LegacyCheckpoint): void {
    const t = cp.tail!;
    const p = t.magicPfns!;
    this.hvmParams([
      [HvmParam.IOREQ_PFN, p.ioreq],
      [HvmParam.BUFIOREQ_PFN, p.bufioreq],
      [HvmParam.STORE_PFN, p.store],
    ]);
    this.out.record(LibxcRecord.HVM_CONTEXT, t.hvmContext!);
    this.out.record(LibxcRecord.END);
  }

  private pvTail(cp: LegacyCheckpoint): void {
    const t = cp.tail!;
    if (t.unmappedPfns?.count) this.notes.push(`${t.unmappedPfns.count} "unmapped pfns" of the PV tail discarded (bogus, as convert-legacy-stream says)`);
    for (const v of t.vcpus ?? []) {
      const head = () => new XenWriter().u32(v.id).u32(0).finish();
      this.out.record(LibxcRecord.X86_PV_VCPU_BASIC, head(), v.basic);
      if (v.extended) this.out.record(LibxcRecord.X86_PV_VCPU_EXTENDED, head(), v.extended);
      if (v.xsave) this.out.record(LibxcRecord.X86_PV_VCPU_XSAVE, head(), v.xsave);
    }
    this.out.record(LibxcRecord.SHARED_INFO, t.sharedInfo!);
    this.out.record(LibxcRecord.END);
  }
}

/**
 * The libxl "toolstack" v1 blob (QEMU physmap entries) as EMULATOR_XENSTORE_DATA key/value
 * strings (legacy.py, convert-legacy-stream read_libxl_toolstack): a 64-bit toolstack leaked
 * 4 bytes of struct padding after each name.
 */
export function physmapToXenstore(data: Uint8Array, width: 4 | 8): Uint8Array {
  const b = new XenBytes(data, true);
  if (data.length < 8) throw new ConversionRefused('overly short libxl toolstack data');
  const version = b.u32(0);
  const count = b.u32(4);
  if (version !== 1) throw new ConversionRefused(`cannot decode libxl toolstack version ${version}`);
  let at = 8;
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    if (data.length - at < 28) throw new ConversionRefused('remaining toolstack data too short for a physmap header');
    const phys = b.u64big(at);
    const start = b.u64big(at + 8);
    const size = b.u64big(at + 16);
    let nameLength = b.u32(at + 24);
    at += 28;
    if (!nameLength) throw new ConversionRefused('physmap entry without a name');
    if (width === 8) nameLength += 4;
    if (data.length - at < nameLength) throw new ConversionRefused('remaining toolstack data too short for a physmap name');
    let name = data.subarray(at, at + nameLength);
    at += nameLength;
    if (width === 8) name = name.subarray(0, name.length - 4);
    if (name[name.length - 1] !== 0) throw new ConversionRefused('physmap name not NUL terminated');
    const root = `physmap/${phys.toString(16)}`;
    parts.push(`${root}/start_addr`, start.toString(16), `${root}/size`, size.toString(16), `${root}/name`, String.fromCharCode(...name.subarray(0, name.length - 1)));
  }
  return ascii(parts.map((p) => p + '\0').join(''));
}
