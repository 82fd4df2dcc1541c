import type { QemuStreamModel } from './model';
import { PageIndex, type PageIndexData } from './page-index';

/** A QemuStreamModel as structured-clone data (the page index as typed arrays). */
export type ModelTransfer = Omit<QemuStreamModel, 'pages'> & { pages: PageIndexData };

export function exportModel(model: QemuStreamModel): ModelTransfer {
  return { ...model, pages: model.pages.export() };
}

export function importModel(t: ModelTransfer): QemuStreamModel {
  return { ...t, pages: PageIndex.from(t.pages) };
}

/** The buffers to transfer (not copy) when posting a ModelTransfer. */
export function transferables(t: ModelTransfer): ArrayBuffer[] {
  const p = t.pages;
  return [p.block, p.firstPage, p.runLength, p.kind, p.dataOffset, p.stride, p.dataLength, p.fill, p.element].map((a) => a.buffer as ArrayBuffer);
}
