import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import type { DiffOffset } from '../api/image-diff';
import type { PageHashes } from './page-hashes';

/** One image as the diff reads it: its stream, its model and how its offsets map to the file. */
export interface DiffSide {
  /** How outputs name this side (usually the path). */
  label: string;
  source: ByteSource;
  model: QemuStreamModel;
  fileOffsetOf(streamOffset: number): number | undefined;
  /** The container around the stream: "qemu-stream", "libvirt-save", "qcow2", … */
  kind: string;
  /** The wrappers, outermost first (kinds of the format layers). */
  layers: string[];
  offsetSpace: string;
  /** Bytes of the file around the stream (a container's chunk headers and CRCs, a wrapper's header, compression). */
  fileSize?: number;
  /** Hashes of the plain pages, taken while the image was scanned: those pages are compared without reading them again. */
  pageHashes?: PageHashes;
}

export interface DiffOptions {
  /** Compare device fields (default true). */
  fields?: boolean;
  /** Compare guest RAM page by page (default true). */
  ram?: boolean;
  /** Only these sections ("cpu", "cpu:0"); the header and RAM are still compared unless turned off. */
  sections?: string[];
  /** Show the differing bytes of the first page of each RAM run. */
  pageBytes?: boolean;
  /** Keep at most this many RAM runs (default 100,000); the rest are counted. */
  maxRuns?: number;
  /** Progress over RAM pages compared. */
  onProgress?: (done: number, total: number) => void;
  /** Checked between chunks: stop with an error when it says so. */
  cancelled?: () => boolean;
}

export function placeOffset(side: DiffSide, streamOffset: number): DiffOffset {
  const file = side.fileOffsetOf(streamOffset);
  return file === undefined ? { stream: streamOffset } : { stream: streamOffset, file };
}
