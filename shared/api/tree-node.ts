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
}
