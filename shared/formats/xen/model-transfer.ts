import type { XenStreamModel } from './model';
import { XenPageIndex, type PageIndexTransfer } from './page-index';

/** A XenStreamModel as plain data (structured-clone safe), for the open worker to hand back. */
export type XenModelTransfer = Omit<XenStreamModel, 'pages'> & { pages: PageIndexTransfer };

export function exportXenModel(model: XenStreamModel): XenModelTransfer {
  return { ...model, pages: model.pages.toTransfer() };
}

export function importXenModel(t: XenModelTransfer): XenStreamModel {
  return { ...t, pages: XenPageIndex.fromTransfer(t.pages) };
}
