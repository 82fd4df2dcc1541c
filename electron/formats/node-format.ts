import type { AttachedStream, ContainerDescription } from '../../shared/formats/format';
import type { ByteSource } from '../../shared/io/byte-source';
import type { CliIO } from '../cli/output';
import type { ImageRows } from '../index/image-rows';
import type { SearchPattern } from '../memory/pattern';
import type { SearchResult } from '../memory/search';
import type { WorkbenchImage } from '../workbench/image-session';
import type { OpenProgress } from '../workbench/open-worker';
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

/**
 * The node side of a format with its own engine (FormatDefinition.engine): how the CLI, the
 * app's sessions and the library reach it. Generic code asks the registry for the engine of
 * a file and calls these; nothing outside the format's folder names the format.
 */
export interface NodeEngineRow {
  /** The engine's name for messages ("Xen"). */
  name: string;
  /** The migwb commands it serves for its images (the rest say what the engine does instead). */
  commands: ReadonlySet<string>;
  /** Runs a migwb command line whose images are this engine's; returns the exit status. */
  runCli(argv: string[], io: CliIO): Promise<number>;
  /** `migwb transform --to` targets of this engine (e.g. xen-v2), and the transform itself. */
  transformTargets: readonly string[];
  transform(image: string, options: Record<string, unknown>, io: CliIO): Promise<number>;
  /** Opens an image for the app (the long work in a worker): its tree, bytes, edits and saving behind WorkbenchImage. */
  openImage(path: string, handle: string, owner: string, onProgress?: (p: OpenProgress) => void): Promise<WorkbenchImage>;
  /** Searches the image's guest memory (`migwb search`, also over a library with --db). */
  searchImage(path: string, pattern: SearchPattern, options: { gpaRange?: { start: number; end: number }; maxHits?: number }): SearchResult;
  /** The image's rows for the library, its library format name and its wrapper column (see describeWrapper). */
  indexRows(file: ByteSource, onBytes: (n: number) => void): { format: string; rows: ImageRows; wrapper: string | null };
  /** Library tables only this engine writes (cleared when an image is re-indexed). */
  tables: readonly { name: string; columns: readonly string[] }[];
}
