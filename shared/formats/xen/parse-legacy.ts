import type { ByteSource } from '../../io/byte-source';
import {
  HVM_ONLY_CHUNKS,
  LEGACY_CHUNK_NAMES,
  LEGACY_EXTENDED_VCPU_BYTES,
  LEGACY_MAX_BATCH,
  LEGACY_MAX_VCPU_ID,
  LEGACY_PARAM_CHUNKS,
  LEGACY_QEMU_SIGNATURE_BYTES,
  LEGACY_QEMU_SIGNATURES,
  LegacyChunk as Chunk,
  PFINFO_BROKEN,
  PV_VCPU_CONTEXT_32,
  PV_VCPU_CONTEXT_64,
  XEN_PAGE_SIZE,
} from './constants';
import type { XenDiagnostics } from './diagnostics';
import type { LegacyCheckpoint, LegacyChunk, LegacyExtendedInfo, LegacyModel, LegacyQemuRecord, LegacyTail } from './legacy-model';
import type { LegacyShape } from './legacy-sniff';
import { DELTA_PAGE, NO_DATA, type XenPageIndex } from './page-index';
import { EndOfStream, SeqReader } from './wire';

const hex = (n: number): string => '0x' + n.toString(16);
/** Legacy page-batch entries keep the PFINFO type in bits 31-28 and the pfn in bits 27-0. */
const LEGACY_TYPE_SHIFT = 28;
const LEGACY_PFN_MASK = 0x0fff_ffff;
/** The XTAB entry xc_domain_save leaves for pfns it could not map (convert-legacy-stream drops them). */
export const LEGACY_XTAB_FILLER = 0xf000_0000;

/**
 * Reads a legacy stream from `start` (shape from sniffLegacy): header, extended info and p2m
 * frame list (PV), then one or more checkpoints of body chunks, tail and qemu record. Page
 * entries go to `pages`; everything else is located by offset. Damage is reported and ends
 * the reading (the format has no framing to resynchronise on).
 */
export function parseLegacy(source: ByteSource, start: number, shape: LegacyShape, diags: XenDiagnostics, pages: XenPageIndex): LegacyModel {
  return new LegacyReader(source, start, shape, diags, pages).read();
}

class LegacyReader {
  private readonly r: SeqReader;
  private readonly m: LegacyModel;
  private chunkIndex = 0;
  private lastCheckpoint = false;

  constructor(private readonly source: ByteSource, start: number, shape: LegacyShape, private readonly diags: XenDiagnostics, private readonly pages: XenPageIndex) {
    this.r = new SeqReader(source, start, true);
    this.m = {
      offset: start,
      width: shape.width,
      widthEvidence: shape.widthEvidence,
      guest: shape.guest,
      guestEvidence: shape.guestEvidence,
      p2mSize: shape.p2mSize,
      checkpoints: [],
      compression: false,
      vcpus: [],
      maxVcpuId: 0,
      tmemOidBytes: 24,
    };
  }

  read(): LegacyModel {
    const r = this.r;
    try {
      r.ulong(this.m.width);
      if (this.m.guest === 'pv') {
        this.extendedInfo();
        this.p2mFrameList();
      }
      do {
        this.m.checkpoints.push(this.checkpoint());
      } while (r.remaining > 0 && !this.lastCheckpoint && this.nextIsBody());
    } catch (e) {
      if (e instanceof StopReading) return this.finish();
      if (!(e instanceof EndOfStream)) throw e;
      this.diagnosedEarlyEnd = true;
      this.diags.add(e.offset, {
        severity: 'error',
        code: 'xen-truncated',
        expected: `${e.needed} more bytes of the legacy stream`,
        found: `${this.source.size - e.offset} bytes before the end of the file`,
        message: 'The legacy stream ends early',
        hint: 'The file was cut. Everything before this point is shown; the conversion needs a complete stream.',
      });
    }
    return this.finish();
  }

