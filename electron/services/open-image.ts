import * as fs from 'node:fs';
import { readBytes } from '../../shared/io/byte-source';
import { DETECT_BYTES, detectImageKind, IMAGE_KIND_LABELS, type ImageKind } from '../../shared/formats/detect';
import type { QemuStreamModel } from '../../shared/qemu/model';
import { parseQemuStream, type ParseOptions } from '../../shared/qemu/stream-parser';
import { FileSource } from '../io/file-source';
import { UserError } from './user-error';

export interface OpenedImage {
  path: string;
  kind: ImageKind;
  source: FileSource;
  model: QemuStreamModel;
  close(): void;
}

/**
 * Opens an image read-only, recognises it by content and parses it. Everything a user can
 * get wrong about the path itself becomes a one-line UserError.
 */
export function openImage(path: string, options: ParseOptions = {}): OpenedImage {
  const source = openReadOnly(path);
  try {
    const kind = detectImageKind(readBytes(source, 0, DETECT_BYTES));
    if (kind !== 'qemu-migration-stream') {
      const head = Array.from(readBytes(source, 0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new UserError(
        kind === 'unknown'
          ? `${path} is not a recognised migration image (it starts with ${head}); expected a QEMU migration stream ("QEVM")`
          : `${path} is a ${IMAGE_KIND_LABELS[kind]}, which this version cannot open yet`,
      );
    }
    const model = parseQemuStream(source, options);
    return { path, kind, source, model, close: () => source.close() };
  } catch (e) {
    source.close();
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
