import type { FileRange } from './model';

/**
 * A pre-4.6 ("legacy") libxc save stream, as tools/python/xen/migration/legacy.py describes
 * it: no magic and no version, native word size and byte order. Everything is located by
 * offset; page data stays in the file.
 */
export interface LegacyModel {
  /** Where the legacy stream starts (after an xl header, if any). */
  offset: number;
  /** `unsigned long` of the saving toolstack: 8 (64-bit) or 4 (32-bit), and how that was told. */
  width: 4 | 8;
  widthEvidence: string;
  guest: 'pv' | 'hvm';
  guestEvidence: string;
  p2mSize: number;
  extendedInfo?: LegacyExtendedInfo;
  /** PV: the frames holding the guest's p2m table, one unsigned long each. */
  p2mFrameList?: FileRange & { count: number };
  /** One entry per consistent state: a plain save has one, a Remus stream one per checkpoint. */
  checkpoints: LegacyCheckpoint[];
  /** The compressed page format (Remus) was switched on by ENABLE_COMPRESSION. */
  compression: boolean;
  /** Online vCPUs from VCPU_INFO (vCPU 0 when the stream has none). */
  vcpus: number[];
  maxVcpuId: number;
  /** The tmem object-id size in bytes: 8 for tmem version 0 (Xen 4.0), 24 from version 1 (Xen 4.1). */
  tmemOidBytes: number;
}

export interface LegacyExtendedInfo extends FileRange {
  totalLength: number;
  blocks: { id: string; offset: number; dataOffset: number; size: number }[];
  /** Size of vcpu_guest_context: 0x1430 for a 64-bit guest, 0xaf0 for a 32-bit one. */
  vcpuContextSize?: number;
  /** "extv": the tail carries 128 extra bytes of extended vCPU context per vCPU. */
  extendedVcpu: boolean;
  /** "xcnt": the size of the per-vCPU xsave blob (+16 for its mask and size words). */
  xsaveLength: number;
  guestWidth?: 4 | 8;
  ptLevels?: number;
}

export interface LegacyCheckpoint extends FileRange {
  chunks: LegacyChunk[];
  tail?: LegacyTail;
  qemu?: LegacyQemuRecord;
}

export type LegacyChunkKind = 'pages' | 'pfns' | 'end' | 'vcpu-info' | 'param' | 'tsc' | 'tmem' | 'tmem-extra' | 'compressed' | 'toolstack' | 'flag' | 'unknown';

export interface LegacyChunk extends FileRange {
  index: number;
  marker: number;
  kind: LegacyChunkKind;
  /** Page batches: pfn entries, and the entries with page data (types below BROKEN). */
  entries?: number;
  pages?: number;
  /** Param chunks: the value (u32 pad, u64 value). */
  value?: number;
  /** TMEM: pools and the persistent pages they carry. */
  tmem?: { version: number; pools: number; pages: number; pageBytes: number };
  /** COMPRESSED_DATA / TOOLSTACK: where the payload starts. */
  dataOffset?: number;
  dataLength?: number;
}

export interface LegacyTail extends FileRange {
  /** HVM: ioreq, bufioreq and store pfns; the HVM context blob. */
  magicPfns?: { ioreq: number; bufioreq: number; store: number };
  hvmContext?: FileRange;
  /** PV: unmapped pfns, per-vCPU contexts, the shared info page. */
  unmappedPfns?: FileRange & { count: number };
  vcpus?: { id: number; basic: FileRange; extended?: FileRange; xsave?: FileRange & { mask: number } }[];
  sharedInfo?: FileRange;
}

export interface LegacyQemuRecord extends FileRange {
  signature: string;
  /** The device model's saved state. */
  data: FileRange;
  qemu: boolean;
}
