import * as fs from 'node:fs';
import * as path from 'node:path';
import { elfCoreHeader } from '../../../shared/memory/elf-core';
import { XEN_PAGE_SIZE } from '../../../shared/formats/xen/constants';
import { XenGuestMemory, type PfnRange } from '../../../shared/formats/xen/guest-memory';
import type { XenStreamModel } from '../../../shared/formats/xen/model';
import type { ByteSource } from '../../../shared/io/byte-source';
import { syncFolder, writeAll, writeFileAtomic } from '../../io/atomic-file';
import { checkOutputs } from '../../io/output-paths';
import { compilePattern, type SearchPattern } from '../../memory/pattern';
import type { SearchResult } from '../../memory/search';
import { UserError as OpenError } from '../../services/user-error';
import { XenSession } from './xen-session';
import { UserError } from '../../services/user-error';

/** Pages read at once: bounded memory for any guest. */
const CHUNK_PAGES = 2048;

export interface XenSearchHit {
  pfn: number;
  /** Guest-physical (HVM) or pseudo-physical (PV) address of the first matched byte. */
  address: number;
  /** Where that byte is stored in the file (absent for rebuilt Remus pages). */
  fileOffset?: number;
  length: number;
  /** The page's XEN_DOMCTL_PFINFO type. */
  type?: number;
  match: string;
}

/**
 * Searches the guest's final memory, pfn by pfn in stretches of contiguous pages: a match
 * spanning two pages is found when the pages are contiguous pfns. Pages without data (never
 * sent, XTAB, XALLOC) read as zero and are searched only if the pattern can match zeros.
 */
export function searchXen(source: ByteSource, model: XenStreamModel, pattern: SearchPattern, options: { range?: { start: number; end: number }; maxHits?: number } = {}): { hits: XenSearchHit[]; truncated: boolean; scannedBytes: number } {
  const matcher = compilePattern(pattern);
  const memory = new XenGuestMemory(source, model);
  const hits: XenSearchHit[] = [];
  const max = options.maxHits ?? 1000;
  let truncated = false;
  let scanned = 0;
  const keep = matcher.overlap;
  for (const stretch of stretches(memory.ranges().filter((r) => r.state === 'data'))) {
    let carry = Buffer.alloc(0);
    let carryAt = 0;
    for (let pfn = stretch.first; pfn < stretch.end && !truncated; pfn += CHUNK_PAGES) {
      const n = Math.min(CHUNK_PAGES, stretch.end - pfn);
      const start = pfn * XEN_PAGE_SIZE;
      if (options.range && (start + n * XEN_PAGE_SIZE <= options.range.start || start >= options.range.end)) {
        carry = Buffer.alloc(0);
        continue;
      }
      const chunk = Buffer.alloc(n * XEN_PAGE_SIZE);
      for (let k = 0; k < n; k++) chunk.set(memory.read(pfn + k), k * XEN_PAGE_SIZE);
      scanned += chunk.length;
      // The previous chunk's last bytes go first, for matches that span the two.
      const joined = carry.length > 0 && carryAt + carry.length === start;
      const window = joined ? Buffer.concat([carry, chunk]) : chunk;
      const windowAt = joined ? carryAt : start;
      const before = joined ? carry.length : 0;
      matcher.find(window, 0, (i, length) => {
        const address = windowAt + i;
        if (i + length <= before) return true; // wholly in the previous chunk: reported with it
        if (options.range && (address < options.range.start || address + length > options.range.end)) return true;
        if (hits.length >= max) {
          truncated = true;
          return false;
        }
        const p = Math.floor(address / XEN_PAGE_SIZE);
        const page = memory.page(p);
        hits.push({ pfn: p, address, fileOffset: page.offset !== undefined ? page.offset + (address - p * XEN_PAGE_SIZE) : undefined, length, type: page.type, match: window.subarray(i, i + Math.min(length, 64)).toString('hex') });
        return true;
      });
      carry = chunk.subarray(Math.max(0, chunk.length - keep));
      carryAt = start + chunk.length - carry.length;
    }
  }
  return { hits, truncated, scannedBytes: scanned };
}

/** Consecutive pfn ranges merged into stretches of contiguous pfns. */
function stretches(ranges: PfnRange[]): { first: number; end: number }[] {
  const out: { first: number; end: number }[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && last.end === r.firstPfn) last.end += r.count;
    else out.push({ first: r.firstPfn, end: r.firstPfn + r.count });
  }
  return out;
}

export interface XenExtractResult {
  files: { path: string; size: number; dataBytes: number }[];
  map: string;
  pages: number;
}

/**
 * Writes the guest's memory as one file: raw (file offset = pfn × 4096, a sparse file where
 * pages have no data) or an ELF core (HVM: one PT_LOAD per stretch of pfns with data, at its
 * guest-physical address), and ram-map.json beside it: every pfn range with its state, type,
 * record and file offset, plus the PV p2m where the stream carries it.
 */
