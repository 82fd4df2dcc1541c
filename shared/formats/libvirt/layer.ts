import type { ContainerLayer, FileRange, HeaderField } from '../container-model';

/** The libvirt `format` values (qemu_saveimage.h; an on-disk ABI, only ever appended to). */
export type LibvirtCompression = 'raw' | 'gzip' | 'bzip2' | 'xz' | 'lzop' | 'zstd' | 'sparse';

/** A libvirt save image: header, domain XML, cookie, padding, then the stream, perhaps compressed. */
export interface LibvirtSaveLayer extends ContainerLayer {
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

/** Whether the stream is stored as QEMU wrote it (format "raw"; "sparse" is read as raw, unverified; an unknown format is tried as raw). */
export function storedPlain(layer: LibvirtSaveLayer): boolean {
  return layer.storedAs === 'raw' || layer.storedAs === 'sparse' || layer.storedAs === 'unknown';
}
