import { hex } from '../../diagnostics';
import type { Cursor } from '../../io/cursor';
import { SectionType } from './constants';
import { DesyncError } from './parse-context';
import type { VmdescLayout } from './vmdesc';

const MAX_DEPTH = 64;

/**
 * The most nodes (fields, array elements, subsections) a description of `bytes` payload
 * bytes may unfold into. Every real field takes at least one byte, except the rare empty
 * ones, so a description that unfolds into more nodes than this describes data that is not
 * there (`{"size":0,"array_len":100000000}`); decoding it would only burn memory and time.
 */
export function nodeBudget(bytes: number): number {
  return 2 * bytes + 4096;
}

/**
 * Number of nodes `desc` unfolds into when decoded (each array element and struct field
 * counted), stopping as soon as it exceeds `limit`, so the count itself is bounded.
 */
export function describedNodes(desc: VmdescLayout, limit: number, depth = 0): number {
  if (depth > MAX_DEPTH) return limit + 1;
  let n = 0;
  for (const f of desc.fields ?? []) {
    const inner = f.struct ?? (f.fields ? { vmsd_name: '', version: 0, fields: f.fields } : undefined);
    const each = 1 + (inner ? describedNodes(inner, limit - n, depth + 1) : 0);
    // An array is one grouping node over array_len elements.
    n += f.array_len === undefined ? each : 1 + f.array_len * each;
    if (n > limit) return limit + 1;
  }
  for (const sub of desc.subsections ?? []) {
    n += 1 + describedNodes(sub, limit - n, depth + 1);
    if (n > limit) return limit + 1;
  }
  return n;
}

/**
 * Moves the cursor over a vmstate payload described by the vmdesc: every field is `size`
 * bytes (per element of a compressed array), then each listed subsection with its
 * 0x05 / name / version header. The vmdesc sizes are the bytes QEMU actually wrote, so
 * this delimits a FULL section without knowing the device's layout. A description that
 * unfolds into more nodes than the bytes it delimits can hold is refused (nodeBudget).
 */
export function skipVmstate(cur: Cursor, desc: VmdescLayout): void {
  const start = cur.pos;
  skipStruct(cur, desc, 0);
  const bytes = cur.pos - start;
  const limit = nodeBudget(bytes);
  const nodes = describedNodes(desc, limit);
  if (nodes > limit) {
    throw new DesyncError(start, 'vmdesc-too-many-fields', `a description that fits the ${bytes} bytes it delimits (at most ${limit} fields and elements)`, `more than ${limit} fields and array elements`);
  }
}

function skipStruct(cur: Cursor, desc: VmdescLayout, depth: number): void {
  if (depth > MAX_DEPTH) throw new DesyncError(cur.pos, 'vmdesc-depth', 'a vmdesc nested less deeply', `more than ${MAX_DEPTH} levels`);
  for (const f of desc.fields ?? []) cur.skip(f.size * (f.array_len ?? 1));
  for (const sub of desc.subsections ?? []) {
    const at = cur.pos;
    const marker = cur.u8();
    if (marker !== SectionType.SUBSECTION) {
      throw new DesyncError(at, 'subsection-missing', `subsection ${sub.vmsd_name} (0x05)`, `byte ${hex(marker, 2)}`);
    }
    const name = cur.utf8(cur.u8());
    if (name !== sub.vmsd_name) {
      throw new DesyncError(at, 'subsection-name', `subsection ${sub.vmsd_name}`, JSON.stringify(name));
    }
    cur.skip(4); // version_id
    skipStruct(cur, sub, depth + 1);
  }
}
