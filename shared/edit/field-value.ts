import { INT_TYPE, LE_INT_TYPE, type FieldNode, type FieldValue } from '../formats/qemu-stream/vmstate-decode';
import { parseHex } from './user-input';
import { EditError } from './errors';

/** How a field's bytes are encoded, from its vmstate type and size. */
export type FieldEncoding =
  | { kind: 'int'; bits: number; signed: boolean; littleEndian?: boolean }
  | { kind: 'bool' }
  | { kind: 'float64' }
  | { kind: 'bytes' }
  | { kind: 'not-editable'; why: string };

export function fieldEncoding(node: FieldNode): FieldEncoding {
  if (node.children) {
    const names = node.children.slice(0, 4).map((c) => (c.index !== undefined ? `${c.name}[${c.index}]` : c.name));
    return { kind: 'not-editable', why: `is a ${node.type === 'array' ? 'array' : node.type}; set one of its fields (${names.join(', ')}${node.children.length > 4 ? ', …' : ''})` };
  }
  const m = INT_TYPE.exec(node.type);
  // vmstate integers are big-endian ("equal" and "le" name QEMU's load-time checks, not byte
  // orders); fields of other formats (Xen records) carry their byte order in their value.
  if (m && node.size === Number(m[2]) / 8) return { kind: 'int', bits: Number(m[2]), signed: m[1] !== 'u', ...(node.value?.kind === 'int' && node.value.littleEndian ? { littleEndian: true } : {}) };
  const le = LE_INT_TYPE.exec(node.type);
  if (le && node.size === Number(le[1]) / 8) return { kind: 'int', bits: Number(le[1]), signed: false, littleEndian: true };
  if (node.type === 'timer' && node.size === 8) return { kind: 'int', bits: 64, signed: true };
  if (node.type === 'bool' && node.size === 1) return { kind: 'bool' };
  if (node.type === 'float64' && node.size === 8) return { kind: 'float64' };
  if (node.type === 'nullptr') return { kind: 'not-editable', why: 'is a NULL pointer marker (0x30) that QEMU checks; it cannot be changed' };
  return { kind: 'bytes' };
}

/**
 * Encodes the user's `text` for field `node`, checked against the field's type and size:
 * integers by width, sign and byte order with range checks, booleans, float64, and hex
 * bytes of exactly the field's size (another size only with `resize`).
 */
export function encodeFieldValue(node: FieldNode, text: string, where: string, resize = false): Uint8Array {
  const enc = fieldEncoding(node);
  switch (enc.kind) {
    case 'not-editable':
      throw new EditError(`${where} ${enc.why}`);
    case 'int':
      return encodeInt(parseInt(text, enc.bits, enc.signed, `${where} (${node.type})`), enc.bits, enc.littleEndian);
    case 'bool': {
      const v = text.trim().toLowerCase();
      if (['true', '1', 'on', 'yes'].includes(v)) return Uint8Array.of(1);
      if (['false', '0', 'off', 'no'].includes(v)) return Uint8Array.of(0);
      throw new EditError(`${where} is a bool: give true or false, not ${JSON.stringify(text)}`);
    }
    case 'float64': {
      const v = Number(text.trim());
      if (text.trim() === '' || (Number.isNaN(v) && text.trim().toLowerCase() !== 'nan')) throw new EditError(`${where} is a float64: give a number such as 1.5 or -2e10, not ${JSON.stringify(text)}`);
      const out = new Uint8Array(8);
      new DataView(out.buffer).setFloat64(0, v, false);
      return out;
    }
    case 'bytes': {
      const bytes = parseHex(text, `${where} (${node.type}, ${node.size} bytes)`);
      if (bytes.length !== node.size && !resize) {
        throw new EditError(`${where} is ${node.size} bytes (${node.type}); the value has ${bytes.length}. Give exactly ${node.size} hex bytes, or allow a different size with --resize`);
      }
      return bytes;
    }
  }
}

function parseInt(text: string, bits: number, signed: boolean, where: string): bigint {
  const t = text.trim().replace(/_/g, '');
  const max = 1n << BigInt(bits);
  const range = signed
    ? `from ${-(max >> 1n)} to ${(max >> 1n) - 1n} (or a bit pattern from 0x0 to 0x${(max - 1n).toString(16)})`
    : `from 0 to ${max - 1n} (0x0 to 0x${(max - 1n).toString(16)})`;
  let v: bigint;
  if (/^0x[0-9a-f]+$/i.test(t) || /^\d+$/.test(t)) v = BigInt(t);
  else if (/^-\d+$/.test(t)) v = -BigInt(t.slice(1));
  else throw new EditError(`${where} takes an integer ${range}; ${JSON.stringify(text)} is not one`);
  // Hex is a bit pattern (so 0xffffffffffffffff is -1 in an int64); decimal is the value.
  const isHex = /0x/i.test(t);
  const ok = signed && !isHex ? v >= -(max >> 1n) && v < max >> 1n : v >= 0n && v < max;
  if (!ok) throw new EditError(`${where} takes an integer ${range}; ${text.trim()} is out of range`);
  return v < 0n ? v + max : v;
}

function encodeInt(v: bigint, bits: number, littleEndian = false): Uint8Array {
  const n = bits / 8;
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k++) out[littleEndian ? k : n - 1 - k] = Number((v >> BigInt(8 * k)) & 0xffn);
  return out;
}

/** A field value as the journal and the CLI show it. */
export function formatFieldValue(v: FieldValue | undefined): string {
  switch (v?.kind) {
    case 'int':
      return `${v.hex} (${v.dec})`;
    case 'bool':
    case 'float':
    case 'text':
      return String(v.value);
    case 'nullptr':
      return 'NULL';
    case 'bytes':
      return v.hex.length > 200 ? `${v.hex.slice(0, 200)}…` : v.hex;
    default:
      return '?';
  }
}
