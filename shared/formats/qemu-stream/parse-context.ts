import type { DiagnosticSink } from '../../diagnostics';
import type { Cursor } from '../../io/cursor';
import type { RamBlock, StreamElement } from './model';
import type { PageIndex } from './page-index';
import type { VmdescLocation } from './vmdesc';

/** A section whose end could not be found; the parser resynchronises after it. */
export class DesyncError extends Error {
  constructor(
    readonly offset: number,
    readonly code: string,
    readonly expected: string,
    readonly found: string,
    readonly hint?: string,
  ) {
    super(`${expected}, found ${found}`);
    this.name = 'DesyncError';
  }
}

/** State shared by the section readers while one stream is parsed. */
export interface ParseContext {
  cur: Cursor;
  sink: DiagnosticSink;
  pageSize: number;
  capabilities: Set<string>;
  ramBlocks: RamBlock[];
  ramBlockByName: Map<string, number>;
  /** RAM block of the last page record; QEMU carries it across sections. */
  currentRamBlock: number;
  pages: PageIndex;
  elements: StreamElement[];
  /** Iterable sections opened by START, by section id. */
  iterables: Map<number, StreamElement>;
  vmdescLocation?: VmdescLocation;
  /** undefined until the first self-delimiting section shows whether footers are written. */
  footers?: boolean;
  /** ParseOptions.onPageData. */
  onPageData?: (block: RamBlock, page: number, data: Uint8Array) => void;
  reportProgress(): void;
}
