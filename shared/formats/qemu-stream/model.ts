import type { Diagnostic } from '../../diagnostics';
import type { ElementType } from './constants';
import type { PageIndex } from './page-index';
import type { Vmdesc } from './vmdesc';

/** How a FULL section's end was found. */
export type Delimiter = 'vmdesc' | 'footer-scan' | 'header-scan' | 'self';

export interface PageCounts {
  zero: number;
  page: number;
  xbzrle: number;
  compress: number;
  multifdFlush: number;
}

export interface MappedRamInfo {
  headerOffset: number;
  version: number;
  pageSize: number;
  bitmapOffset: number;
  bitmapLength: number;
  pagesOffset: number;
  pagesPresent: number;
}

export interface RamBlock {
  /** RAMBlock idstr, e.g. "pc.ram" or "0000:00:02.0/vga.vram". */
  id: string;
  usedLength: number;
  /** File offset of the block's entry in the MEM_SIZE list. */
  recordOffset: number;
  /** Postcopy host page size, when the stream carries one. */
  hostPageSize?: number;
  /** Guest-physical address of the memory region (only with x-ignore-shared). */
  mrAddr?: number;
  mappedRam?: MappedRamInfo;
}

export interface ConfigurationSubsection {
  name: string;
  version: number;
  offset: number;
  length: number;
  targetPageBits?: number;
  capabilities?: string[];
  uuid?: string;
}

export interface StreamElement {
  index: number;
  type: ElementType;
  /** The byte that was read as the element type (may be damaged; see `damaged`). */
  typeCode: number;
  offset: number;
  /** Bytes from `offset` to the end of the element, footer included. */
  length: number;
  sectionId?: number;
  idstr?: string;
  instanceId?: number;
  versionId?: number;
  payloadOffset?: number;
  footerOffset?: number;
  /** RAM page records in this element. */
  pages?: PageCounts;
  /** MEM_SIZE block list (START of "ram"). */
  ramBlocks?: RamBlock[];
  /** CONFIGURATION */
  machine?: string;
  subsections?: ConfigurationSubsection[];
  /** CONFIGURATION: the vmdesc describes it too (QEMU 10.x). */
  inVmdesc?: boolean;
  /** COMMAND */
  cmd?: number;
  cmdName?: string;
  dataLength?: number;
  /** VMDESCRIPTION */
  jsonOffset?: number;
  jsonLength?: number;
  /** VMDESCRIPTION: the vmdesc describes the configuration section (QEMU 10.x). */
  hasConfiguration?: boolean;
  /** FULL: index of the matching vmdesc device, when there is one. */
  deviceIndex?: number;
  /** FULL: saved during setup (early_setup devices, QEMU 8+) or at completion. */
  phase?: 'setup' | 'complete';
  delimitedBy?: Delimiter;
  /** Set when the element's framing was read through damage. */
  damaged?: boolean;
}

export interface BorrowedVmdesc {
  /** Where the description came from (a sibling image or a vmdesc JSON file), for messages. */
  from: string;
  /** FULL sections the borrowed description fits exactly. */
  described: number;
  /** FULL sections left raw because no device of the borrowed description fits them. */
  undescribed: number;
}

export interface QemuStreamModel {
  format: 'qemu-migration-stream';
  size: number;
  fileVersion: number;
  machineType?: string;
  pageSize: number;
  pageSizeSource: 'vmdesc' | 'target-page-bits' | 'default';
  capabilities: string[];
  sectionFooters: boolean;
  configuration?: StreamElement;
  elements: StreamElement[];
  ramBlocks: RamBlock[];
  pages: PageIndex;
  vmdesc?: Vmdesc;
  /** Where the vmdesc JSON was found and whether it is complete. */
  vmdescLocation?: { offset: number; jsonOffset: number; jsonLength: number; complete: boolean };
  /** Offset of the first byte after the last recognised element, if bytes follow it. */
  trailing?: { offset: number; length: number };
  /** Stream ended cleanly with QEMU_VM_EOF. */
  sawEof: boolean;
  /** The stream has no vmdesc and `vmdesc` was borrowed from a sibling (see borrowed-vmdesc.ts). */
  borrowedVmdesc?: BorrowedVmdesc;
  diagnostics: Diagnostic[];
}

export function emptyPageCounts(): PageCounts {
  return { zero: 0, page: 0, xbzrle: 0, compress: 0, multifdFlush: 0 };
}

/** "cpu (instance 0, section id 5)" — how diagnostics name a section. */
export function describeSection(e: Pick<StreamElement, 'idstr' | 'instanceId' | 'sectionId'>): string {
  const parts: string[] = [];
  if (e.instanceId !== undefined) parts.push(`instance ${e.instanceId}`);
  if (e.sectionId !== undefined) parts.push(`section id ${e.sectionId}`);
  return `${e.idstr ?? '?'}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/**
 * Where a listing puts a stream offset (OffsetMap.listed puts it at its file offset when the
 * file holds the whole stream). The functions below name every field of the model that is a
 * stream offset, once, beside the types.
 */
export type OffsetPlacer = (streamOffset: number) => number;

/** An element with every stream offset it holds placed by `at`. */
export function placeElement(e: StreamElement, at: OffsetPlacer): StreamElement {
  return {
    ...e,
    offset: at(e.offset),
    ...(e.payloadOffset === undefined ? {} : { payloadOffset: at(e.payloadOffset) }),
    ...(e.footerOffset === undefined ? {} : { footerOffset: at(e.footerOffset) }),
    ...(e.jsonOffset === undefined ? {} : { jsonOffset: at(e.jsonOffset) }),
    ...(e.ramBlocks === undefined ? {} : { ramBlocks: e.ramBlocks.map((b) => placeRamBlock(b, at)) }),
    ...(e.subsections === undefined ? {} : { subsections: e.subsections.map((s) => ({ ...s, offset: at(s.offset) })) }),
  };
}

/** A RAM block with its MEM_SIZE entry and mapped-ram regions placed by `at`. */
export function placeRamBlock(b: RamBlock, at: OffsetPlacer): RamBlock {
  const m = b.mappedRam;
  return {
    ...b,
    recordOffset: at(b.recordOffset),
    ...(m === undefined ? {} : { mappedRam: { ...m, headerOffset: at(m.headerOffset), bitmapOffset: at(m.bitmapOffset), pagesOffset: at(m.pagesOffset) } }),
  };
}
