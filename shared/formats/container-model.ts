import type { Diagnostic } from '../diagnostics';

/**
 * The wrappers around a QEMU stream, outermost first, as the structure view shows them:
 * a libvirt save image (header, domain XML, cookie, padding, then the stream, perhaps
 * compressed) or a qcow2 internal snapshot (its vmstate area mapped through its L1/L2
 * tables). A bare .mig has no layer.
 */
export type ContainerLayer = LibvirtSaveLayer | Qcow2Layer;

/** A byte range of the container file. */
export interface FileRange {
  offset: number;
  length: number;
}

/** One header field: where it is and what it holds. */
export interface HeaderField<T = number> extends FileRange {
  name: string;
  value: T;
}

/** The libvirt `format` values (qemu_saveimage.h; an on-disk ABI, only ever appended to). */
export type LibvirtCompression = 'raw' | 'gzip' | 'bzip2' | 'xz' | 'lzop' | 'zstd' | 'sparse';

export interface LibvirtSaveLayer {
  kind: 'libvirt-save';
  /** false for "LibvirtQemudPart": libvirt had not finished writing the image. */
  complete: boolean;
  /** The header is written in the saving host's byte order; libvirt reads both. */
  byteOrder: 'little' | 'big';
  header: FileRange & { fields: HeaderField[] };
  version: number;
  wasRunning: boolean;
  compression: LibvirtCompression | 'unknown';
  /** The raw `format` value. */
  formatCode: number;
  /** How the stream is really stored, judged by its first bytes (differs from `compression` when the header lies). */
  storedAs: LibvirtCompression | 'unknown';
  /** Domain XML (NUL-terminated in the file). */
  xml?: FileRange & { text: string };
  /** Save cookie XML (`<cookie><cpu …/></cookie>`), when cookieOffset is set. */
  cookie?: FileRange & { text: string };
  /** Slack after XML and cookie that lets `virsh save-image-define` grow the XML in place. */
  padding?: FileRange & { nonZeroBytes: number };
  /** The QEMU migration stream, as stored in the file (compressed or not). */
  stream: FileRange;
}

export interface Qcow2Snapshot {
  /** Position in the snapshot table. */
  index: number;
  id: string;
  name: string;
  /** Offset of the snapshot table entry in the file. */
  entryOffset: number;
  l1TableOffset: number;
  l1Size: number;
  vmStateSize: number;
  /** Virtual disk size when the snapshot was taken (extra data), else the image's. */
  diskSize: number;
  dateSec: number;
  dateNsec: number;
  vmClockNsec: number;
  icount?: number;
  /** Virtual offset of the vmstate area: disk size rounded up to what one L1 entry covers. */
  vmStateOffset: number;
}

export interface Qcow2Layer {
  kind: 'qcow2';
  version: number;
  clusterSize: number;
  virtualSize: number;
  header: FileRange & { fields: HeaderField[] };
  snapshotTable: FileRange;
  snapshots: Qcow2Snapshot[];
  /** Index into `snapshots` of the snapshot whose vmstate is open. */
  selected: number;
  /** How the selected vmstate is stored: clusters by kind. */
  vmStateClusters: { data: number; zero: number; unallocated: number; compressed: number };
  compressionType: 'zlib' | 'zstd';
  extendedL2: boolean;
}

/** What a container parser found: its layer, and its problems with file offsets. */
export interface ParsedContainer<L extends ContainerLayer> {
  layer: L;
  diagnostics: Diagnostic[];
}

/**
 * What stream offsets mean for the user: "file" when the stream is stored as is (file
 * offset = streamBase + stream offset), "vmstate" for a qcow2 snapshot (offsets in its
 * vmstate area, mapped to scattered host clusters), "decompressed" for a compressed
 * libvirt save (offsets in the decompressed stream; the file holds no such bytes);
 * "stream" for a stream offset whose file offset would lie past the end of the file (a
 * damaged wrapper pointing beyond it), so no offset labelled "file" is outside the file.
 */
export type OffsetSpace = 'file' | 'vmstate' | 'decompressed' | 'stream';

export const OFFSET_SPACE_LABELS: Readonly<Record<OffsetSpace, string>> = {
  file: 'file offsets',
  vmstate: 'offsets in the qcow2 snapshot vmstate',
  decompressed: 'offsets in the decompressed QEMU stream',
  stream: 'offsets in the QEMU stream, which lies past the end of the file',
};
