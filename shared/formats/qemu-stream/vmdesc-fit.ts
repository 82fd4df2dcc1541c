import type { ByteSource } from '../../io/byte-source';
import { readBytes } from '../../io/byte-source';
import type { StreamElement } from './model';
import { payloadRange } from './section-decoder';
import type { VmdescDevice, VmdescLayout } from './vmdesc';

/** Bytes a vmstate description says the section payload holds (fields, then subsections with their headers). */
export function describedSize(desc: VmdescLayout): number {
  let n = 0;
  for (const f of desc.fields ?? []) n += f.size * (f.array_len ?? 1);
  for (const sub of desc.subsections ?? []) n += 2 + sub.vmsd_name.length + 4 + describedSize(sub);
  return n;
}

/** Bytes between a FULL section's header and its footer (or the next element). */
export function payloadSize(e: StreamElement): number {
  const { start, end } = payloadRange(e);
  return end - start;
}

/**
 * A device entry from another image's vmdesc that describes `e` to the byte: same idstr,
 * instance and version (a legacy section's entry has none to compare), and exactly e's
 * payload size (so optional subsections agree too).
 */
export function matchingEntry(devices: readonly VmdescDevice[] | undefined, e: StreamElement): VmdescDevice | undefined {
  const size = payloadSize(e);
  return devices?.find((d) => d.name === e.idstr && d.instance_id === e.instanceId && (d.version ?? e.versionId) === e.versionId && describedSize(d) === size);
}

/** Where the ≤ 9.x NULL-pointer array quirk shows in a section (see nullPointerArrayQuirk). */
export interface NullPointerArrayQuirk {
  /** The array field's name. */
  field: string;
  arrayLength: number;
  /** Offset of its first element in the payload. */
  offset: number;
}

/** vmstate_info_nullptr: a NULL entry of an array of pointers is written as this one byte. */
const NULLPTR_MARKER = 0x30;

/**
 * QEMU up to 9.x describes a compressed array (array_len) with the size of its first
 * element only. When that element is a NULL pointer of an array of pointers (written as the
 * one byte 0x30), the vmdesc says 1 byte per element although the later elements are whole
 * structs (qemu-format.md §4; s390_css's "css" is the known case). Recognised when the
 * section is longer than described and an array described as 1-byte elements starts, at the
 * place the description puts it, with the byte 0x30. QEMU 10 writes such arrays with
 * type "nullptr" and splits them, so a "nullptr" field never shows the quirk.
 */
export function nullPointerArrayQuirk(source: ByteSource, payload: number, actualSize: number, desc: VmdescLayout): NullPointerArrayQuirk | undefined {
  if (actualSize <= describedSize(desc)) return undefined;
  return findNullPointerArray(source, payload, desc, 0, 0);
}

function findNullPointerArray(source: ByteSource, payload: number, desc: VmdescLayout, at: number, depth: number): NullPointerArrayQuirk | undefined {
  if (depth > 16) return undefined;
  let offset = at;
  for (const f of desc.fields ?? []) {
    if (f.array_len !== undefined && f.array_len > 1 && f.size === 1 && f.type !== 'nullptr' && readBytes(source, payload + offset, 1)[0] === NULLPTR_MARKER) {
      return { field: f.name, arrayLength: f.array_len, offset };
    }
    const inner = f.struct ?? (f.fields ? { fields: f.fields } : undefined);
    const found = inner && f.array_len === undefined ? findNullPointerArray(source, payload, inner, offset, depth + 1) : undefined;
    if (found) return found;
    offset += f.size * (f.array_len ?? 1);
  }
  for (const sub of desc.subsections ?? []) {
    const header = 2 + sub.vmsd_name.length + 4;
    const found = findNullPointerArray(source, payload, sub, offset + header, depth + 1);
    if (found) return found;
    offset += header + describedSize(sub);
  }
  return undefined;
}
