import type { ByteSource } from '../../io/byte-source';
import { pyJsonDumps, type PyValue } from '../../util/py-json';
import type { QemuStreamModel } from './model';
import { decodeSection, type DecodedSection } from './section-decoder';
import { hexBytes, type FieldNode } from './vmstate-decode';

/**
 * Output identical to QEMU's scripts/analyze-migration.py (10.0 semantics, which equal
 * 7.2's on every 7.2 stream): `-d state` and `-d desc`, so users can switch tools.
 * Where the script gives up (configuration subsections, XBZRLE, compressed pages,
 * mapped-ram, no vmdesc) the same shape is produced from what this engine decodes.
 */
export function analyzeCompatState(source: ByteSource, model: QemuStreamModel): string {
  const sections = new Map<number, { name: string; value: PyValue }>();
  const ramSizes = new Map<string, PyValue>();
  for (const e of model.elements) {
    if ((e.type !== 'START' && e.type !== 'FULL') || e.sectionId === undefined) continue;
    let value: PyValue;
    if (e.idstr === 'ram') {
      for (const b of e.ramBlocks ?? []) ramSizes.set(b.id, '0x' + b.usedLength.toString(16).padStart(16, '0'));
      value = new Map([['section sizes', ramSizes]]);
    } else if (e.type === 'START') {
      value = ''; // spapr/htab, s390 storage attributes: the script prints ""
    } else {
      const decoded = decodeSection(source, model, e);
      value = compatStruct(decoded.nodes, decoded.bytes, decoded.payloadOffset);
    }
    // Python dict semantics: a re-used section id keeps its position, takes the new value.
    sections.set(e.sectionId, { name: e.idstr ?? '', value });
  }
  const out = new Map<string, PyValue>();
  for (const [sid, s] of sections) out.set(`${s.name} (${sid})`, s.value);
  return pyJsonDumps(out) + '\n';
}

/** One decoded section in the shape analyze-migration.py prints it (for the editor tab). */
export function analyzeCompatSection(decoded: DecodedSection): string {
  return pyJsonDumps(compatStruct(decoded.nodes, decoded.bytes, decoded.payloadOffset));
}

export function analyzeCompatDesc(model: QemuStreamModel): string {
  const desc = (model.vmdesc ?? { page_size: model.pageSize, devices: [] }) as unknown as PyValue;
  return pyJsonDumps(desc) + '\n';
}

/** analyze-migration.py's field readers by vmdesc type (vmsd_field_readers). */
type Reader = 'bool' | 'int' | 'uint' | 'struct' | 'capability' | 'nullptr' | 'generic';
const READERS: Record<string, Reader> = {
  bool: 'bool',
  int8: 'int',
  int16: 'int',
  int32: 'int',
  'int32 equal': 'int',
  'int32 le': 'int', // big-endian: "le" is QEMU's less-or-equal load check, not the byte order
  int64: 'int',
  uint8: 'uint',
  uint16: 'uint',
  uint32: 'uint',
  'uint32 equal': 'uint',
  uint64: 'uint',
  'int64 equal': 'int',
  'uint8 equal': 'int', // VMSDFieldInt: shown signed by the script
  'uint16 equal': 'int',
  struct: 'struct',
  capability: 'capability',
  nullptr: 'nullptr',
};

function compatStruct(nodes: FieldNode[], bytes: Uint8Array, base: number): Map<string, PyValue> {
  const d = new Map<string, PyValue>();
  for (const n of nodes) {
    if (n.type === 'subsection') {
      if (!n.problem) d.set(n.name, compatStruct(n.children ?? [], bytes, base));
    } else if (n.type === 'array') {
      for (const c of n.children ?? []) merge(d, n.name, compatField(c, bytes, base));
    } else {
      merge(d, n.name, compatField(n, bytes, base));
    }
  }
  return d;
}

/** analyze-migration.py 10.0: a repeated field name turns into a list of its values. */
function merge(d: Map<string, PyValue>, name: string, v: PyValue): void {
  const existing = d.get(name);
  if (existing === undefined) d.set(name, v);
  else if (Array.isArray(existing)) existing.push(v);
  else d.set(name, [existing, v]);
}

function compatField(n: FieldNode, bytes: Uint8Array, base: number): PyValue {
  const raw = bytes.subarray(n.offset - base, n.offset - base + n.size);
  switch (READERS[n.type] ?? 'generic') {
    case 'bool':
      return raw.length > 0 && raw[0] !== 0;
    case 'int':
      return pyInt(raw, true);
    case 'uint':
      return pyInt(raw, false);
    case 'struct':
      return compatStruct(n.children ?? [], bytes, base);
    case 'capability':
      return n.value?.kind === 'text' ? n.value.value : hexBytes(raw);
    case 'nullptr':
      return 'nullptr';
    default:
      return hexBytes(raw);
  }
}

/** VMSDFieldInt.__repr__: "0x%0{2n}x" of the unsigned value, plus " (signed)" if negative. */
function pyInt(raw: Uint8Array, signed: boolean): string {
  let u = 0n;
  for (const b of raw) u = (u << 8n) | BigInt(b);
  const text = '0x' + u.toString(16).padStart(raw.length * 2, '0');
  if (!signed || raw.length === 0 || u < 1n << BigInt(raw.length * 8 - 1)) return text;
  return `${text} (${(u - (1n << BigInt(raw.length * 8))).toString()})`;
}
