import type { AttachedStream, ContainerDescription } from '../../shared/formats/format';
import type { ByteSource } from '../../shared/io/byte-source';
import type { CacheOptions } from './decompress-cache';

export interface NodeOpenOptions {
  cache?: CacheOptions;
}

/**
 * The node-side part of a format whose stream is stored encoded (StreamPlacement.encoded):
 * decoding needs Node (streams, files, the cache), so it lives in electron/formats/<format>/
 * behind a row of NODE_FORMATS keyed by the format's id.
 */
export interface NodeFormatRow {
  /** The long one-time work before the stream can be attached (decompressing into the cache); progress and cancel through `options.cache`. */
  prepare(path: string, container: ContainerDescription, options: NodeOpenOptions): Promise<void>;
  /** The decoded stream, as prepare left it; a UserError when prepare has not run. */
  attach(path: string, file: ByteSource, container: ContainerDescription, options: NodeOpenOptions): AttachedStream;
}
