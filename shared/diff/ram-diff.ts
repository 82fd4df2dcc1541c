import { blockExtents, blockPageCount, isZeroExtent, pageDataOffset, readExtentPages, type Extent } from '../memory/guest-memory';
import { guestAddressesOf, machineLayout, type MachineLayout } from '../memory/layout';
import { pciConfigSpaces } from '../memory/pci-config';
import { toHex } from '../io/bytes';
import { placeOffset, type DiffOptions, type DiffSide } from './diff-side';
import { isPlain, type BlockPageHashes } from './page-hashes';
import { type PageByteDifference, type RamBlockDifference, type RamDiff, type RamDifferenceRun, type RecordKind } from '../api/image-diff';

/** Bytes of guest memory read at once from each side: memory stays bounded for any guest size. */
const CHUNK_BYTES = 4 << 20;
const DEFAULT_MAX_RUNS = 100_000;
/** Byte ranges shown per page with `pageBytes`, and bytes per range. */
const MAX_BYTE_RANGES = 16;
const MAX_RANGE_BYTES = 32;

/**
 * Compares the guest RAM two images would leave in a destination, page by page, through
 * each image's page index: pages whose final records are ZERO or never sent on both sides
 * are compared without reading anything; plain pages both sides hashed during their scans
 * (DiffSide.pageHashes) are compared by hash; the others are read in bounded chunks from
 * both streams and compared in place. Blocks are matched by RAMBlock idstr.
 */
