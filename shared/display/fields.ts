import type { FieldNode } from '../formats/qemu-stream/vmstate-decode';

/**
 * Named access to a decoded device section (the FieldNode tree the vmdesc gives): the
 * display code reads registers by the names QEMU's VMStateDescriptions use ("sr", "vbe_regs",
 * "guest_primary.surface"), so a field that moved or changed size is noticed, not misread.
 */
export class Fields {
  constructor(
    readonly nodes: readonly FieldNode[],
    /** The section's payload and where it starts in the stream: field bytes are read from it. */
    private readonly payload: Uint8Array,
    private readonly payloadOffset: number,
  ) {}

  node(name: string): FieldNode | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  has(name: string): boolean {
    return this.node(name) !== undefined;
  }

  /** A struct or subsection child, as Fields over its children. */
  struct(name: string): Fields | undefined {
    const n = this.node(name);
    return n?.children ? new Fields(n.children, this.payload, this.payloadOffset) : undefined;
  }

  /** The first struct (at any depth) whose vmsd name is `vmsd`. */
  findStruct(vmsd: string): Fields | undefined {
    const walk = (list: readonly FieldNode[]): FieldNode | undefined => {
      for (const n of list) {
        if (n.vmsdName === vmsd && n.children && n.type !== 'subsection') return n;
        const inner = n.children && walk(n.children);
        if (inner) return inner;
      }
      return undefined;
    };
    const hit = walk(this.nodes);
    return hit ? new Fields(hit.children!, this.payload, this.payloadOffset) : undefined;
  }

  /** A subsection by its vmsd name ("vga.endian", "qxl/monitors-config"), if the stream has it. */
  subsection(vmsd: string): Fields | undefined {
    const n = this.nodes.find((c) => c.type === 'subsection' && c.name === vmsd && c.children);
    return n ? new Fields(n.children!, this.payload, this.payloadOffset) : undefined;
  }

  bytes(name: string): Uint8Array {
    const n = this.required(name);
    return this.bytesOf(n);
  }

  bytesOf(n: FieldNode): Uint8Array {
    const at = n.offset - this.payloadOffset;
    return this.payload.subarray(at, at + n.size);
  }

  /** An integer field as a number (64-bit values above 2^53 lose precision: use big()). */
  int(name: string): number {
    return Number(this.big(name));
  }

  big(name: string): bigint {
    return intOf(this.required(name));
  }

  bool(name: string): boolean {
    const v = this.required(name).value;
    if (v?.kind === 'bool') return v.value;
    return intOf(this.required(name)) !== 0n;
  }

  /** Elements of an array field. */
  array(name: string): FieldNode[] {
    return this.required(name).children ?? [];
  }

  arrayInts(name: string): number[] {
    return this.array(name).map((n) => Number(intOf(n)));
  }

  arrayStructs(name: string): Fields[] {
    return this.array(name).map((n) => new Fields(n.children ?? [], this.payload, this.payloadOffset));
  }

  /** Stream offset of a field, for "where it came from". */
  offsetOf(name: string): number {
    return this.required(name).offset;
  }

  private required(name: string): FieldNode {
    const n = this.node(name);
    if (!n) throw new MissingField(name, this.nodes.map((c) => c.name));
    return n;
  }
}

export class MissingField extends Error {
  constructor(
    readonly field: string,
    have: string[],
  ) {
    super(`the device state has no field "${field}" (it has ${have.slice(0, 12).join(', ')}${have.length > 12 ? ', …' : ''})`);
  }
}

/** The value of an integer node, signed when its type is. */
export function intOf(n: FieldNode): bigint {
  const v = n.value;
  if (v?.kind === 'int') return BigInt(v.dec);
  if (v?.kind === 'bool') return v.value ? 1n : 0n;
  throw new Error(`field "${n.name}" (${n.type}) is not an integer`);
}
