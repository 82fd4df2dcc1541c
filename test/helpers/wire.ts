/**
 * What `migwb … --json` prints, as far as the tests read it (snake_case, as the CLI writes
 * it). JSON.parse gives `any`; callbacks over its arrays name the shape they rely on here.
 */

export interface JsonDiagnostic {
  severity: 'error' | 'warning' | 'info';
  code: string;
  offset: number;
  offset_space?: 'file' | 'vmstate' | 'decompressed';
  expected: string;
  found: string;
  message: string;
  hint?: string;
}

/** A device field of `migwb dump --json`. */
export interface DumpedField {
  name: string;
  type: string;
  offset: number;
  size: number;
}

/** A section of `migwb dump --json`. */
export interface DumpedSection {
  idstr: string;
  instance_id: number;
  type: string;
  payload_offset: number;
  described_by: 'vmdesc' | 'borrowed-vmdesc' | 'raw';
  problem?: string;
  fields: DumpedField[];
}

/** What `migwb dump --json` prints. */
export interface DumpOutput {
  sections: DumpedSection[];
  diagnostics: JsonDiagnostic[];
  borrowed_vmdesc?: { from: string; described: number; undescribed: number };
}

/** A RAM block as the element table lists it. */
export interface RamBlock {
  id: string;
  used_length: number;
}

/** A RAM block of `migwb ram --json` and of ram-map.json. */
export interface RamBlockReport {
  id: string;
  pages: number | Record<string, number>;
  gpa_ranges: { gpa: number; size: number }[];
  unmapped_reason?: string;
  /** `migwb ram`: the kind of the record that gives each page its final content, counted. */
  final_pages: Record<string, number>;
  records: Record<string, number>;
  /** ram-map.json: the block's pages as runs. */
  extents: { gpa: number; kind: string; pages: number }[];
}

/** One image's matches of `migwb search --json`. */
export interface SearchResult {
  image: string;
  hits: { gpa: number; block: string; block_offset: number; kind: string; file_offset: number; offset_space: string }[];
  truncated?: boolean;
}

/** A library row of `migwb ls/find --json`. */
export interface ListedImage {
  path: string;
  status: string;
}
