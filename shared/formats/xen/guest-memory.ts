import { readBytes, type ByteSource } from '../../io/byte-source';
import { LibxcRecord, PFINFO_BROKEN, PFINFO_NAMES, PFINFO_XALLOC, PFINFO_XTAB, RECORD_HEADER_BYTES, XEN_PAGE_SIZE } from './constants';
import { rebuildDeltaPages } from './legacy-deltas';
import type { XenStreamModel } from './model';
import { DELTA_PAGE, NO_DATA } from './page-index';
import { XenBytes } from './wire';

/**
 * A Xen guest's memory as the restoring side would have it, by pfn: the last entry of each
 * pfn wins (live migration and checkpoints send pages again). For an HVM guest a pfn is a
 * guest-physical frame (address = pfn × 4096); for a PV guest it is a pseudo-physical frame,
 * which the p2m (X86_PV_P2M_FRAMES, or the legacy p2m frame list) maps to the machine
 * frames of the saving host.
 */
export type PageState = 'data' | 'zero' | 'invalid' | 'broken' | 'never-sent' | 'unreadable';

export interface GuestPage {
  pfn: number;
  state: PageState;
  /** XEN_DOMCTL_PFINFO type of the final entry. */
  type?: number;
  /** The record (v2) or legacy chunk holding the final entry. */
  record?: number;
  /** File offset of the page's bytes, when they sit in the file as they are. */
  offset?: number;
  /** How the page is held: in the file, rebuilt from a Remus delta, or nothing (zeros). */
  source: 'file' | 'delta' | 'none';
}

export interface PfnRange {
  firstPfn: number;
  count: number;
  state: PageState;
  type: number;
  /** File offset of the first page when the range's pages lie back to back in the file. */
  offset?: number;
  record: number;
}

export class XenGuestMemory {
  private deltas?: Map<number, Uint8Array>;
  private p2m?: { frames: number[]; perFrame: number; width: 4 | 8; firstPfn: number };

  constructor(private readonly source: ByteSource, readonly model: XenStreamModel) {}

  get pfnLimit(): number {
    return this.model.pages.pfnLimit;
  }

  get isPv(): boolean {
    return this.model.domain.type === 'pv';
  }

  /** Final state of every pfn that has an entry, as ranges in pfn order (never-sent gaps left out). */
  ranges(): PfnRange[] {
    const pages = this.model.pages;
    const out: PfnRange[] = [];
    for (const seg of pages.resolved()) {
      const run = pages.run(seg.run);
      const state = stateOf(run.type, run.dataOffset);
      const offset = run.dataOffset >= 0 ? run.dataOffset + (seg.start - run.firstPfn) * XEN_PAGE_SIZE : undefined;
      out.push({ firstPfn: seg.start, count: seg.end - seg.start, state, type: run.type, offset, record: run.record });
    }
    return out;
  }

  page(pfn: number): GuestPage {
    const pages = this.model.pages;
    const r = pages.runOf(pfn);
    if (r < 0) return { pfn, state: 'never-sent', source: 'none' };
    const run = pages.run(r);
    const state = stateOf(run.type, run.dataOffset);
    const base = { pfn, state, type: run.type, record: run.record };
    if (run.dataOffset >= 0) return { ...base, offset: run.dataOffset + (pfn - run.firstPfn) * XEN_PAGE_SIZE, source: 'file' };
    if (run.dataOffset === DELTA_PAGE) return { ...base, state: 'data', source: 'delta' };
    return { ...base, source: 'none' };
  }

  /** The page's final content (zeros for pages without data). */
  read(pfn: number): Uint8Array {
    const p = this.page(pfn);
    if (p.source === 'file') return readBytes(this.source, p.offset!, XEN_PAGE_SIZE);
    if (p.source === 'delta') return this.deltaPages().get(pfn) ?? new Uint8Array(XEN_PAGE_SIZE);
    return new Uint8Array(XEN_PAGE_SIZE);
  }

