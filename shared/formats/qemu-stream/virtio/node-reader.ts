import { utf8Decode } from '../../../util/text-bytes';
import { SectionType } from '../constants';
import { bytesValue, DecodeOverrun, scalarValue, type FieldNode } from '../vmstate-decode';

/** A field of a hand-described layout: its name and type (vmstate types, "le16/32/64", or "buffer" with a size). */
export interface LayoutField {
  name: string;
  type: 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'int32' | 'bool' | 'le16' | 'le32' | 'le64' | 'buffer';
  /** Bytes, for buffers. */
  size?: number;
  /** What a value means (named bits, an enum), for the node's note. */
  meaning?: (value: bigint) => string | undefined;
}

const SIZES: Record<string, number> = { uint8: 1, bool: 1, uint16: 2, le16: 2, uint32: 4, int32: 4, le32: 4, uint64: 8, le64: 8 };

/**
 * Reads state QEMU wrote without describing it (virtio_save's hand-written parts) into the
 * same FieldNodes the vmdesc decoder makes: named, typed, with exact offsets, so the tree,
 * dump and field edits treat them like any other field. Throws DecodeOverrun past the end.
 */
export class NodeReader {
  pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    /** File offset of bytes[0]. */
    private readonly base: number,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  offsetOf(at: number): number {
    return this.base + at;
  }

  peek(n: number): Uint8Array {
    this.need(n);
    return this.bytes.subarray(this.pos, this.pos + n);
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new DecodeOverrun(this.base + this.pos, n, this.end - this.pos);
  }

  field(f: LayoutField): FieldNode {
    const size = f.type === 'buffer' ? f.size ?? 0 : SIZES[f.type];
    this.need(size);
    const raw = this.bytes.subarray(this.pos, this.pos + size);
    const node: FieldNode = { name: f.name, type: f.type, offset: this.base + this.pos, size, value: f.type === 'buffer' ? bytesValue(raw) : scalarValue(f.type, raw) };
    if (f.meaning && node.value?.kind === 'int') node.note = f.meaning(BigInt(node.value.hex));
    this.pos += size;
    return node;
  }

  fields(list: readonly LayoutField[]): FieldNode[] {
    return list.map((f) => this.field(f));
  }

  /** The value of a node this reader made (integers and bools). */
  static value(n: FieldNode | undefined): bigint {
    if (n?.value?.kind === 'int') return BigInt(n.value.hex);
    if (n?.value?.kind === 'bool') return n.value.value ? 1n : 0n;
    return 0n;
  }

  group(name: string, type: string, read: () => FieldNode[], index?: number): FieldNode {
    const start = this.pos;
    const children = read();
    return { name, type, offset: this.base + start, size: this.pos - start, children, ...(index !== undefined ? { index } : {}) };
  }

  array(name: string, count: number, element: (i: number) => FieldNode): FieldNode {
    const start = this.pos;
    const children: FieldNode[] = [];
    // Elements carry the array's name and their index, as the vmdesc decoder's arrays do.
    for (let i = 0; i < count; i++) children.push({ ...element(i), name, index: i });
    return { name, type: 'array', offset: this.base + start, size: this.pos - start, children };
  }

  /** A vmstate subsection header (0x05, name, be32 version) if one starts here with a name `accept`s. */
  subsectionHeader(accept: (name: string) => boolean): { name: string; version: number; headerSize: number } | undefined {
    if (this.remaining < 2 || this.bytes[this.pos] !== SectionType.SUBSECTION) return undefined;
    const len = this.bytes[this.pos + 1];
    if (this.remaining < 2 + len + 4) return undefined;
    const name = utf8Decode(this.bytes.subarray(this.pos + 2, this.pos + 2 + len));
    if (!accept(name)) return undefined;
    const p = this.pos + 2 + len;
    const version = ((this.bytes[p] << 24) | (this.bytes[p + 1] << 16) | (this.bytes[p + 2] << 8) | this.bytes[p + 3]) >>> 0;
    return { name, version, headerSize: 2 + len + 4 };
  }

  /** A subsection node whose body `read` decodes. */
  subsection(header: { name: string; version: number; headerSize: number }, read: () => FieldNode[]): FieldNode {
    const start = this.pos;
    this.pos += header.headerSize;
    const children = read();
    return { name: header.name, type: 'subsection', offset: this.base + start, size: this.pos - start, vmsdName: header.name, version: header.version, children };
  }

  rest(name: string, problem?: string): FieldNode {
    const node = this.field({ name, type: 'buffer', size: this.remaining });
    if (problem) node.problem = problem;
    return node;
  }
}