export function extractXen(source: ByteSource, model: XenStreamModel, outDir: string, options: { format: 'raw' | 'elf'; force?: boolean; image: string }): XenExtractResult {
  const memory = new XenGuestMemory(source, model);
  const ranges = memory.ranges();
  const data = ranges.filter((r) => r.state === 'data');
  fs.mkdirSync(outDir, { recursive: true });
  const name = options.format === 'elf' ? 'memory.elf' : model.domain.type === 'pv' ? 'pseudo-physical.raw' : 'physical.raw';
  const target = path.join(outDir, name);
  const mapPath = path.join(outDir, 'ram-map.json');
  checkOutputs([{ path: options.image, role: 'the image' }], [{ path: target, role: '--out' }, { path: mapPath, role: '--out' }]);
  for (const p of [target, mapPath]) if (fs.existsSync(p) && !options.force) throw new UserError(`${p} exists; give --force to replace it`);
  const regions = stretches(data).map((s) => ({ gpa: s.first * XEN_PAGE_SIZE, size: (s.end - s.first) * XEN_PAGE_SIZE, readOnly: false }));
  const elf = options.format === 'elf' ? elfCoreHeader({ class: 64, machine: 62, bigEndian: false }, regions) : undefined;
  let dataBytes = 0;
  const size = elf ? elf.fileSize : Math.max(...regions.map((r) => r.gpa + r.size), 0);
  writeFileAtomic(target, (fd) => {
    if (elf) writeAll(fd, elf.bytes);
    regions.forEach((region, i) => {
      const firstPfn = region.gpa / XEN_PAGE_SIZE;
      const count = region.size / XEN_PAGE_SIZE;
      const base = elf ? elf.dataOffsets[i] - region.gpa : 0;
      for (let k = 0; k < count; k += CHUNK_PAGES) {
        const n = Math.min(CHUNK_PAGES, count - k);
        const buf = Buffer.alloc(n * XEN_PAGE_SIZE);
        for (let j = 0; j < n; j++) buf.set(memory.read(firstPfn + k + j), j * XEN_PAGE_SIZE);
        const at = base + (firstPfn + k) * XEN_PAGE_SIZE;
        for (let done = 0; done < buf.length; ) done += fs.writeSync(fd, buf, done, buf.length - done, at + done);
        dataBytes += buf.length;
      }
    });
    // Pages never written stay holes: the file is sparse where the guest has no data.
    fs.ftruncateSync(fd, size);
  });
  const p2m = memory.p2mFrames();
  const map = {
    format: 'migwb-xen-ram-map',
    guest: model.domain.type,
    addressing: model.domain.type === 'pv' ? 'pseudo-physical (pfn × 4096)' : 'guest-physical (pfn × 4096)',
    file: name,
    fileFormat: options.format,
    ranges: ranges.map((r) => ({ firstPfn: r.firstPfn, count: r.count, address: r.firstPfn * XEN_PAGE_SIZE, state: r.state, type: r.type, record: r.record, fileOffset: r.offset ?? null })),
    ...(p2m ? { p2m: { framePfns: p2m.frames, entriesPerFrame: p2m.perFrame, firstPfn: p2m.firstPfn } } : {}),
  };
  fs.writeFileSync(mapPath, JSON.stringify(map, null, 2) + '\n');
  syncFolder(outDir);
  return { files: [{ path: target, size, dataBytes }], map: mapPath, pages: dataBytes / XEN_PAGE_SIZE };
}

/** `migwb search` of a Xen stream, in the shape of the QEMU search's results (pfn for the block, the offset in the page). */
export function searchXenImage(path: string, pattern: SearchPattern, options: { gpaRange?: { start: number; end: number }; maxHits?: number }): SearchResult {
  let session: XenSession;
  try {
    session = XenSession.open(path);
  } catch (e) {
    if (!(e instanceof OpenError)) throw e;
    return { image: path, hits: [], truncated: false, scannedBytes: 0, error: e.message };
  }
  try {
    const model = session.model();
    const r = searchXen(session.view, model, pattern, { range: options.gpaRange, maxHits: options.maxHits });
    const hvm = model.domain.type === 'hvm';
    return {
      image: path,
      hits: r.hits.map((h) => ({
        ...(hvm ? { gpa: h.address } : {}),
        block: `pfn 0x${h.pfn.toString(16)}`,
        blockOffset: h.address - h.pfn * XEN_PAGE_SIZE,
        length: h.length,
        kind: 'page' as const,
        fileOffset: h.fileOffset,
        offsetSpace: 'file' as const,
        match: h.match,
        // (No context bytes around a Xen hit yet: the preview is the match itself.)
        preview: { blockOffset: h.address - h.pfn * XEN_PAGE_SIZE, hex: h.match },
      })),
      truncated: r.truncated,
      scannedBytes: r.scannedBytes,
    };
  } finally {
    session.close();
  }
}
