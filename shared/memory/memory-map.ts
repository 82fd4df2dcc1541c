import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { blockExtents, type Extent, type ExtentKind } from './guest-memory';
import type { MachineLayout } from './layout';
import { PAGE_STATE_CODES, type MemoryMap, type MemoryMapRow, type PageState, type PageStateCounts } from '../api/memory-map';

const STATE_OF: Readonly<Record<ExtentKind, PageState>> = { page: 'present', mapped: 'present', compress: 'compressed', xbzrle: 'xbzrle', zero: 'zero', 'never-sent': 'never-sent' };

const emptyCounts = (): PageStateCounts => ({ present: 0, compressed: 0, xbzrle: 0, zero: 0, 'never-sent': 0 });

/** The final state of a page of `extent`. A ZERO record with a fill byte is data, not zeros. */
export function pageStateOf(extent: Extent): PageState {
  return extent.kind === 'zero' && extent.fill !== 0 ? 'present' : STATE_OF[extent.kind];
}

/**
 * The guest's memory map, for the app's memory map and the memory view: the
 * guest-physical regions in address order with the holes between them, every block the
 * machine does not map, and for each its pages' final state drawn as a row of cells
 * (with `cellsPerRow` cells per row, at most one per page).
 */
export function memoryMap(model: QemuStreamModel, layout: MachineLayout | undefined, cellsPerRow = 128): MemoryMap {
  const ps = model.pageSize;
  const extentsOf = new Map<number, Extent[]>();
  const extents = (block: number) => extentsOf.get(block) ?? extentsOf.set(block, blockExtents(model, block)).get(block)!;
  const row = (block: number, blockOffset: number, size: number) => summarise(extents(block), Math.floor(blockOffset / ps), Math.ceil(size / ps), cellsPerRow);
  const rows: MemoryMapRow[] = [];
  const blocks = model.ramBlocks.map((b) => ({ id: b.id, size: b.usedLength }));
  if (!layout) {
    model.ramBlocks.forEach((b, i) => rows.push({ kind: 'unmapped-block', gpa: null, size: b.usedLength, block: b.id, blockOffset: 0, why: 'the guest-physical layout of this machine type is not known', ...row(i, 0, b.usedLength) }));
    return { pageSize: ps, rule: `no guest-physical layout is known for machine type ${model.machineType ?? '(none)'}; blocks are shown by their own offsets`, hasLayout: false, end: 0, rows, blocks };
  }
  let at = 0;
  for (const r of layout.regions) {
    if (r.gpa > at) rows.push({ kind: 'hole', gpa: at, size: r.gpa - at, why: holeReason(at, r.gpa) });
    rows.push({ kind: 'region', gpa: r.gpa, size: r.size, block: r.blockId, blockOffset: r.blockOffset, readOnly: r.readOnly, why: r.why, ...row(r.block, r.blockOffset, r.size) });
    at = Math.max(at, r.gpa + r.size);
  }
  for (const u of layout.unmapped) {
    const size = model.ramBlocks[u.block].usedLength;
    rows.push({ kind: 'unmapped-block', gpa: null, size, block: u.blockId, blockOffset: 0, why: u.reason, ...row(u.block, 0, size) });
  }
  return { pageSize: ps, rule: layout.rule, hasLayout: true, end: at, rows, blocks };
}

/** What the guest finds in a gap between mapped regions (x86 names the well-known ones). */
function holeReason(from: number, to: number): string {
  if (from === 0xa0000 && to <= 0xc0000) return 'legacy VGA window (MMIO, not RAM)';
  if (from >= 0x1_0000_0000 || to <= 0x1_0000_0000) return 'nothing mapped: MMIO or unused address space';
  return 'PCI hole and MMIO below 4 GiB';
}

/** Page counts by state and the cells of `pages` pages from `firstPage` of a block. */
function summarise(extents: Extent[], firstPage: number, pages: number, cellsPerRow: number): { pages: PageStateCounts; cells: string } {
  const counts = emptyCounts();
  const cells = Math.max(1, Math.min(cellsPerRow, pages));
  const perCell = Array.from({ length: cells }, emptyCounts);
  const end = firstPage + pages;
  for (const e of extents) {
    const from = Math.max(firstPage, e.firstPage);
    const to = Math.min(end, e.firstPage + e.pages);
    if (to <= from) continue;
    const state = pageStateOf(e);
    counts[state] += to - from;
    // Spread the extent over the cells it covers.
    for (let p = from; p < to; ) {
      const cell = Math.min(cells - 1, Math.floor(((p - firstPage) * cells) / pages));
      const cellEnd = firstPage + Math.ceil(((cell + 1) * pages) / cells);
      const n = Math.min(to, cellEnd) - p;
      perCell[cell][state] += Math.max(1, n);
      p += Math.max(1, n);
    }
  }
  const text = perCell.map((c) => PAGE_STATE_CODES[dominant(c)]).join('');
  return { pages: counts, cells: text };
}

/** The state most pages of a cell are in; on a tie, data before zeros before nothing. */
function dominant(c: PageStateCounts): PageState {
  let best: PageState = 'never-sent';
  for (const s of ['zero', 'xbzrle', 'compressed', 'present'] as const) if (c[s] > 0 && c[s] >= c[best]) best = s;
  return best;
}