  private finish(): LegacyModel {
    const r = this.r;
    if (!this.m.vcpus.length) this.m.vcpus = [0];
    if (r.pos < this.source.size && !this.diagnosedEarlyEnd) {
      this.diags.add(r.pos, { severity: 'warning', code: 'xen-trailing-data', length: this.source.size - r.pos, expected: 'the end of the file after the last checkpoint', found: `${this.source.size - r.pos} more bytes`, message: 'Data after the legacy stream' });
    }
    return this.m;
  }

  private diagnosedEarlyEnd = false;

  private stop(at: number, code: string, expected: string, found: string, message: string, hint?: string): never {
    this.diags.add(at, { severity: 'error', code, expected, found, message, hint });
    this.diagnosedEarlyEnd = true;
    throw new StopReading();
  }

  // ---------------------------------------------------------------- header

  private extendedInfo(): void {
    const r = this.r;
    const at = r.pos;
    const marker = r.take(this.m.width);
    if (!marker.data.every((b) => b === 0xff)) this.stop(at, 'xen-legacy-extended-info', 'the extended-info marker ~0UL', hex(marker.ulong(0, this.m.width)), 'Unexpected extended info marker', 'Every PV save since Xen 3.0 has extended info; this is not a PV stream or it is damaged.');
    const total = r.u32();
    const info: LegacyExtendedInfo = { offset: at, length: 0, totalLength: total, blocks: [], extendedVcpu: false, xsaveLength: 0 };
    let soFar = 0;
    while (soFar < total) {
      const blockAt = r.pos;
      const id = String.fromCharCode(...r.take(4).data);
      const size = r.u32();
      r.skip(size);
      soFar += 8 + size;
      info.blocks.push({ id, offset: blockAt, dataOffset: blockAt + 8, size });
      if (id === 'vcpu') {
        info.vcpuContextSize = size;
        if (size === PV_VCPU_CONTEXT_64) Object.assign(info, { guestWidth: 8, ptLevels: 4 });
        else if (size === PV_VCPU_CONTEXT_32) Object.assign(info, { guestWidth: 4, ptLevels: 3 });
        else this.diags.add(blockAt, { severity: 'error', code: 'xen-legacy-vcpu-size', length: 8 + size, expected: `a vcpu_guest_context of ${PV_VCPU_CONTEXT_64} (64-bit) or ${PV_VCPU_CONTEXT_32} (32-bit) bytes`, found: `${size} bytes`, message: 'Unable to determine guest width from the vcpu block', hint: 'Xen\'s converter refuses this stream ("Unable to determine guest width/level").' });
      } else if (id === 'extv') info.extendedVcpu = true;
      else if (id === 'xcnt') info.xsaveLength = this.source.size >= blockAt + 12 ? new SeqReader(this.source, blockAt + 8, true).u32() : 0;
      else this.diags.add(blockAt, { severity: 'error', code: 'xen-legacy-extended-info', length: 8 + size, expected: 'extended-info block "vcpu", "extv" or "xcnt"', found: JSON.stringify(id), message: 'Unrecognised extended-info block', hint: "Xen's converter refuses it." });
    }
    if (soFar !== total) this.diags.add(at, { severity: 'error', code: 'xen-legacy-extended-info', length: r.pos - at, expected: `${total} bytes of blocks`, found: `${soFar}`, message: `Overshot the extended info size by ${soFar - total} bytes` });
    info.length = r.pos - at;
    this.m.extendedInfo = info;
  }

  private p2mFrameList(): void {
    const gw = this.m.extendedInfo?.guestWidth ?? this.m.width;
    const perFrame = XEN_PAGE_SIZE / gw;
    const count = Math.floor((this.m.p2mSize - 1) / perFrame) + 1;
    const at = this.r.pos;
    this.r.skip(count * this.m.width);
    this.m.p2mFrameList = { offset: at, length: count * this.m.width, count };
  }

  // ---------------------------------------------------------------- checkpoints

  /** Whether the next bytes start another body (a Remus stream repeats body, tail and qemu record). */
  private nextIsBody(): boolean {
    if (this.r.remaining < 4) return false;
    const marker = new SeqReader(this.source, this.r.pos, true).i32();
    return (marker > 0 && marker <= LEGACY_MAX_BATCH) || LEGACY_CHUNK_NAMES[marker] !== undefined;
  }

