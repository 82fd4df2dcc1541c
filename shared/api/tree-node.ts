import type { FieldValue } from '../formats/qemu-stream/vmstate-decode';

/** A node of the structure tree, as the API hands it to the renderer (its own module, so the formats that draw wrapper nodes need nothing else of the contract). */

export type TreeNodeKind =
  | 'stream'
  | 'file-header'
  | 'section'
  | 'header-field'
  | 'field'
  | 'array'
  | 'struct'
  | 'subsection'
  | 'ram-blocks'
  | 'ram-block'
  | 'page-run'
  | 'page'
  | 'footer'
  | 'vmdesc'
  | 'container'
  | 'container-part'
  | 'unknown';

export interface TreeNode {
  id: string;
  kind: TreeNodeKind;
  label: string;
  /** Short type or summary shown after the label. */
  detail?: string;
  /** Offset and length of the bytes the node covers, in the stream unless `space` says file. */
  offset: number;
  length: number;
  /** 'file' for wrapper nodes (libvirt header, XML, qcow2 snapshot table), outside the stream. */
  space?: 'file';
  /** Shown expanded when the image opens (a wrapper and its stream, so the sections are in sight). */
  initiallyOpen?: boolean;
  hasChildren: boolean;
  damaged?: boolean;
  value?: FieldValue;
  /** A page record: the guest page it sends (see PageOfRecord). */
  guestPage?: PageOfRecord;
}

/** Where the page a RAM record sends lives in the guest, and where its data is in the record. */
export interface PageOfRecord {
  block: string;
  /** Offset of the page in its RAM block. */
  blockOffset: number;
  /** Guest-physical address of the page (the first one, when ROM is aliased); absent where the machine does not map the block. */
  gpa?: number;
  /** Stream offset and length of the record's data. */
  dataOffset: number;
  dataLength: number;
  /** Whether the data is the page's bytes as they are (PAGE, mapped-ram), or encodes them (zlib, XBZRLE, a ZERO fill byte). */
  literal: boolean;
}