  /** Reads [address, address + length) of pseudo-physical (PV) or guest-physical (HVM) memory. */
  readRange(address: number, length: number): { bytes: Uint8Array; pages: GuestPage[] } {
    const out = new Uint8Array(length);
    const pages: GuestPage[] = [];
    for (let at = 0; at < length; ) {
      const a = address + at;
      const pfn = Math.floor(a / XEN_PAGE_SIZE);
      const within = a - pfn * XEN_PAGE_SIZE;
      const n = Math.min(XEN_PAGE_SIZE - within, length - at);
      pages.push(this.page(pfn));
      out.set(this.read(pfn).subarray(within, within + n), at);
      at += n;
    }
    return { bytes: out, pages };
  }

  private deltaPages(): Map<number, Uint8Array> {
    if (!this.deltas) {
      this.deltas = new Map();
      if (this.model.legacy) for (const cp of rebuildDeltaPages(this.source, this.model.legacy)) for (const [pfn, page] of cp.pages) this.deltas.set(pfn, page);
    }
    return this.deltas;
  }

  /** PV: the machine frame (on the saving host) a pfn mapped to, from the p2m the stream carries. */
  mfnOf(pfn: number): number | undefined {
    const p2m = this.p2mFrames();
    if (!p2m) return undefined;
    const index = pfn - p2m.firstPfn;
    const frame = p2m.frames[Math.floor(index / p2m.perFrame)];
    if (index < 0 || frame === undefined) return undefined;
    const entry = new XenBytes(this.read(frame), true).ulong((index % p2m.perFrame) * p2m.width, p2m.width);
    const invalid = p2m.width === 8 ? entry >= 2 ** 64 - 1 : entry === 0xffffffff;
    return invalid ? undefined : entry;
  }

  /** PV: the pfns of the frames holding the p2m table. */
  p2mFrames(): { frames: number[]; perFrame: number; width: 4 | 8; firstPfn: number } | undefined {
    if (this.p2m || !this.isPv) return this.p2m;
    const width = this.model.domain.guestWidth ?? 8;
    const perFrame = XEN_PAGE_SIZE / width;
    const legacy = this.model.legacy;
    if (legacy?.p2mFrameList) {
      const list = XenBytes.at(this.source, legacy.p2mFrameList.offset, legacy.p2mFrameList.length, true);
      const frames = Array.from({ length: legacy.p2mFrameList.count }, (_, k) => list.ulong(k * legacy.width, legacy.width));
      return (this.p2m = { frames, perFrame, width, firstPfn: 0 });
    }
    const rec = this.model.records.find((r) => r.layer === 'libxc' && r.type === LibxcRecord.X86_PV_P2M_FRAMES && r.bodyLength >= 8 && !r.truncated);
    if (!rec) return undefined;
    const body = XenBytes.at(this.source, rec.offset + RECORD_HEADER_BYTES, rec.bodyLength, this.model.littleEndian);
    const frames = Array.from({ length: (rec.bodyLength - 8) / 8 }, (_, k) => body.u64(8 + 8 * k));
    return (this.p2m = { frames, perFrame, width, firstPfn: body.u32(0) - (body.u32(0) % perFrame) });
  }
}

function stateOf(type: number, dataOffset: number): PageState {
  if (type === PFINFO_XTAB) return 'invalid';
  if (type === PFINFO_BROKEN) return 'broken';
  if (type === PFINFO_XALLOC) return 'zero';
  return dataOffset === NO_DATA ? 'unreadable' : 'data';
}

export function pageTypeName(type: number | undefined): string {
  return type === undefined ? '—' : PFINFO_NAMES[type] ?? `type 0x${type.toString(16)}`;
}

export const PAGE_STATE_LABELS: Readonly<Record<PageState, string>> = {
  data: 'page data',
  zero: 'allocated, no data sent (XALLOC: reads as zero)',
  invalid: 'invalid (XTAB: not in the guest\'s p2m)',
  broken: 'broken page (BROKEN)',
  'never-sent': 'never sent',
  unreadable: 'cut off by the end of the file',
};
