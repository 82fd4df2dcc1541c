import type { Diagnostic } from '../diagnostics';

/**
 * A wrapper around a QEMU stream, as its format describes it (a libvirt save image, a qcow2
 * internal snapshot; each format's layer type lives in its folder). Plain data: layers
 * cross from the open worker to the main thread and are printed by `migwb info --json`.
 */
export interface ContainerLayer {
  /** Which format's layer this is (see FormatDefinition.views.layerKind). */
  kind: string;
}

/** A byte range of the container file. */
export interface FileRange {
  offset: number;
  length: number;
}

/** One header field: where it is and what it holds. */
export interface HeaderField<T = number> extends FileRange {
  name: string;
  value: T;
}

/** What a container parser found: its layer, and its problems with file offsets. */
export interface ParsedContainer<L extends ContainerLayer> {
  layer: L;
  diagnostics: Diagnostic[];
}
