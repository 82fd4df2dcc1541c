import { utf8Decode } from '../../util/text-bytes';
import { SectionType } from './constants';
import type { VmdescField, VmdescLayout, VmdescStruct } from './vmdesc';
import { nodeBudget } from './vmstate-measure';

/** One decoded vmstate field, struct, array or subsection, with its exact byte range. */
export interface FieldNode {
  name: string;
  /** The vmdesc type ("uint32", "struct", "buffer", …); "array" and "subsection" for groupings. */
  type: string;
  /** Absolute file offset of the first byte. */
  offset: number;
  size: number;
  /** Element number inside an array. */
  index?: number;
  value?: FieldValue;
  children?: FieldNode[];
  vmsdName?: string;
  version?: number;
  /** Why this node could not be decoded as described. */
  problem?: string;
  /** What the value means, when that takes more than the number (named feature bits, a guest-memory index). */
  note?: string;
}

export type FieldValue =
  | { kind: 'int'; hex: string; dec: string; signed: boolean; bits: number; littleEndian: boolean }
  | { kind: 'bool'; value: boolean }
  | { kind: 'float'; value: number }
  | { kind: 'bytes'; hex: string; truncated: boolean }
  | { kind: 'text'; value: string }
  | { kind: 'nullptr' };

/** Byte values shown inline; longer buffers are shown by the hex view. */
const MAX_INLINE_BYTES = 64 * 1024;
const MAX_DEPTH = 64;
/** vmstate integer types: signedness, width, and an optional load-time check ("equal", "le"). */
export const INT_TYPE = /^(u?)int(8|16|32|64)(?: (equal|le))?$/;
/**
 * Little-endian unsigned integers, which no vmstate field is but data QEMU copies as bytes
 * holds (a virtio device's config space, the PCI config space): "le16", "le32", "le64".
 */
export const LE_INT_TYPE = /^le(16|32|64)$/;

export class DecodeOverrun extends Error {
  constructor(readonly at: number, readonly needed: number, readonly available: number, message?: string) {
    super(message ?? `needs ${needed} bytes at offset ${at} but only ${available} remain in the section`);
  }
}

/** Nodes a decode may still create; shared by the nested decoders of one section. */
interface Budget {
  left: number;
  limit: number;
  /** Why the limit is what it is, for the problem when it is passed. */
  why: string;
}

/** A tighter node limit than the section's bytes allow (the app keeps what it shows bounded). */
export interface NodeLimit {
  nodes: number;
  why: string;
}

/**
 * Decodes a vmstate payload held in `bytes` (which starts at file offset `base`) following
 * its vmdesc description. Returns the nodes and the number of bytes consumed; throws
 * DecodeOverrun if the description needs more bytes than the payload has.
 */
export function decodeVmstate(bytes: Uint8Array, base: number, desc: VmdescLayout, tighter?: NodeLimit): { nodes: FieldNode[]; consumed: number } {
  // Work is bounded by the bytes the section holds, whatever the description says.
  const bytesAllow = nodeBudget(bytes.length);
  const budget = tighter && tighter.nodes < bytesAllow ? { limit: tighter.nodes, why: tighter.why } : { limit: bytesAllow, why: "more than the section's bytes can hold" };
  const r = new StructDecoder(bytes, base, { ...budget, left: budget.limit });
  const nodes = r.struct(desc, 0);
  return { nodes, consumed: r.pos };
}