  private checkpoint(): LegacyCheckpoint {
    const cp: LegacyCheckpoint = { offset: this.r.pos, length: 0, chunks: [] };
    try {
      this.body(cp);
      cp.tail = this.m.guest === 'hvm' ? this.hvmTail() : this.pvTail();
      if (this.m.guest === 'hvm' && this.r.remaining > 0) cp.qemu = this.qemuRecord();
    } catch (e) {
      if (!(e instanceof StopReading)) throw e;
      this.r.pos = this.source.size;
    }
    cp.length = this.r.pos - cp.offset;
    return cp;
  }

  private body(cp: LegacyCheckpoint): void {
    const r = this.r;
    for (;;) {
      const at = r.pos;
      const marker = r.i32();
      const chunk: LegacyChunk = { index: this.chunkIndex++, offset: at, length: 0, marker, kind: 'unknown' };
      cp.chunks.push(chunk);
      if (marker > 0) this.batch(chunk);
      else if (marker === Chunk.END) chunk.kind = 'end';
      else this.special(chunk);
      chunk.length = r.pos - at;
      if (marker === Chunk.END) return;
    }
  }

  private batch(chunk: LegacyChunk): void {
    const r = this.r;
    const w = this.m.width;
    const n = chunk.marker;
    if (n > LEGACY_MAX_BATCH) this.stop(chunk.offset, 'xen-legacy-batch', `a batch of at most ${LEGACY_MAX_BATCH} pages (MAX_BATCH)`, `${n}`, `Page batch of ${n} exceeds MAX_BATCH`, 'The chunk marker is damaged; the rest of the stream cannot be located.');
    const list = r.take(n * w);
    const seen = new Set<number>();
    let withData = 0;
    let duplicate = false;
    for (let k = 0; k < n; k++) {
      const e = list.ulong(k * w, w);
      if (e === LEGACY_XTAB_FILLER) continue;
      const { type } = legacyEntry(e, w);
      if (seen.has(e)) duplicate = true;
      seen.add(e);
      if (type < PFINFO_BROKEN) withData++;
    }
    chunk.entries = n;
    const compressed = this.m.compression;
    chunk.kind = compressed ? 'pfns' : 'pages';
    chunk.pages = compressed ? 0 : withData;
    let data = r.pos;
    const end = Math.min(this.source.size, r.pos + chunk.pages * XEN_PAGE_SIZE);
    for (let k = 0; k < n; k++) {
      const e = list.ulong(k * w, w);
      if (e === LEGACY_XTAB_FILLER) continue;
      const { type, pfn } = legacyEntry(e, w);
      if (type >= PFINFO_BROKEN) this.pages.add(pfn, type, NO_DATA, chunk.index);
      else if (compressed) this.pages.add(pfn, type, DELTA_PAGE, chunk.index);
      else {
        this.pages.add(pfn, type, data + XEN_PAGE_SIZE <= end ? data : NO_DATA, chunk.index);
        data += XEN_PAGE_SIZE;
      }
    }
    if (duplicate) this.diags.add(chunk.offset, { severity: 'error', code: 'xen-pfn-duplicate', length: 4 + n * w, expected: 'each pfn once per batch', found: 'a pfn listed twice', message: 'Duplicate pfns in a page batch', hint: 'Xen\'s converter refuses this batch ("Duplicate pfns in batch").' });
    r.skip(chunk.pages * XEN_PAGE_SIZE);
  }

