import * as fs from 'node:fs';
import type { OffsetMap, OffsetSpace } from '../../shared/api/offset-map';
import type { Diagnostic } from '../../shared/diagnostics';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import type { ImageContainer, ImageKind, ImageLayer } from '../../shared/formats/registry';
import type { ByteSource } from '../../shared/io/byte-source';
import { FileSource } from '../io/file-source';
import { loadStreamDetailed, type LoadedVia, type LoadOptions } from './load-stream';
import { attachContainer, describeContainer, prepareContainer, type ContainerOptions, type StreamInFile } from './open-container';
import { UserError } from './user-error';

export interface OpenedImage {
  path: string;
  kind: ImageKind;
  /** The file, opened read-only. */
  file: FileSource;
  /** The container as its format described it: plain data, to attach the stream again elsewhere (attachContainer). */
  container: ImageContainer;
  /** The QEMU stream (the file itself for a bare .mig); model offsets refer to it. */
  source: ByteSource;
  /** Stream offsets ↔ file offsets. */
  offsets: OffsetMap;
  /** File offset of stream byte 0 when the file holds the whole stream as it is (offsets.base). */
  streamBase?: number;
  /** The wrappers around the stream (libvirt save, qcow2 snapshot), outermost first. */
  layers: ImageLayer[];
  /** What model offsets are: file offsets, vmstate offsets (qcow2) or decompressed-stream offsets (offsets.space). */
  offsetSpace: OffsetSpace;
  /** File offset holding stream byte `streamOffset`, when one does (offsets.fileOffsetOf). */
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
 * Everything a user can get wrong about the path itself becomes a one-line UserError. A
 * compressed libvirt save must have been decompressed before (openImageAsync does it).
 */
export function openImage(path: string, options: OpenOptions = {}): OpenedImage {
  return withFile(path, (file) => loaded(path, file, describeContainer(path, file, options), options));
}

/**
 * openImage for every container, including compressed libvirt saves, whose stream is
 * first decompressed into the cache (progress through `cache.onProgress`, cancel through
 * `cache.signal`).
 */
export async function openImageAsync(path: string, options: OpenOptions = {}): Promise<OpenedImage> {
  const file = openReadOnly(path);
  try {
    const container = describeContainer(path, file, options);
    await prepareContainer(path, container, options);
    return loaded(path, file, container, options);
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * An image another thread described, prepared and modelled (the open worker): its file is
 * opened and its stream attached from the description, with nothing parsed again.
 */
export function openDescribedImage(path: string, container: ImageContainer, model: QemuStreamModel, via: LoadedVia): OpenedImage {
  return withFile(path, (file) => openedImageOf(path, file, attachContainer(path, file, container), model, via));
}

/** An OpenedImage from its parts: the file, the stream found in it and the stream's model. Closing it closes both. */
export function openedImageOf(path: string, file: FileSource, c: StreamInFile, model: QemuStreamModel, via: LoadedVia): OpenedImage {
  const { container, offsets } = c;
  return {
    path,
    kind: container.kind,
    file,
    container,
    source: c.stream,
    offsets,
    streamBase: offsets.base,
    layers: container.layers,
    offsetSpace: offsets.space,
    fileOffsetOf: (offset) => offsets.fileOffsetOf(offset),
    containerDiagnostics: c.diagnostics,
    model,
    via,
    close: () => (c.close(), file.close()),
  };
}

/** Attaches the stream of a described container and builds its model. */
function loaded(path: string, file: FileSource, container: ImageContainer, options: OpenOptions): OpenedImage {
  const c = attachContainer(path, file, container, options);
  try {
    // The image path lets the loader find IMAGE.migdir for streams inside containers too.
    const { model, via } = loadStreamDetailed(c.stream, { ...options, imagePath: path });
    return openedImageOf(path, file, c, model, via);
  } catch (e) {
    c.close();
    throw e;
  }
}

function withFile<T>(path: string, use: (file: FileSource) => T): T {
  const file = openReadOnly(path);
  try {
    return use(file);
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
