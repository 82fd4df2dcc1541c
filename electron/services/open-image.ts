import * as fs from 'node:fs';
import type { ByteSource } from '../../shared/io/byte-source';
import type { Diagnostic } from '../../shared/diagnostics';
import type { ImageKind } from '../../shared/formats/detect';
import type { ContainerLayer, OffsetSpace } from '../../shared/formats/container-model';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { FileSource } from '../io/file-source';
import { loadStreamDetailed, type LoadedVia, type LoadOptions } from './load-stream';
import { openContainer, prepareContainer, type ContainerOptions, type StreamInFile } from './open-container';
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
  /** The wrappers around the stream (libvirt save, qcow2 snapshot), outermost first. */
  layers: ContainerLayer[];
  /** What model offsets are: file offsets, vmstate offsets (qcow2) or decompressed-stream offsets. */
  offsetSpace: OffsetSpace;
  /** File offset holding stream byte `streamOffset`, when one does. */
  fileOffsetOf(streamOffset: number): number | undefined;
  /** Problems of the wrappers, at file offsets (the model's diagnostics are at stream offsets). */
  containerDiagnostics: Diagnostic[];
  model: QemuStreamModel;
  /** Whether the model came from a section directory, a sidecar or a full scan. */
  via: LoadedVia;
  close(): void;
}

export type OpenOptions = LoadOptions & ContainerOptions;

/**
 * Opens an image read-only, finds the QEMU stream in it by content and builds its model.
 * Everything a user can get wrong about the path itself becomes a one-line UserError.
 */
export function openImage(path: string, options: OpenOptions = {}): OpenedImage {
  const file = openReadOnly(path);
  try {
    const c = openContainer(path, file, options);
    try {
      // The image path lets the loader find IMAGE.migdir for streams inside containers too.
      const { model, via } = loadStreamDetailed(c.stream, { ...options, imagePath: path });
      return openedImageOf(path, file, c, model, via);
    } catch (e) {
      c.close();
      throw e;
    }
  } catch (e) {
    file.close();
    throw e;
  }
}

/** An OpenedImage from its parts: the file, the stream found in it and the stream's model. Closing it closes both. */
export function openedImageOf(path: string, file: FileSource, c: StreamInFile, model: QemuStreamModel, via: LoadedVia): OpenedImage {
  const close = () => (c.close(), file.close());
  return { path, kind: c.kind, file, source: c.stream, streamBase: c.streamBase, layers: c.layers, offsetSpace: c.offsetSpace, fileOffsetOf: c.fileOffsetOf, containerDiagnostics: c.diagnostics, model, via, close };
}

/**
 * openImage for every container, including compressed libvirt saves, whose stream is
 * first decompressed into the cache (progress through `cache.onProgress`, cancel through
 * `cache.signal`).
 */
export async function openImageAsync(path: string, options: OpenOptions = {}): Promise<OpenedImage> {
  const file = openReadOnly(path);
  try {
    await prepareContainer(path, file, options);
  } finally {
    file.close();
  }
  return openImage(path, options);
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
