import type { Diagnostic } from '../../diagnostics';
import type { LegacyModel } from './legacy-model';
import type { XenPageIndex } from './page-index';

/**
 * What the Xen parser found, as an index of offsets: never the bytes themselves. Every
 * record, header and chunk is located by its file offset and length; bodies are decoded on
 * demand from the file (records.ts, the structure tree), so an 8 GiB save costs an index of
 * a few thousand records and a page index of runs.
 */
export type XenStreamKind = 'xl' | 'libxl' | 'libxc' | 'legacy';

export interface FileRange {
  offset: number;
  length: number;
}

/** The xl save header (tools/xl/xl.h): magic, byte-order marker, flags and the domain configuration. */
export interface XlHeader extends FileRange {
  littleEndian: boolean;
  mandatoryFlags: number;
  optionalFlags: number;
  optionalDataLength: number;
  /** The domain configuration: JSON when mandatory flag 0 is set, xm-style text otherwise. */
  config?: FileRange & { text: string; json: boolean };
  /** Where the stream behind the header starts. */
  bodyOffset: number;
  /** Mandatory flag 1: the body is a libxl v2 stream; else a legacy libxc stream. */
  streamV2: boolean;
}

export interface LibxlHeader extends FileRange {
  version: number;
  options: number;
  littleEndian: boolean;
  /** Written by convert-legacy-stream (options bit 1). */
  legacy: boolean;
}

/** One libxc image: image header (24 bytes, big-endian) and domain header (16 bytes). */
export interface LibxcImage extends FileRange {
  version: number;
  options: number;
  littleEndian: boolean;
  domainType: number;
  pageShift: number;
  xenMajor: number;
  xenMinor: number;
  /** Index of its first record in `records`. */
  firstRecord: number;
}

export type RecordLayer = 'libxl' | 'libxc';

/** One record of either layer, as framed in the file. */
export interface XenRecord {
  index: number;
  layer: RecordLayer;
  type: number;
  /** Offset of the 8-byte record header. */
  offset: number;
  /** Body length the header declares. */
  bodyLength: number;
  /** Bytes the record really occupies (header, body, padding), clipped to the end of the file. */
  length: number;
  /** Which consistent state it belongs to: 0 until the first CHECKPOINT, then 1, … */
  checkpoint: number;
  /** The libxc image a libxc record belongs to (index into `images`). */
  image?: number;
  /** The file ends inside this record. */
  truncated?: boolean;
  /** The record was found by resynchronising after damage, not by following the framing. */
  resynced?: boolean;
}

/** An EMULATOR_CONTEXT blob: the device model's saved state (a QEVM stream for QEMU upstream). */
export interface EmulatorBlob extends FileRange {
  /** The record (v2) or -1 for a legacy qemu tail. */
  record: number;
  emulatorId: number;
  index: number;
  checkpoint: number;
  /** Its first bytes are "QEVM": the QEMU engine can open it. */
  qemu: boolean;
}

/** What the stream says about the guest. */
export interface DomainSummary {
  /** 'pv' or 'hvm', from the domain header (v2) or the stream's own evidence (legacy). */
  type: 'pv' | 'hvm' | 'unknown';
  /** Guest width in bytes: from X86_PV_INFO or the legacy vCPU context size; HVM guests have none. */
  guestWidth?: 4 | 8;
  ptLevels?: number;
  /** Xen that wrote it, "converted" for convert-legacy-stream output. */
  xenVersion?: string;
  /** HVM: vCPU 0 was in long mode when saved (EFER.LMA of its CPU save record). */
  longMode?: boolean;
  /** Highest pfn + 1 seen in page data. */
  pfnLimit: number;
  vcpus: number[];
}

export interface XenStreamModel {
  format: 'xen';
  kind: XenStreamKind;
  size: number;
  littleEndian: boolean;
  xl?: XlHeader;
  libxl?: LibxlHeader;
  images: LibxcImage[];
  records: XenRecord[];
  legacy?: LegacyModel;
  /** Checkpoints the stream holds (CHECKPOINT records), and whether the last one was completed. */
  checkpoints: number;
  domain: DomainSummary;
  pages: XenPageIndex;
  emulators: EmulatorBlob[];
  /** Bytes after the outermost END (the verifier never looks at them). */
  trailing?: FileRange;
  diagnostics: Diagnostic[];
}

export const XEN_KIND_LABELS: Readonly<Record<XenStreamKind, string>> = {
  xl: 'Xen xl save file',
  libxl: 'Xen libxl migration stream (v2)',
  libxc: 'Xen libxc domain image (v2/v3)',
  legacy: 'Xen legacy (pre-4.6) save stream',
};
