/** The guest memory map as the API carries it (computed by shared/memory/memory-map.ts). */

/** What a page holds after loading: data stored as is, data to decode, zeros, or nothing sent. */
export type PageState = 'present' | 'compressed' | 'xbzrle' | 'zero' | 'never-sent';

/** One letter per state in a row's `cells` string. */
export const PAGE_STATE_CODES: Readonly<Record<PageState, string>> = { present: 'p', compressed: 'c', xbzrle: 'x', zero: 'z', 'never-sent': 'n' };

export type PageStateCounts = Record<PageState, number>;

export interface MemoryMapRow {
  kind: 'region' | 'hole' | 'unmapped-block';
  /** Guest-physical start and size (regions and holes); for an unmapped block, its block offset 0 and size. */
  gpa: number | null;
  size: number;
  /** The RAM block behind a region (or the unmapped block). */
  block?: string;
  blockOffset?: number;
  readOnly?: boolean;
  /** Why QEMU maps it there, why nothing is there, or why the block has no address. */
  why: string;
  /** Pages of each final state (regions and blocks). */
  pages?: PageStateCounts;
  /** One PAGE_STATE_CODES letter per cell of equal size: the state most of the cell's pages are in. */
  cells?: string;
}

export interface MemoryMap {
  pageSize: number;
  /** The machine's layout rule, or why there is none (then only blocks are listed). */
  rule: string;
  hasLayout: boolean;
  /** One past the highest guest-physical address mapped (0 without a layout). */
  end: number;
  rows: MemoryMapRow[];
  /** Every RAM block with its size, in stream order. */
  blocks: { id: string; size: number }[];
}