  private special(chunk: LegacyChunk): void {
    const r = this.r;
    const m = chunk.marker;
    const name = LEGACY_CHUNK_NAMES[m];
    if (name === undefined) this.stop(chunk.offset, 'xen-legacy-chunk', 'a page batch (1-1024) or a chunk id (0 to -20)', `${m}`, `Unrecognised chunk ${m}`, 'The stream is damaged here; nothing after it can be located.');
    if (this.m.guest === 'pv' && HVM_ONLY_CHUNKS.has(m)) {
      this.diags.add(chunk.offset, { severity: 'error', code: 'xen-legacy-chunk', length: 16, expected: 'chunks of a PV save', found: `${name} (an HVM chunk)`, message: `HVM-only chunk ${name} in a PV stream` });
    }
    if (LEGACY_PARAM_CHUNKS.has(m)) {
      chunk.kind = 'param';
      r.u32();
      chunk.value = r.u64();
      return;
    }
    switch (m) {
      case Chunk.ENABLE_VERIFY_MODE:
      case Chunk.LAST_CHECKPOINT:
        chunk.kind = 'flag';
        if (m === Chunk.LAST_CHECKPOINT) this.lastCheckpoint = true;
        return;
      case Chunk.ENABLE_COMPRESSION:
        chunk.kind = 'flag';
        this.m.compression = true;
        return;
      case Chunk.VCPU_INFO: {
        chunk.kind = 'vcpu-info';
        const max = r.i32();
        if (max < 0 || max > LEGACY_MAX_VCPU_ID) this.stop(chunk.offset, 'xen-legacy-vcpu-info', `max vCPU id 0-${LEGACY_MAX_VCPU_ID}`, `${max}`, 'vCPU max id out of range');
        this.m.maxVcpuId = max;
        const words = Math.floor(max / 64) + 1;
        const map = r.take(8 * words);
        const online: number[] = [];
        for (let k = 0; k < words; k++) {
          const word = map.u64big(8 * k);
          for (let bit = 0; bit < 64; bit++) if ((word >> BigInt(bit)) & 1n) online.push(k * 64 + bit);
        }
        this.m.vcpus = online;
        return;
      }
      case Chunk.TSC_INFO:
        chunk.kind = 'tsc';
        r.skip(20);
        return;
      case Chunk.TMEM:
        chunk.kind = 'tmem';
        chunk.tmem = this.tmem();
        return;
      case Chunk.TMEM_EXTRA:
        chunk.kind = 'tmem-extra';
        this.tmemExtra();
        return;
      case Chunk.COMPRESSED_DATA:
      case Chunk.TOOLSTACK: {
        chunk.kind = m === Chunk.TOOLSTACK ? 'toolstack' : 'compressed';
        const len = r.u32();
        chunk.dataOffset = r.pos;
        chunk.dataLength = len;
        r.skip(len);
        if (m === Chunk.COMPRESSED_DATA && !this.m.compression) {
          this.diags.add(chunk.offset, { severity: 'error', code: 'xen-legacy-compression', length: 8 + len, expected: 'ENABLE_COMPRESSION before compressed data', found: 'COMPRESSED_DATA first', message: 'Compressed page data before compression was enabled' });
        }
        return;
      }
    }
  }

  /** XC_SAVE_ID_TMEM as xc_tmem_save() writes it (Xen 4.0-4.5), to find where it ends. */
  private tmem(): { version: number; pools: number; pages: number; pageBytes: number } {
    const r = this.r;
    const version = r.u32();
    r.u32(); // max_pools
    this.expectMinusOne();
    r.skip(12); // client flags, weight, cap
    this.expectMinusOne();
    this.m.tmemOidBytes = version === 0 ? 8 : 24;
    let pools = 0;
    let pages = 0;
    let pageBytes = 0;
    for (;;) {
      const poolId = r.u32();
      if (poolId === 0xffffffff) break;
      pools++;
      const flags = r.u32();
      const nPages = r.i32();
      r.skip(16); // uuid
      if (nPages <= 0) continue;
      const pageSize = 1 << (((flags >>> 4) & 0xf) + 12);
      for (let j = nPages; j > 0; j--) {
        const oid = r.take(this.m.tmemOidBytes);
        if (oid.data.every((b) => b === 0xff)) break;
        r.u32();
        r.skip(pageSize);
        pages++;
        pageBytes += pageSize;
      }
    }
    return { version, pools, pages, pageBytes };
  }

  private tmemExtra(): void {
    const r = this.r;
    while (r.u32() !== 0xffffffff) r.skip(this.m.tmemOidBytes + 4);
  }

