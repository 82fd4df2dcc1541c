import * as fs from 'node:fs';
import type { ByteSource } from '../../shared/io/byte-source';
import type { ImageKind } from '../../shared/formats/detect';
import type { QemuStreamModel } from '../../shared/qemu/model';
import { FileSource } from '../io/file-source';
import { loadStreamDetailed, type LoadedVia, type LoadOptions } from './load-stream';
import { openContainer } from './open-container';
import { UserError } from './user-error';

export interface OpenedImage {
  path: string;
  kind: ImageKind;
  /** The file, opened read-only. */
  file: FileSource;
  /** The QEMU stream (the file itself for a bare .mig); model offsets refer to it. */
  source: ByteSource;
  /** File offset of stream byte 0 when the stream is stored uncompressed in the file. */
  streamBase?: number;
  model: QemuStreamModel;
  /** Whether the model came from a section directory, a sidecar or a full scan. */
  via: LoadedVia;
  close(): void;
}

/**
 * Opens an image read-only, finds the QEMU stream in it by content and builds its model.
 * Everything a user can get wrong about the path itself becomes a one-line UserError.
 */
export function openImage(path: string, options: LoadOptions = {}): OpenedImage {
  const file = openReadOnly(path);
  try {
    const { kind, stream, streamBase } = openContainer(path, file);
    // The image path lets the loader find IMAGE.migdir for streams inside containers too.
    const { model, via } = loadStreamDetailed(stream, { ...options, imagePath: path });
    return { path, kind, file, source: stream, streamBase, model, via, close: () => file.close() };
  } catch (e) {
    file.close();
    throw e;
  }
}

/** Opens a regular, non-empty file for reading, or explains in one line why not. */
export function openReadOnly(path: string): FileSource {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    throw new UserError(describeFsError(path, e));
  }
  if (st.isDirectory()) throw new UserError(`${path} is a directory; give the path of an image file`);
  if (!st.isFile()) throw new UserError(`${path} is not a regular file`);
  if (st.size === 0) throw new UserError(`${path} is empty (0 bytes), so it cannot be a migration image`);
  try {
    return new FileSource(path);
  } catch (e) {
    throw new UserError(describeFsError(path, e));
  }
}

function describeFsError(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return `${path} does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `${path} cannot be read: permission denied`;
    case 'ENOTDIR':
      return `${path} is not a valid path (a parent is not a directory)`;
    case 'EISDIR':
      return `${path} is a directory; give the path of an image file`;
    default:
      return `${path} cannot be opened: ${(e as Error).message}`;
  }
}
