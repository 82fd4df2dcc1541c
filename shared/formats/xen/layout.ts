import { latin1Decode } from '../../util/text-bytes';
import { bytesValue, intValue, type FieldNode } from '../qemu-stream/vmstate-decode';

/**
 * Xen's fixed structures (record bodies, save.h records, vCPU contexts) described once as
 * data: a list of fields, each a scalar, a byte string, text or a nested struct, optionally
 * repeated. The decoder turns bytes into the same FieldNode trees the QEMU engine produces,
 * so the structure tree, the inspector, JSON and field edits treat Xen fields like vmstate
 * fields. Integers are in the stream's byte order (little-endian on x86).
 */
export type ScalarType = 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'int32' | 'int64';

export interface LayoutField {
  name: string;
  type: ScalarType | 'buffer' | 'text' | 'struct';
  /** Byte size of one 'buffer' or 'text' element (scalars know their own size). */
  size?: number;
  /** Repeat count: an array of `count` elements. */
  count?: number;
  /** Members of a 'struct'. */
  fields?: readonly LayoutField[];
}

export type Layout = readonly LayoutField[];

const SCALAR_BYTES: Readonly<Record<ScalarType, number>> = { uint8: 1, uint16: 2, uint32: 4, uint64: 8, int32: 4, int64: 8 };

/** Bytes one element of `f` occupies. */
export function elementSize(f: LayoutField): number {
  if (f.type === 'struct') return layoutSize(f.fields ?? []);
  if (f.type === 'buffer' || f.type === 'text') return f.size ?? 0;
  return SCALAR_BYTES[f.type];
}

export function fieldSize(f: LayoutField): number {
  return elementSize(f) * (f.count ?? 1);
}

export function layoutSize(layout: Layout): number {
  return layout.reduce((n, f) => n + fieldSize(f), 0);
}

/** Shorthands for layouts written as tables. */
export const u8 = (name: string): LayoutField => ({ name, type: 'uint8' });
export const u16 = (name: string): LayoutField => ({ name, type: 'uint16' });
export const u32 = (name: string): LayoutField => ({ name, type: 'uint32' });
export const u64 = (name: string): LayoutField => ({ name, type: 'uint64' });
export const bytes = (name: string, size: number): LayoutField => ({ name, type: 'buffer', size });
export const text = (name: string, size: number): LayoutField => ({ name, type: 'text', size });
export const array = (f: LayoutField, count: number): LayoutField => ({ ...f, count });
export const struct = (name: string, fields: Layout, count?: number): LayoutField => ({ name, type: 'struct', fields, count });
/** `unsigned long` of a PV guest or a legacy toolstack: 4 or 8 bytes. */
export const ulong = (name: string, width: 4 | 8): LayoutField => ({ name, type: width === 8 ? 'uint64' : 'uint32' });

export interface Decoded {
  nodes: FieldNode[];
  /** Bytes the layout covered (less than its size when the data ended early). */
  consumed: number;
}

/**
 * Decodes `data` (which sits at file offset `base`) with `layout`. Fields that do not fit in
 * `data` are left out and the last node that was cut says so; bytes past the layout are the
 * caller's to show.
 */
export function decodeLayout(data: Uint8Array, base: number, layout: Layout, littleEndian: boolean): Decoded {
  const d = new LayoutDecoder(data, base, littleEndian);
  const nodes = d.fields(layout);
  return { nodes, consumed: d.pos };
}

class LayoutDecoder {
  pos = 0;
  constructor(private readonly data: Uint8Array, private readonly base: number, private readonly le: boolean) {}

  fields(layout: Layout): FieldNode[] {
    const out: FieldNode[] = [];
    for (const f of layout) {
      if (this.pos >= this.data.length) break;
      out.push(f.count === undefined ? this.element(f, undefined) : this.array(f));
    }
    return out;
  }

  private array(f: LayoutField): FieldNode {
    const start = this.pos;
    const children: FieldNode[] = [];
    for (let i = 0; i < f.count! && this.pos < this.data.length; i++) children.push(this.element(f, i));
    const node: FieldNode = { name: f.name, type: 'array', offset: this.base + start, size: this.pos - start, children };
    if (children.length < f.count!) node.problem = `the data ends after ${children.length} of ${f.count} elements`;
    return node;
  }

  private element(f: LayoutField, index: number | undefined): FieldNode {
    const start = this.pos;
    const size = elementSize(f);
    const node: FieldNode = { name: f.name, type: f.type, offset: this.base + start, size };
    if (index !== undefined) node.index = index;
    if (f.type === 'struct') {
      node.children = this.fields(f.fields ?? []);
      node.size = this.pos - start;
      if (node.size < size) node.problem = `the data ends ${size - node.size} bytes before the end of the struct`;
      return node;
    }
    const available = Math.min(size, this.data.length - start);
    const b = this.data.subarray(start, start + available);
    this.pos = start + available;
    if (available < size) {
      node.size = available;
      node.value = bytesValue(b);
      node.problem = `the data ends ${size - available} bytes into this ${size}-byte field`;
      return node;
    }
    if (f.type === 'buffer') node.value = bytesValue(b);
    // Latin-1 with only trailing NULs dropped, so encodeNodes() gives the bytes back exactly.
    else if (f.type === 'text') node.value = { kind: 'text', value: latin1Decode(b).replace(/\0+$/, '') };
    else node.value = intValue(b, f.type.startsWith('int'), this.le);
    return node;
  }
}

/** Reads one little- or big-endian unsigned integer of 1, 2, 4 or 8 bytes as a bigint. */
export function readUint(data: Uint8Array, at: number, width: number, littleEndian: boolean): bigint {
  let v = 0n;
  for (let k = 0; k < width; k++) v = (v << 8n) | BigInt(data[at + (littleEndian ? width - 1 - k : k)]);
  return v;
}

/** Writes `v` as an unsigned integer of `width` bytes into `out` at `at`. */
export function writeUint(out: Uint8Array, at: number, width: number, v: bigint | number, littleEndian: boolean): void {
  let x = BigInt(v);
  for (let k = 0; k < width; k++) {
    out[at + (littleEndian ? k : width - 1 - k)] = Number(x & 0xffn);
    x >>= 8n;
  }
}

/** A field's value as a bigint (ints only), for summaries computed from decoded nodes. */
export function nodeInt(nodes: readonly FieldNode[], name: string): bigint | undefined {
  const v = nodes.find((n) => n.name === name)?.value;
  return v?.kind === 'int' ? BigInt(v.hex) : undefined;
}

/**
 * Writes decoded fields back into bytes: the inverse of decodeLayout, used by the writer
 * (a stream re-encoded from its decoded fields must equal the original) and by edits.
 * `base` is the file offset of the output's first byte. False when a leaf cannot be
 * re-encoded (a byte value too long to have been kept inline).
 */
export function encodeNodes(nodes: readonly FieldNode[], out: Uint8Array, base: number): boolean {
  for (const n of nodes) {
    if (n.children) {
      if (!encodeNodes(n.children, out, base)) return false;
      continue;
    }
    const at = n.offset - base;
    const v = n.value;
    if (!v) return false;
    if (v.kind === 'int') writeUint(out, at, n.size, BigInt(v.hex), v.littleEndian);
    else if (v.kind === 'bytes') {
      if (v.truncated) return false;
      const hex = v.hex.replace(/ /g, '');
      for (let k = 0; k < n.size; k++) out[at + k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16);
    } else if (v.kind === 'text') {
      for (let k = 0; k < n.size; k++) out[at + k] = k < v.value.length ? v.value.charCodeAt(k) & 0xff : 0;
    } else return false;
  }
  return true;
}
