import { hex } from '../../diagnostics';
import type { Cursor } from '../../io/cursor';
import { SectionType } from './constants';
import { DesyncError } from './parse-context';
import type { VmdescLayout } from './vmdesc';

const MAX_DEPTH = 64;

/**
 * Moves the cursor over a vmstate payload described by the vmdesc: every field is `size`
 * bytes (per element of a compressed array), then each listed subsection with its
 * 0x05 / name / version header. The vmdesc sizes are the bytes QEMU actually wrote, so
 * this delimits a FULL section without knowing the device's layout.
 */
export function skipVmstate(cur: Cursor, desc: VmdescLayout, depth = 0): void {
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
    skipVmstate(cur, sub, depth + 1);
  }
}
