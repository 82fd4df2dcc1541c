import { readBytes, type ByteSource } from '../../shared/io/byte-source';
import { DETECT_BYTES, detectImageKind, IMAGE_KIND_LABELS, type ImageKind } from '../../shared/formats/detect';
import type { FileSource } from '../io/file-source';
import { UserError } from './user-error';

/** The QEMU stream inside an image file, and how it is stored there. */
export interface StreamInFile {
  kind: ImageKind;
  /** The QEVM stream as a ByteSource (the file itself for a bare .mig). */
  stream: ByteSource;
  /** File offset of stream byte 0 when the stream is stored uncompressed in the file. */
  streamBase?: number;
}

/** Finds the QEMU stream in an opened file, recognising the file by content. */
export function openContainer(path: string, file: FileSource): StreamInFile {
  const kind = detectImageKind(readBytes(file, 0, DETECT_BYTES));
  if (kind === 'qemu-migration-stream') return { kind, stream: file, streamBase: 0 };
  const head = Array.from(readBytes(file, 0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new UserError(
    kind === 'unknown'
      ? `${path} is not a recognised migration image (it starts with ${head}); expected a QEMU migration stream ("QEVM")`
      : `${path} is a ${IMAGE_KIND_LABELS[kind]}, which this version cannot open yet`,
  );
}