  private expectMinusOne(): void {
    const at = this.r.pos;
    const v = this.r.u32();
    if (v !== 0xffffffff) this.stop(at, 'xen-legacy-tmem', 'the separator 0xffffffff', hex(v), 'Damaged tmem chunk');
  }

  // ---------------------------------------------------------------- tails

  private hvmTail(): LegacyTail {
    const r = this.r;
    const at = r.pos;
    const pfns = r.take(24);
    const ctxLength = r.u32();
    const ctxAt = r.pos;
    r.skip(ctxLength);
    return { offset: at, length: r.pos - at, magicPfns: { ioreq: pfns.u64(0), bufioreq: pfns.u64(8), store: pfns.u64(16) }, hvmContext: { offset: ctxAt, length: ctxLength } };
  }

  private pvTail(): LegacyTail {
    const r = this.r;
    const w = this.m.width;
    const at = r.pos;
    const n = r.u32();
    const unmappedAt = r.pos;
    r.skip(n * w);
    const info = this.m.extendedInfo;
    const basic = info?.vcpuContextSize ?? PV_VCPU_CONTEXT_64;
    const tail: LegacyTail = { offset: at, length: 0, unmappedPfns: { offset: unmappedAt, length: n * w, count: n }, vcpus: [] };
    for (const id of this.m.vcpus.length ? this.m.vcpus : [0]) {
      const v: NonNullable<LegacyTail['vcpus']>[number] = { id, basic: { offset: r.pos, length: basic } };
      r.skip(basic);
      if (info?.extendedVcpu) {
        v.extended = { offset: r.pos, length: LEGACY_EXTENDED_VCPU_BYTES };
        r.skip(LEGACY_EXTENDED_VCPU_BYTES);
      }
      if (info?.xsaveLength) {
        const xat = r.pos;
        const head = r.take(16);
        const size = head.u64(8);
        if (size !== info.xsaveLength - 16) this.diags.add(xat, { severity: 'error', code: 'xen-legacy-xsave', length: 16, expected: `xsave size ${info.xsaveLength - 16} (the "xcnt" block minus 16)`, found: `${size}`, message: 'vCPU xsave size disagrees with the extended info' });
        r.skip(size);
        v.xsave = { offset: xat + 16, length: size, mask: head.u64(0) };
      }
      tail.vcpus!.push(v);
    }
    tail.sharedInfo = { offset: r.pos, length: XEN_PAGE_SIZE };
    r.skip(XEN_PAGE_SIZE);
    tail.length = r.pos - at;
    return tail;
  }

  private qemuRecord(): LegacyQemuRecord | undefined {
    const r = this.r;
    const at = r.pos;
    if (r.remaining < LEGACY_QEMU_SIGNATURE_BYTES) return undefined;
    const signature = String.fromCharCode(...r.take(LEGACY_QEMU_SIGNATURE_BYTES).data);
    if (!(LEGACY_QEMU_SIGNATURES as readonly string[]).includes(signature)) {
      r.pos = at;
      if (this.nextIsBody()) return undefined;
      this.stop(at, 'xen-legacy-qemu', `a device model record ("${LEGACY_QEMU_SIGNATURES.join('", "')}")`, JSON.stringify(signature), 'Unrecognised device model record after the HVM tail');
    }
    let length: number;
    if (signature === 'QemuDeviceModelRecord') length = r.remaining;
    else length = r.u32();
    const dataAt = r.pos;
    r.skip(length);
    const qemu = length >= 4 && String.fromCharCode(...new SeqReader(this.source, dataAt, true).take(4).data) === 'QEVM';
    return { offset: at, length: r.pos - at, signature, data: { offset: dataAt, length }, qemu };
  }
}

class StopReading extends Error {}

/** The legacy pfn entry's type and pfn. */
export function legacyEntry(e: number, width: 4 | 8): { type: number; pfn: number } {
  const low = width === 8 ? e % 2 ** 32 : e;
  return { type: (low >>> LEGACY_TYPE_SHIFT) & 0xf, pfn: low & LEGACY_PFN_MASK };
}
