import { latin1Decode } from '../util/text-bytes';
import type { TreeNode } from '../api/contract';
import { readBytes, type ByteSource } from '../io/byte-source';
import type { HeaderField } from './container-model';
import { intValue } from './qemu-stream/vmstate-decode';

/** Building blocks of a format's wrapper tree (see WrapperTree): every node lies in the file. */

export function wrapperNode(id: string, kind: TreeNode['kind'], label: string, detail: string, offset: number, length: number, hasChildren: boolean): TreeNode {
  return { id, kind, label, detail, offset, length, hasChildren, space: 'file' };
}

/** The fields of a fixed-layout header (`headerId`/0, /1 …), each with its value read from the file in the header's byte order. */
export function headerFieldNodes(file: ByteSource, fields: readonly HeaderField[], littleEndian: boolean, headerId: string): TreeNode[] {
  return fields.map((f, i) => ({ ...wrapperNode(`${headerId}/${i}`, 'header-field', f.name, fieldType(f, littleEndian), f.offset, f.length, false), value: fieldValue(file, f, littleEndian) }));
}

function fieldValue(file: ByteSource, f: HeaderField, littleEndian: boolean): TreeNode['value'] {
  const b = readBytes(file, f.offset, f.length);
  return f.length > 8 ? { kind: 'text', value: latin1Decode(b).replace(/\0+$/, '') } : intValue(b, false, littleEndian);
}

function fieldType(f: HeaderField, littleEndian: boolean): string {
  return f.length > 8 ? `${f.length} bytes` : `${littleEndian ? 'le' : 'be'}${f.length * 8}`;
}
