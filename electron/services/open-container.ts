import { OffsetMap } from '../../shared/api/offset-map';
import type { Diagnostic } from '../../shared/diagnostics';
import type { DescribeOptions } from '../../shared/formats/format';
import { describeDetected, describeFile, readerOf, type Detection, type ImageContainer } from '../../shared/formats/registry';
import type { ByteSource } from '../../shared/io/byte-source';
import type { NodeOpenOptions } from '../formats/node-format';
import { NODE_FORMATS } from '../formats/registry';
import { UnsupportedFormatError, UserError } from './user-error';

/**
 * Opening a container, in three steps that each happen once per open:
 *   describeContainer  detects the format and reads its structure (the only parse);
 *   prepareContainer   the long one-time work some need (decompressing into the cache);
 *   attachContainer    makes the stream readable from the description, re-reading nothing.
 * The description is plain data: the open worker describes and prepares, and the main
 * thread (or a search worker) attaches what it was handed.
 */
export type ContainerOptions = DescribeOptions & NodeOpenOptions;

/** The QEMU stream of a container, readable, with its offset map. */
export interface StreamInFile {
  container: ImageContainer;
  /** The QEVM stream as a ByteSource (the file itself for a bare .mig); model offsets refer to it. */
  stream: ByteSource;
  /** Stream offsets ↔ file offsets. */
  offsets: OffsetMap;
  /** Problems of the wrappers, at file offsets (grows when reading finds more, as in a qcow2 cluster that does not inflate). */
  diagnostics: Diagnostic[];
  /** Releases what the container opened besides the file (a decompressed cache file). */
  close(): void;
}

/** Detects the file's format and reads its structure, or says in one line why it cannot be opened. */
export function describeContainer(path: string, file: ByteSource, options: DescribeOptions = {}, detection?: Detection): ImageContainer {
  const described = detection ? describeDetected(file, detection, options) : describeFile(file, options);
  if ('refusal' in described) throw described.unsupported ? new UnsupportedFormatError(`${path} ${described.refusal}`) : new UserError(`${path} ${described.refusal}`);
  return described.container;
}

/** Decompresses an encoded stream into the cache (progress through `cache.onProgress`, cancel through `cache.signal`); a no-op for the rest. */
export async function prepareContainer(path: string, container: ImageContainer, options: NodeOpenOptions = {}): Promise<void> {
  if (container.stream.encoded) await nodeRow(container).prepare(path, container, options);
}

/** The stream of a described (and prepared) container: the format's own reader, or its node-side row for an encoded stream. */
export function attachContainer(path: string, file: ByteSource, container: ImageContainer, options: NodeOpenOptions = {}): StreamInFile {
  const attached = container.stream.encoded ? nodeRow(container).attach(path, file, container, options) : readerOf(container).attach(file, container);
  return { container, stream: attached.stream, offsets: new OffsetMap(container.stream.space, container.stream.pieces), diagnostics: attached.diagnostics, close: () => attached.close() };
}

function nodeRow(container: ImageContainer) {
  const row = NODE_FORMATS[container.format];
  if (!row) throw new Error(`the ${container.format} format stores its stream ${container.stream.encoded?.encoding}-encoded, but has no node-side row to decode it`);
  return row;
}
