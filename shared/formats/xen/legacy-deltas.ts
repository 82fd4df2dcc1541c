import { readBytes, type ByteSource } from '../../io/byte-source';
import { PFINFO_BROKEN, XEN_PAGE_SIZE } from './constants';
import type { LegacyModel } from './legacy-model';
import { LEGACY_XTAB_FILLER, legacyEntry } from './parse-legacy';
import { XenBytes } from './wire';

/**
 * Remus checkpoint compression (xen.git tools/libxc/xc_compression.c, Xen 4.2-4.5): after
 * ENABLE_COMPRESSION, page batches carry only pfns and the pages travel in COMPRESSED_DATA
 * chunks as deltas against the receiver's copy of each page. A delta is EMPTY_PAGE (0x00:
 * unchanged), FULL_PAGE (0x80 then 4096 bytes), or runs: a marker byte with bit 7 set skips
 * (marker & 0x7f) 32-bit words, clear copies that many words from the stream. The compressed
 * chunks of one body form one buffer, consumed in the order of the body's pfns (XTAB, XALLOC
 * and BROKEN entries take no page), as xc_domain_restore's apply_batch does.
 *
 * Rebuilding a page needs its previous content, so the bodies are replayed in stream order
 * keeping only the pages compressed chunks touch: memory grows with the Remus dirty set, not
 * with the guest.
 */
const EMPTY_PAGE = 0x00;
const FULL_PAGE = 0x80;
const SKIP = 0x80;
const LENGTH = 0x7f;

export interface DeltaProblem {
  offset: number;
  message: string;
}

export interface RebuiltCheckpoint {
  /** pfn → its content after this checkpoint's body, for every pfn a compressed chunk of the body updated. */
  pages: Map<number, Uint8Array>;
  problems: DeltaProblem[];
}

/**
 * Replays every body of a legacy stream and returns, per checkpoint, the pages its compressed
 * chunks produced (empty maps for bodies without compression).
 */
export function rebuildDeltaPages(source: ByteSource, model: LegacyModel): RebuiltCheckpoint[] {
  const touched = compressedPfns(source, model);
  const current = new Map<number, Uint8Array>();
  const out: RebuiltCheckpoint[] = [];
  for (const cp of model.checkpoints) {
    const rebuilt: RebuiltCheckpoint = { pages: new Map(), problems: [] };
    const pfns: number[] = [];
    const buffers: { offset: number; bytes: Uint8Array }[] = [];
    for (const c of cp.chunks) {
      if (c.kind === 'pages') {
        // Plain pages: remember the new content of pages a later delta will build on.
        forEachEntry(source, model, c.offset + 4, c.entries ?? 0, (pfn, type, k) => {
          if (touched.has(pfn) && type < PFINFO_BROKEN) current.set(pfn, readBytes(source, c.offset + 4 + (c.entries ?? 0) * model.width + k * XEN_PAGE_SIZE, XEN_PAGE_SIZE));
        }, true);
      } else if (c.kind === 'pfns') {
        forEachEntry(source, model, c.offset + 4, c.entries ?? 0, (pfn, type) => {
          if (type < PFINFO_BROKEN) pfns.push(pfn);
        }, false);
      } else if (c.kind === 'compressed' && c.dataOffset !== undefined) {
        buffers.push({ offset: c.dataOffset, bytes: readBytes(source, c.dataOffset, c.dataLength ?? 0) });
      }
    }
    if (pfns.length) applyDeltas(pfns, buffers, current, rebuilt);
    out.push(rebuilt);
  }
  return out;
}

function applyDeltas(pfns: number[], buffers: { offset: number; bytes: Uint8Array }[], current: Map<number, Uint8Array>, rebuilt: RebuiltCheckpoint): void {
  const total = buffers.reduce((n, b) => n + b.bytes.length, 0);
  const buf = new Uint8Array(total);
  const starts: number[] = [];
  let fill = 0;
  for (const b of buffers) {
    starts.push(fill);
    buf.set(b.bytes, fill);
    fill += b.bytes.length;
  }
  const fileOffset = (pos: number): number => {
    let i = starts.length - 1;
    while (i > 0 && starts[i] > pos) i--;
    return (buffers[i]?.offset ?? 0) + pos - (starts[i] ?? 0);
  };
  let pos = 0;
  for (const pfn of pfns) {
    const page = new Uint8Array(current.get(pfn) ?? new Uint8Array(XEN_PAGE_SIZE));
    if (pos >= buf.length) {
      rebuilt.problems.push({ offset: fileOffset(Math.max(0, buf.length - 1)), message: `the compressed data ends before the page of pfn 0x${pfn.toString(16)}` });
      break;
    }
    const marker = buf[pos];
    if (marker === EMPTY_PAGE) pos++;
    else if (marker === FULL_PAGE) {
      if (pos + 1 + XEN_PAGE_SIZE > buf.length) {
        rebuilt.problems.push({ offset: fileOffset(pos), message: `a full page for pfn 0x${pfn.toString(16)} runs past the compressed data` });
        break;
      }
      page.set(buf.subarray(pos + 1, pos + 1 + XEN_PAGE_SIZE));
      pos += 1 + XEN_PAGE_SIZE;
    } else {
      let at = 0;
      let bad = false;
      while (at < XEN_PAGE_SIZE && pos < buf.length) {
        const m = buf[pos];
        const len = (m & LENGTH) * 4;
        if (!len || at + len > XEN_PAGE_SIZE || (!(m & SKIP) && pos + 1 + len > buf.length)) {
          bad = true;
          break;
        }
        pos++;
        if (!(m & SKIP)) {
          page.set(buf.subarray(pos, pos + len), at);
          pos += len;
        }
        at += len;
      }
      if (bad || at !== XEN_PAGE_SIZE) {
        rebuilt.problems.push({ offset: fileOffset(Math.min(pos, buf.length - 1)), message: `invalid delta for pfn 0x${pfn.toString(16)} (xc_compression_uncompress_page refuses it)` });
        break;
      }
    }
    current.set(pfn, page);
    rebuilt.pages.set(pfn, page);
  }
  if (pos < buf.length && !rebuilt.problems.length) rebuilt.problems.push({ offset: fileOffset(pos), message: `${buf.length - pos} bytes of compressed data left over after the body's ${pfns.length} pages` });
}

/** The pfns some compressed chunk updates (the pages whose content the replay must follow). */
function compressedPfns(source: ByteSource, model: LegacyModel): Set<number> {
  const out = new Set<number>();
  for (const cp of model.checkpoints) for (const c of cp.chunks) if (c.kind === 'pfns') forEachEntry(source, model, c.offset + 4, c.entries ?? 0, (pfn, type) => type < PFINFO_BROKEN && out.add(pfn), false);
  return out;
}

/** Visits a batch's pfn entries; `k` counts the entries that carry a page (when `counting`). */
function forEachEntry(source: ByteSource, model: LegacyModel, at: number, n: number, visit: (pfn: number, type: number, k: number) => void, counting: boolean): void {
  const list = XenBytes.at(source, at, n * model.width, true);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const e = list.ulong(i * model.width, model.width);
    if (e === LEGACY_XTAB_FILLER) continue;
    const { pfn, type } = legacyEntry(e, model.width);
    visit(pfn, type, k);
    if (counting && type < PFINFO_BROKEN) k++;
  }
}