export function diffRam(a: DiffSide, b: DiffSide, options: DiffOptions = {}): RamDiff {
  const ps = a.model.pageSize;
  const layoutA = layoutOf(a);
  const layoutB = layoutOf(b);
  const maxRuns = options.maxRuns ?? DEFAULT_MAX_RUNS;
  const runs: RamDifferenceRun[] = [];
  let runsOmitted = 0;
  const problems: string[] = [];
  const blocks: RamBlockDifference[] = [];
  if (b.model.pageSize !== ps) {
    return { pageSize: ps, blocks, runs, runsOmitted, problems: [`the page sizes differ (${ps} and ${b.model.pageSize}), so RAM is not compared page by page`] };
  }
  const ids = [...new Set([...a.model.ramBlocks.map((r) => r.id), ...b.model.ramBlocks.map((r) => r.id)])];
  const total = ids.reduce((n, id) => {
    const ia = a.model.ramBlocks.findIndex((r) => r.id === id);
    const ib = b.model.ramBlocks.findIndex((r) => r.id === id);
    return n + (ia >= 0 && ib >= 0 ? Math.min(blockPageCount(a.model, ia), blockPageCount(b.model, ib)) : 0);
  }, 0);
  let done = 0;
  const chunkPages = Math.max(1, Math.floor(CHUNK_BYTES / ps));
  const bufA = new Uint8Array(chunkPages * ps);
  const bufB = new Uint8Array(chunkPages * ps);
  const wordsA = new Int32Array(bufA.buffer);
  const wordsB = new Int32Array(bufB.buffer);
  const scratchA = { buf: new Uint8Array(0) };
  const scratchB = { buf: new Uint8Array(0) };
  const wordsPerPage = ps >> 2;

  for (const id of ids) {
    const ia = a.model.ramBlocks.findIndex((r) => r.id === id);
    const ib = b.model.ramBlocks.findIndex((r) => r.id === id);
    const pagesA = ia >= 0 ? blockPageCount(a.model, ia) : 0;
    const pagesB = ib >= 0 ? blockPageCount(b.model, ib) : 0;
    const common = Math.min(pagesA, pagesB);
    const facts: RamBlockDifference = {
      block: id,
      ...(ia >= 0 ? { sizeA: a.model.ramBlocks[ia].usedLength } : {}),
      ...(ib >= 0 ? { sizeB: b.model.ramBlocks[ib].usedLength } : {}),
      pagesCompared: common,
      pagesDiffering: 0,
      pagesReframed: 0,
      pagesOnlyA: pagesA - common,
      pagesOnlyB: pagesB - common,
    };
    blocks.push(facts);
    const hashesA = a.pageHashes?.of(id);
    const hashesB = b.pageHashes?.of(id);
    const extA = ia >= 0 ? blockExtents(a.model, ia) : [];
    const extB = ib >= 0 ? blockExtents(b.model, ib) : [];
    // Where a block is larger on one side, only that side's memory map places its tail.
    const gpaOf = (offset: number): number | undefined =>
      (layoutA && ia >= 0 ? guestAddressesOf(layoutA, ia, offset)[0] : undefined) ?? (layoutB && ib >= 0 ? guestAddressesOf(layoutB, ib, offset)[0] : undefined);
    let open: RamDifferenceRun | undefined;
    const close = () => {
      if (!open) return;
      if (runs.length < maxRuns) runs.push(open);
      else runsOmitted++;
      open = undefined;
    };
    const differing = (page: number, count: number, ea: Extent | undefined, eb: Extent | undefined, bytes?: () => PageByteDifference[]) => {
      const recordA: RecordKind = ea ? ea.kind : 'absent';
      const recordB: RecordKind = eb ? eb.kind : 'absent';
      const offset = page * ps;
      const gpa = gpaOf(offset);
      if (
        open &&
        open.blockOffset + open.pages * ps === offset &&
        open.recordA === recordA &&
        open.recordB === recordB &&
        (open.gpa === undefined ? gpa === undefined : gpa === open.gpa + open.pages * ps)
      ) {
        open.pages += count;
        return;
      }
      close();
      const dataA = ea && pageDataOffset(a.model, ea, page);
      const dataB = eb && pageDataOffset(b.model, eb, page);
      open = {
        block: id,
        blockOffset: offset,
        pages: count,
        ...(gpa === undefined ? {} : { gpa }),
        recordA,
        recordB,
        ...(dataA === undefined ? {} : { offsetA: placeOffset(a, dataA) }),
        ...(dataB === undefined ? {} : { offsetB: placeOffset(b, dataB) }),
        ...(bytes ? { bytes: bytes() } : {}),
      };
    };

    let ka = 0;
    let kb = 0;
    for (let page = 0; page < common; ) {
      while (extA[ka].firstPage + extA[ka].pages <= page) ka++;
      while (extB[kb].firstPage + extB[kb].pages <= page) kb++;
      const ea = extA[ka];
      const eb = extB[kb];
      const end = Math.min(ea.firstPage + ea.pages, eb.firstPage + eb.pages, common);
      const reframed = ea.kind !== eb.kind;
      if (zeroLike(ea) && zeroLike(eb)) {
        // Both read as one fill byte: equal or not without reading a byte.
        if (ea.fill === eb.fill) {
          if (reframed) facts.pagesReframed += end - page;
        } else {
          facts.pagesDiffering += end - page;
          differing(page, end - page, ea, eb, options.pageBytes ? () => byteRanges(new Uint8Array(ps).fill(ea.fill), new Uint8Array(ps).fill(eb.fill)) : undefined);
        }
        done += end - page;
        page = end;
        continue;
      }
      for (; page < end; ) {
        if (options.cancelled?.()) throw new Error('the diff was cancelled');
        const count = Math.min(chunkPages, end - page);
        if (hashesA && hashesB && isPlain(ea) && isPlain(eb) && hashedAll(hashesA, page, count) && hashedAll(hashesB, page, count)) {
          // Both pages' hashes were taken while the images were scanned: compared without reading.
          for (let p = page; p < page + count; p++) {
            if (hashesA.hashes[2 * p] === hashesB.hashes[2 * p] && hashesA.hashes[2 * p + 1] === hashesB.hashes[2 * p + 1]) {
              if (reframed) facts.pagesReframed++;
              continue;
            }
            facts.pagesDiffering++;
            differing(p, 1, ea, eb, options.pageBytes ? () => byteRanges(onePage(a, ia, ea, p, bufA, scratchA), onePage(b, ib, eb, p, bufB, scratchB)) : undefined);
          }
          page += count;
          done += count;
          options.onProgress?.(done, total);
          continue;
        }
        problems.push(...readExtentPages(a.source, a.model, ia, ea, page, count, bufA, scratchA).map((p) => `A ${id}: ${p}`));
        problems.push(...readExtentPages(b.source, b.model, ib, eb, page, count, bufB, scratchB).map((p) => `B ${id}: ${p}`));
        for (let i = 0; i < count; i++) {
          if (samePage(wordsA, wordsB, i * wordsPerPage, wordsPerPage)) {
            if (reframed) facts.pagesReframed++;
            continue;
          }
          facts.pagesDiffering++;
          const at = i * ps;
          differing(page + i, 1, ea, eb, options.pageBytes ? () => byteRanges(bufA.subarray(at, at + ps), bufB.subarray(at, at + ps)) : undefined);
        }
        page += count;
        done += count;
        options.onProgress?.(done, total);
      }
    }
    // Pages only the larger block has.
    const [longer, side] = pagesA > pagesB ? [extA, 'A'] : [extB, 'B'];
    for (const e of longer) {
      const start = Math.max(e.firstPage, common);
      const end = e.firstPage + e.pages;
      if (end <= start) continue;
      differing(start, end - start, side === 'A' ? e : undefined, side === 'B' ? e : undefined);
    }
    close();
  }
  runs.sort((x, y) => (x.gpa ?? Infinity) - (y.gpa ?? Infinity) || ids.indexOf(x.block) - ids.indexOf(y.block) || x.blockOffset - y.blockOffset);
  return { pageSize: ps, blocks, runs, runsOmitted, problems };
}

