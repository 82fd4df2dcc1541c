import { MinimapCategory } from '../api/contract';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { PageKind } from '../formats/qemu-stream/page-index';

/**
 * One category per bucket of the stream for the minimap: section headers and device
 * state, RAM pages, zero-page runs, the vmdesc, trailing data and damaged ranges. Each
 * bucket shows the highest-priority category touching it, so a single damaged byte range
 * stays visible in a multi-gigabyte image. Cost: O(elements + runs + buckets).
 */
export function computeMinimap(model: QemuStreamModel, buckets: number): number[] {
  const { out, paint } = minimapPainter(model.size, buckets);
  paint(0, 8, MinimapCategory.HEADER);
  for (const e of model.elements) {
    if (e.type === 'VMDESCRIPTION') paint(e.offset, e.length, MinimapCategory.VMDESC);
    else if (e.type === 'FULL' || e.type === 'CONFIGURATION') paint(e.offset, e.length, MinimapCategory.DEVICE);
    else if (e.type === 'UNKNOWN') paint(e.offset, e.length, MinimapCategory.DAMAGED);
    else if (!e.pages) paint(e.offset, e.length, MinimapCategory.HEADER);
    if (e.damaged) paint(e.offset, Math.min(e.length, 1), MinimapCategory.DAMAGED);
  }
  for (const run of model.pages.runs()) {
    const end = run.dataOffset + (run.count - 1) * run.stride + run.dataLength;
    paint(run.dataOffset, end - run.dataOffset, run.kind === PageKind.ZERO ? MinimapCategory.RAM_ZERO : MinimapCategory.RAM_PAGE);
  }
  if (model.trailing) paint(model.trailing.offset, model.trailing.length, MinimapCategory.TRAILING);
  for (const d of model.diagnostics) if (d.severity === 'error') paint(d.offset, d.length ?? 1, MinimapCategory.DAMAGED);
  return out;
}

/** Buckets over `size` bytes, and a painter that raises every bucket a range touches to at least `category`. */
export function minimapPainter(size: number, buckets: number): { out: number[]; paint: (offset: number, length: number, category: MinimapCategory) => void } {
  const out = new Array<number>(buckets).fill(MinimapCategory.EMPTY);
  const total = Math.max(1, size);
  const paint = (offset: number, length: number, category: MinimapCategory): void => {
    if (length <= 0) return;
    const first = Math.floor((offset / total) * buckets);
    const last = Math.min(buckets - 1, Math.floor(((offset + length - 1) / total) * buckets));
    for (let b = Math.max(0, first); b <= last; b++) if (out[b] < category) out[b] = category;
  };
  return { out, paint };
}
