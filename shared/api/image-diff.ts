/**
 * What the diff of two images reports. Offsets are given on each side as the stream offset
 * and, where the file holds that byte as it is, the file offset: the two images may be
 * framed differently (a libvirt save against a bare stream), so one number cannot serve both.
 */
export interface DiffOffset {
  stream: number;
  /** The file offset holding the byte, when the file holds it as it is. */
  file?: number;
}

/** A header-level fact that differs (machine type, page size, capabilities, CONFIGURATION). */
export interface ValueDifference {
  what: string;
  a: string;
  b: string;
  offsetA?: DiffOffset;
  offsetB?: DiffOffset;
}

/** A section as the diff names it: idstr and instance, with where it is on its side. */
export interface SectionRef {
  /** "cpu:0", or "configuration". */
  name: string;
  idstr: string;
  instance: number;
  type: string;
  version?: number;
  sectionId?: number;
  offset: DiffOffset;
  length: number;
  /** Position among the matched sections of its side. */
  position: number;
}

export interface FieldDifference {
  /** Field path inside its section, as `migwb dump` and `migwb edit --set` name it ("env.eip"). */
  path: string;
  /** "changed": both sides have it with other bytes; "added": only B; "removed": only A; "layout": other type or size. */
  change: 'changed' | 'added' | 'removed' | 'layout';
  typeA?: string;
  typeB?: string;
  sizeA?: number;
  sizeB?: number;
  valueA?: string;
  valueB?: string;
  offsetA?: DiffOffset;
  offsetB?: DiffOffset;
  /** For buffers: where inside the field the first differing byte is, and how many bytes differ. */
  firstDifferingByte?: number;
  differingBytes?: number;
}

export interface SectionDifference {
  name: string;
  a: SectionRef;
  b: SectionRef;
  /** Set when the section versions differ. */
  versionChanged?: { a?: number; b?: number };
  /** How the fields were laid out on each side (vmdesc, raw bytes…). */
  describedBy: { a: string; b: string };
  fields: FieldDifference[];
  /** Why the fields could not all be compared (an undecodable side, a cap). */
  note?: string;
}

/** A difference in a device's vmdesc entry: a field described differently or on one side only. */
export interface VmdescDifference {
  section: string;
  path: string;
  a?: string;
  b?: string;
}

export type RecordKind = 'page' | 'zero' | 'xbzrle' | 'compress' | 'mapped' | 'never-sent' | 'absent';

/** Consecutive differing pages of one RAM block, produced by the same kind of record on each side. */
export interface RamDifferenceRun {
  block: string;
  /** Offset in the RAM block of the first page, and the number of pages. */
  blockOffset: number;
  pages: number;
  /** Guest-physical address of the first page, when the machine maps the block there. */
  gpa?: number;
  /** The record that gives the run's final content on each side ("absent": the block ends before). */
  recordA: RecordKind;
  recordB: RecordKind;
  /** Where the first page's record data is on each side (none for ZERO-filled or never-sent pages). */
  offsetA?: DiffOffset;
  offsetB?: DiffOffset;
  /** With `pageBytes`: the differing byte ranges of the run's first page. */
  bytes?: PageByteDifference[];
}

export interface PageByteDifference {
  /** Offset inside the page. */
  offset: number;
  a: string;
  b: string;
}

export interface RamBlockDifference {
  block: string;
  sizeA?: number;
  sizeB?: number;
  /** Pages compared (both sides hold the block), and of those, pages whose content differs. */
  pagesCompared: number;
  pagesDiffering: number;
  /** Pages with equal content sent by another kind of record (framing, not content). */
  pagesReframed: number;
  /** Pages only one side's block has. */
  pagesOnlyA: number;
  pagesOnlyB: number;
}

export interface RamDiff {
  pageSize: number;
  blocks: RamBlockDifference[];
  /** Differing runs, by guest-physical address where the block has one, then by block. */
  runs: RamDifferenceRun[];
  /** Set when more runs differ than were kept (their pages are still counted per block). */
  runsOmitted: number;
  /** Pages whose content could not be reconstructed on a side, with why. */
  problems: string[];
}

/** Differences that do not change what the destination would load: containers, section ids, record kinds, order. */
export interface FramingDifference {
  what: string;
  a: string;
  b: string;
}

export interface ImageDiff {
  a: { label: string; kind: string; layers: string[]; offsetSpace: string; size: number };
  b: { label: string; kind: string; layers: string[]; offsetSpace: string; size: number };
  header: ValueDifference[];
  sectionsAdded: SectionRef[];
  sectionsRemoved: SectionRef[];
  /** Sections in both whose order relative to the others changed (the B side's position). */
  sectionsMoved: { name: string; positionA: number; positionB: number }[];
  sectionsChanged: SectionDifference[];
  vmdesc: VmdescDifference[];
  ram?: RamDiff;
  framing: FramingDifference[];
  /** The QEMU releases the two images come from, when they differ and are known. */
  releases?: { a: string; b: string };
  /** What B's release is known to write differently from A's, named by transform rule. */
  knownDifferences: KnownDifference[];
  /** True when a destination loading either image would hold the same machine state. */
  equalInContent: boolean;
}

/** A difference between QEMU releases that a transform rule names (rules.ts). */
export interface KnownDifference {
  rule: string;
  /** "CONFIGURATION", "vmdesc", "ram" or a section "hpet:0". */
  subject: string;
  reason: string;
}
