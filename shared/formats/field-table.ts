import type { HeaderField } from './container-model';

/**
 * A fixed-layout header described once, as data: the parser reads its fields through the
 * table, and the structure tree and `migwb info` show the fields the parser read from it.
 */
export interface FieldLayout {
  name: string;
  /** Offset in the header (the header starts the file). */
  offset: number;
  /** Bytes: 1, 2, 4 or 8 for an unsigned integer; more for bytes shown as text (a magic). */
  size: number;
  /** The first header version that has the field (qcow2 v3 fields). */
  since?: number;
}

export interface HeaderLayout {
  /** Bytes the header occupies. */
  size: number;
  /** "either": written in the saving host's byte order, told apart by the file (libvirt). */
  byteOrder: 'big' | 'little' | 'either';
  fields: readonly FieldLayout[];
}

/** Whether integers of `layout` are little-endian; `writer` tells for a header in its writer's byte order. */
export function isLittleEndian(layout: HeaderLayout, writer?: 'little' | 'big'): boolean {
  return (layout.byteOrder === 'either' ? writer : layout.byteOrder) === 'little';
}

/** The field named `name` (a typo in a format's own code is a programming error). */
export function layoutField(layout: HeaderLayout, name: string): FieldLayout {
  const f = layout.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no header field ${name}`);
  return f;
}

/** An unsigned integer field read from the header bytes (zeros past their end). */
export function readUint(header: Uint8Array, field: FieldLayout, littleEndian: boolean): number {
  const bytes = new Uint8Array(field.size);
  bytes.set(header.subarray(field.offset, field.offset + field.size));
  const v = new DataView(bytes.buffer);
  switch (field.size) {
    case 1:
      return v.getUint8(0);
    case 2:
      return v.getUint16(0, littleEndian);
    case 4:
      return v.getUint32(0, littleEndian);
    case 8:
      return Number(v.getBigUint64(0, littleEndian));
    default:
      throw new Error(`header field ${field.name} (${field.size} bytes) is not an integer`);
  }
}

/** Every integer field of `layout` a header of `version` has, read from `header`, by name. */
export function readHeaderFields(header: Uint8Array, layout: HeaderLayout, littleEndian: boolean, version = Infinity): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of layout.fields) if (f.size <= 8 && (f.since ?? 0) <= version) out[f.name] = readUint(header, f, littleEndian);
  return out;
}

/** The fields as a layer lists them: where each is, and the value the parser settled on. */
export function headerFieldsOf(fields: readonly FieldLayout[], value: (f: FieldLayout) => number): HeaderField[] {
  return fields.map((f) => ({ name: f.name, offset: f.offset, length: f.size, value: value(f) }));
}
