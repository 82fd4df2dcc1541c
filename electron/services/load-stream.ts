import * as fs from 'node:fs';
import { hex, type Diagnostic } from '../../shared/diagnostics';
import { readBytes, SliceSource, type ByteSource } from '../../shared/io/byte-source';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { looksLikeDirectoryHeader, EntryType, MAX_DIRECTORY_BYTES } from '../../shared/formats/section-directory/section-directory';
import { openAppendedDirectory, openSidecarDirectory, type DirectoryOutcome } from '../../shared/formats/section-directory/check';
import { parseQemuStream, type ParseOptions } from '../../shared/formats/qemu-stream/stream-parser';
import { FileSource } from '../io/file-source';
import { identityMismatch } from './image-identity';

export interface LoadOptions extends ParseOptions {
  /** The image file, to find IMAGE.migdir beside it; defaults to the stream's own file. */
  imagePath?: string;
  /** "use" (default): a sound directory replaces the scan. "ignore": always scan (tests, benchmarks, `--scan`). */
  directory?: 'use' | 'ignore';
}

/** How the model was built. */
export type LoadedVia = 'directory' | 'sidecar' | 'scan';

export interface LoadedStream {
  model: QemuStreamModel;
  via: LoadedVia;
}

/** Suffix of a sidecar directory: IMAGE.migdir beside IMAGE. */
export const SIDECAR_SUFFIX = '.migdir';

/** Builds the model of a QEMU stream (see loadStreamDetailed). */
export function loadStream(stream: ByteSource, options: LoadOptions = {}): QemuStreamModel {
  return loadStreamDetailed(stream, options).model;
}

/**
 * Builds the model of a QEMU stream the cheapest sound way: from a section directory at
 * the end of the stream (reads only the tail and the directory), else from a sidecar
 * IMAGE.migdir, else by one full scan. A directory that fails its checks is never used: the
 * stream is scanned and the model carries a warning saying why.
 */
export function loadStreamDetailed(stream: ByteSource, options: LoadOptions = {}): LoadedStream {
  const appended = openAppendedDirectory(stream);
  const notes: Diagnostic[] = [];
  if (appended.status === 'used' && options.directory !== 'ignore') return { model: appended.model, via: 'directory' };
  if (appended.status === 'rejected' && options.directory !== 'ignore') notes.push(appended.diagnostic);
  const sidecarPath = sidecarOf(stream, options);
  if (appended.status === 'absent' && sidecarPath && options.directory !== 'ignore') {
    const sidecar = openSidecar(sidecarPath, stream);
    if (sidecar.status === 'used') return { model: sidecar.model, via: 'sidecar' };
    if (sidecar.status === 'rejected') notes.push(sidecar.diagnostic);
  }
  const model = scan(stream, options, appended);
  model.diagnostics.push(...notes);
  return { model, via: 'scan' };
}

function sidecarOf(stream: ByteSource, options: LoadOptions): string | undefined {
  const image = options.imagePath ?? (stream instanceof FileSource ? stream.path : undefined);
  return image && fs.existsSync(image + SIDECAR_SUFFIX) ? image + SIDECAR_SUFFIX : undefined;
}

function openSidecar(sidecarPath: string, stream: ByteSource): DirectoryOutcome {
  const image = sidecarPath.slice(0, -SIDECAR_SUFFIX.length);
  const size = fs.statSync(sidecarPath).size;
  if (size > MAX_DIRECTORY_BYTES) return { status: 'absent' };
  return openSidecarDirectory(fs.readFileSync(sidecarPath), stream, (recorded) => identityMismatch(image, recorded));
}

/**
 * One full scan. Behind a directory whose own bytes are sound only the stream before it is
 * scanned, and the directory shows as a DIRECTORY element rather than unknown trailing data.
 */
function scan(stream: ByteSource, options: ParseOptions, appended: DirectoryOutcome): QemuStreamModel {
  const directoryAt = appended.status === 'used' ? appended.directory.offset : appended.status === 'rejected' ? appended.directoryAt : undefined;
  if (directoryAt === undefined) {
    const model = parseQemuStream(stream, options);
    if (appended.status === 'absent') noteStaleDirectory(model, stream);
    return model;
  }
  const model = parseQemuStream(new SliceSource(stream, 0, directoryAt), options);
  model.size = stream.size;
  model.elements.push({ index: model.elements.length, type: 'DIRECTORY', typeCode: EntryType.HEADER, offset: directoryAt, length: stream.size - directoryAt });
  return model;
}

/** A directory header at the start of trailing data that is not a usable directory: say so. */
function noteStaleDirectory(model: QemuStreamModel, stream: ByteSource): void {
  const t = model.trailing;
  if (!t || !looksLikeDirectoryHeader(readBytes(stream, t.offset, 9))) return;
  model.diagnostics.push({
    severity: 'info',
    code: 'stale-directory',
    offset: t.offset,
    length: t.length,
    section: 'section directory',
    expected: 'a section directory that ends the file with its two locators',
    found: `a directory header at ${hex(t.offset)}, but the file does not end with its locators`,
    message: 'A section directory was written here, but bytes were appended after it or it was cut short; it was not used',
    hint: 'Run "migwb seal" again to write a directory for the file as it is now.',
  });
}
