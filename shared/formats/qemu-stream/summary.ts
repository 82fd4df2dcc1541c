import { countBySeverity, type Severity } from '../../diagnostics';
import { placeElement, placeRamBlock, type OffsetPlacer, type QemuStreamModel, type RamBlock, type StreamElement } from './model';
import { PAGE_KIND_NAMES } from './page-index';
import { groupDigits } from '../../util/size';

export interface RamBlockSummary extends RamBlock {
  pages: number;
  /** Distinct pages with at least one record. */
  pagesPresent: number;
  /** Records per kind (a page sent twice counts twice). */
  records: Record<string, number>;
}

export interface StreamSummary {
  format: 'qemu-migration-stream';
  size: number;
  fileVersion: number;
  machineType?: string;
  pageSize: number;
  pageSizeSource: QemuStreamModel['pageSizeSource'];
  sectionFooters: boolean;
  capabilities: string[];
  ramBlocks: RamBlockSummary[];
  vmdesc?: { offset: number; jsonOffset: number; jsonLength: number; complete: boolean; devices: number };
  trailingBytes: number;
  mappedRamRegions?: { block: string; bitmapOffset: number; bitmapLength: number; pagesOffset: number; pagesRegionLength: number; pagesPresent: number }[];
  elements: StreamElement[];
  diagnostics: Record<Severity, number>;
}

/**
 * The summary `migwb info` prints and the library stores. Its stream offsets are placed by
 * `at` (OffsetMap.listed: file offsets where the file holds the whole stream); by default
 * they stay stream offsets.
 */
export function summarizeStream(model: QemuStreamModel, at: OffsetPlacer = (o) => o): StreamSummary {
  const blocks: RamBlockSummary[] = model.ramBlocks.map((b) => ({
    ...placeRamBlock(b, at),
    pages: Math.ceil(b.usedLength / model.pageSize),
    pagesPresent: 0,
    records: {},
  }));
  for (const run of model.pages.runs()) {
    const r = blocks[run.block]?.records;
    if (!r) continue;
    const kind = PAGE_KIND_NAMES[run.kind];
    r[kind] = (r[kind] ?? 0) + run.count;
  }
  blocks.forEach((b, i) => (b.pagesPresent = model.pages.presentPages(i, b.pages)));
  const mapped = model.ramBlocks.filter((b) => b.mappedRam);
  return {
    format: model.format,
    size: model.size,
    fileVersion: model.fileVersion,
    machineType: model.machineType,
    pageSize: model.pageSize,
    pageSizeSource: model.pageSizeSource,
    sectionFooters: model.sectionFooters,
    capabilities: model.capabilities,
    ramBlocks: blocks,
    vmdesc: model.vmdescLocation && { ...model.vmdescLocation, offset: at(model.vmdescLocation.offset), jsonOffset: at(model.vmdescLocation.jsonOffset), devices: model.vmdesc?.devices.length ?? 0 },
    trailingBytes: model.trailing?.length ?? 0,
    mappedRamRegions: mapped.length
      ? mapped.map((b) => ({
          block: b.id,
          bitmapOffset: at(b.mappedRam!.bitmapOffset),
          bitmapLength: b.mappedRam!.bitmapLength,
          pagesOffset: at(b.mappedRam!.pagesOffset),
          pagesRegionLength: b.usedLength,
          pagesPresent: b.mappedRam!.pagesPresent,
        }))
      : undefined,
    elements: model.elements.map((e) => placeElement(e, at)),
    diagnostics: countBySeverity(model.diagnostics),
  };
}

/** RAM blocks with pages the stream never sent (mapped-ram blocks excepted: absent pages are zero by design). */
export function pagesNotSent(model: Pick<QemuStreamModel, 'ramBlocks' | 'pages' | 'pageSize'>): { id: string; pages: number; missing: number }[] {
  return model.ramBlocks
    .map((b, i) => {
      const pages = Math.ceil(b.usedLength / model.pageSize);
      return { id: b.id, pages, missing: b.mappedRam ? 0 : pages - model.pages.presentPages(i, pages) };
    })
    .filter((b) => b.missing > 0);
}

/** "15,916 of 16,384 pages of pc.ram" */
export function describeNotSent(b: { id: string; pages: number; missing: number }): string {
  return `${groupDigits(b.missing)} of ${groupDigits(b.pages)} pages of ${b.id}`;
}
