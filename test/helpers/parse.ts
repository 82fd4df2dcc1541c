import { FileSource } from '../../electron/io/file-source';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { summarizeStream } from '../../shared/formats/qemu-stream/summary';
import { toSnakeCase } from '../../shared/util/wire';
import type { WireElement } from './corpus';

/** Our element table's elements: the reference's facts and more (record offsets, how each was delimited). */
export type OurWireElement = WireElement & Record<string, unknown>;

/** Parses an image file and closes it; the model keeps no file handle. */
export function parseFile(file: string): QemuStreamModel {
  const src = new FileSource(file);
  try {
    return parseQemuStream(src);
  } finally {
    src.close();
  }
}

/** Runs `fn` with an open source and its parsed model. */
export function withImage<T>(file: string, fn: (src: FileSource, model: QemuStreamModel) => T): T {
  const src = new FileSource(file);
  try {
    return fn(src, parseQemuStream(src));
  } finally {
    src.close();
  }
}

/** The element table in the wire form `migwb info --json` prints (NAME.sections.json vocabulary). */
export function wireElements(model: QemuStreamModel): OurWireElement[] {
  return (toSnakeCase(summarizeStream(model)) as { elements: OurWireElement[] }).elements;
}