function hashedAll(h: BlockPageHashes, from: number, count: number): boolean {
  for (let p = from; p < from + count; p++) if (!h.present[p]) return false;
  return true;
}

/** One page of an extent, read into the start of `buf` (for the bytes of a run found by hash). */
function onePage(side: DiffSide, block: number, e: Extent, page: number, buf: Uint8Array, scratch: { buf: Uint8Array }): Uint8Array {
  readExtentPages(side.source, side.model, block, e, page, 1, buf, scratch);
  return buf.subarray(0, side.model.pageSize);
}

function zeroLike(e: Extent): boolean {
  return isZeroExtent(e) || e.kind === 'zero';
}

function samePage(x: Int32Array, y: Int32Array, from: number, words: number): boolean {
  for (let i = from, end = from + words; i < end; i++) if (x[i] !== y[i]) return false;
  return true;
}

function layoutOf(side: DiffSide): MachineLayout | undefined {
  try {
    return machineLayout(side.model, { pciConfig: pciConfigSpaces(side.source, side.model) });
  } catch {
    // A damaged device section can make the memory map unknowable; RAM is then listed by block offset.
    return undefined;
  }
}

/** The byte ranges where two pages differ (ranges closer than 8 bytes merged), at most MAX_BYTE_RANGES. */
export function byteRanges(x: Uint8Array, y: Uint8Array): PageByteDifference[] {
  const out: PageByteDifference[] = [];
  for (let i = 0; i < x.length && out.length < MAX_BYTE_RANGES; ) {
    if (x[i] === y[i]) {
      i++;
      continue;
    }
    let end = i + 1;
    for (let gap = 0; end < x.length && gap < 8; end++) gap = x[end] === y[end] ? gap + 1 : 0;
    while (end > i + 1 && x[end - 1] === y[end - 1]) end--;
    const take = Math.min(end, i + MAX_RANGE_BYTES);
    out.push({ offset: i, a: toHex(x.subarray(i, take)) + (take < end ? '…' : ''), b: toHex(y.subarray(i, take)) + (take < end ? '…' : '') });
    i = end;
  }
  return out;
}