class StructDecoder {
  pos = 0;
  constructor(private readonly bytes: Uint8Array, private readonly base: number, private readonly budget: Budget) {}

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new DecodeOverrun(this.base + this.pos, n, this.bytes.length - this.pos);
  }

  private spend(n: number): void {
    this.budget.left -= n;
    if (this.budget.left < 0) {
      throw new DecodeOverrun(this.base + this.pos, 0, this.bytes.length - this.pos, `the description unfolds into more than ${this.budget.limit} fields and array elements, ${this.budget.why}`);
    }
  }

  struct(desc: VmdescLayout, depth: number): FieldNode[] {
    if (depth > MAX_DEPTH) throw new DecodeOverrun(this.base + this.pos, 0, 0);
    const nodes: FieldNode[] = [];
    for (const f of desc.fields ?? []) {
      if (f.array_len !== undefined) {
        const start = this.pos;
        // The whole array must fit before any element is decoded.
        this.need(f.size * f.array_len);
        this.spend(1);
        const children: FieldNode[] = [];
        for (let i = 0; i < f.array_len; i++) children.push(this.field(f, depth, i));
        nodes.push({ name: f.name, type: 'array', offset: this.base + start, size: this.pos - start, children });
      } else {
        nodes.push(this.field(f, depth, f.index));
      }
    }
    for (const sub of desc.subsections ?? []) nodes.push(this.subsection(sub, depth));
    return nodes;
  }

  private subsection(sub: VmdescStruct, depth: number): FieldNode {
    const start = this.pos;
    this.spend(1);
    this.need(2);
    const marker = this.bytes[this.pos];
    const len = this.bytes[this.pos + 1];
    this.need(2 + len + 4);
    const name = utf8Decode(this.bytes.subarray(this.pos + 2, this.pos + 2 + len));
    if (marker !== SectionType.SUBSECTION || name !== sub.vmsd_name) {
      return { name: sub.vmsd_name, type: 'subsection', offset: this.base + start, size: 0, problem: `expected subsection ${sub.vmsd_name} here` };
    }
    const p = this.pos + 2 + len;
    const version = ((this.bytes[p] << 24) | (this.bytes[p + 1] << 16) | (this.bytes[p + 2] << 8) | this.bytes[p + 3]) >>> 0;
    this.pos = p + 4;
    const children = this.struct(sub, depth + 1);
    return { name, type: 'subsection', offset: this.base + start, size: this.pos - start, vmsdName: sub.vmsd_name, version, children };
  }

  private field(f: VmdescField, depth: number, index: number | undefined): FieldNode {
    this.need(f.size);
    this.spend(1);
    const start = this.pos;
    const node: FieldNode = { name: f.name, type: f.type, offset: this.base + start, size: f.size };
    if (index !== undefined) node.index = index;
    const inner = f.struct ?? (f.fields ? { vmsd_name: f.vmsd_name ?? f.name, version: f.version ?? 0, fields: f.fields } : undefined);
    if (inner) {
      node.vmsdName = inner.vmsd_name;
      node.version = inner.version;
      const sub = new StructDecoder(this.bytes.subarray(start, start + f.size), this.base + start, this.budget);
      try {
        node.children = sub.struct(inner, depth + 1);
        if (sub.pos !== f.size) node.problem = `the description covers ${sub.pos} of the field's ${f.size} bytes`;
      } catch (e) {
        if (!(e instanceof DecodeOverrun)) throw e;
        // An exhausted budget is the whole section's problem, not this field's.
        if (this.budget.left < 0) throw e;
        node.problem = `the description needs more than the field's ${f.size} bytes`;
      }
      if (f.type !== 'struct') node.value = bytesValue(this.bytes.subarray(start, start + f.size));
    } else {
      node.value = scalarValue(f.type, this.bytes.subarray(start, start + f.size));
    }
    this.pos = start + f.size;
    return node;
  }
}

/** Decodes a scalar the way its VMStateInfo wrote it (big-endian unless the type says "le"). */
export function scalarValue(type: string, b: Uint8Array): FieldValue {
  const m = INT_TYPE.exec(type);
  // "equal" and "le" are load-time checks (value == / <= the destination's), not byte
  // orders: QEMU writes every vmstate integer big-endian (vmstate-types.c get_int32_le).
  if (m && b.length === Number(m[2]) / 8) return intValue(b, m[1] !== 'u', false);
  const le = LE_INT_TYPE.exec(type);
  if (le && b.length === Number(le[1]) / 8) return intValue(b, false, true);
  if (type === 'bool' && b.length === 1) return { kind: 'bool', value: b[0] !== 0 };
  if (type === 'timer' && b.length === 8) return intValue(b, true, false);
  if (type === 'float64' && b.length === 8) return { kind: 'float', value: new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false) };
  if (type === 'nullptr' && b.length === 1 && b[0] === 0x30) return { kind: 'nullptr' };
  if (type === 'capability' && b.length >= 1 && b[0] === b.length - 1) return { kind: 'text', value: utf8Decode(b.subarray(1)) };
  return bytesValue(b);
}

export function intValue(b: Uint8Array, signed: boolean, littleEndian: boolean): FieldValue {
  let u = 0n;
  for (let k = 0; k < b.length; k++) u = (u << 8n) | BigInt(b[littleEndian ? b.length - 1 - k : k]);
  const bits = b.length * 8;
  const s = signed && u >= 1n << BigInt(bits - 1) ? u - (1n << BigInt(bits)) : u;
  return { kind: 'int', hex: '0x' + u.toString(16).padStart(b.length * 2, '0'), dec: s.toString(), signed, bits, littleEndian };
}

export function bytesValue(b: Uint8Array): FieldValue {
  const shown = b.length > MAX_INLINE_BYTES ? b.subarray(0, MAX_INLINE_BYTES) : b;
  return { kind: 'bytes', hex: hexBytes(shown), truncated: shown.length < b.length };
}

/** "00 1f a0" — the byte notation analyze-migration.py uses. */
export function hexBytes(b: Uint8Array): string {
  const parts = new Array<string>(b.length);
  for (let k = 0; k < b.length; k++) parts[k] = (b[k] < 16 ? '0' : '') + b[k].toString(16);
  return parts.join(' ');
}
