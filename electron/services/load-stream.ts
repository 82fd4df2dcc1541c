import type { ByteSource } from '../../shared/io/byte-source';
import type { QemuStreamModel } from '../../shared/qemu/model';
import { parseQemuStream, type ParseOptions } from '../../shared/qemu/stream-parser';

/** Builds the model of a QEMU stream: one full scan. */
export function loadStream(stream: ByteSource, options: ParseOptions = {}): QemuStreamModel {
  return parseQemuStream(stream, options);
}
