import { blockExtents, pageFacts, type ExtentKind } from '../../shared/memory/guest-memory';
import type { MachineLayout } from '../../shared/memory/layout';
import { PAGE_KIND_NAMES } from '../../shared/formats/qemu-stream/page-index';
import type { OpenedImage } from '../services/open-image';
import { layoutOf } from './guest-view';

export interface RamBlockInfo {
  index: number;
  id: string;
  size: number;
  pages: number;
  /** Guest-physical placement, where the machine type defines one. */
  gpaRanges: { gpa: number; size: number; blockOffset: number; readOnly: boolean; why: string }[];
  /** Why the block has no guest-physical address, when it has none. */
  unmappedReason?: string;
  /** Final state of each page: the kind of its last record, or never sent. */
  finalPages: Record<ExtentKind, number>;
  /** Records in the stream per kind (a page sent twice counts twice). */
  records: Record<string, number>;
}

export interface RamReport {
  pageSize: number;
  machineType?: string;
  layout?: { family: string; rule: string };
  blocks: RamBlockInfo[];
}

/** Every RAM block with its placement and page facts: what `migwb ram` shows. */
export function ramReport(img: OpenedImage, layout: MachineLayout | undefined = layoutOf(img)): RamReport {
  const model = img.model;
  const records = model.ramBlocks.map(() => ({}) as Record<string, number>);
  for (const run of model.pages.runs()) {
    const r = records[run.block];
    if (r) r[PAGE_KIND_NAMES[run.kind]] = (r[PAGE_KIND_NAMES[run.kind]] ?? 0) + run.count;
  }
  return {
    pageSize: model.pageSize,
    machineType: model.machineType,
    layout: layout && { family: layout.family, rule: layout.rule },
    blocks: model.ramBlocks.map((b, i) => ({
      index: i,
      id: b.id,
      size: b.usedLength,
      pages: Math.ceil(b.usedLength / model.pageSize),
      gpaRanges: (layout?.regions ?? []).filter((r) => r.block === i).map((r) => ({ gpa: r.gpa, size: r.size, blockOffset: r.blockOffset, readOnly: r.readOnly, why: r.why })),
      unmappedReason: layout?.unmapped.find((u) => u.block === i)?.reason,
      finalPages: pageFacts(blockExtents(model, i)),
      records: records[i],
    })),
  };
}
