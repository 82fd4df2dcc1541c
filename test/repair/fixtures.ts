import * as path from 'node:path';
import { EditSession } from '../../electron/edit/edit-session';
import { corpusPath } from '../helpers/corpus';

/** corrupt/NAME.flip-hdr.mig (or .trunc-mid-ram, .vmdesc-cut) -> qemu/NAME.mig, the intact image it was made from. */
export function intactOf(damaged: string): string {
  return corpusPath('qemu', path.basename(damaged).replace(/\.(flip-hdr|trunc-mid-ram|vmdesc-cut)\.mig$/, '.mig'));
}

/**
 * Another save of the same VM for donor tests: the original with the first 64 bytes of
 * pc.bios changed, so it is not a byte-prefix of any cut copy of the original.
 */
export async function otherSave(original: string, dest: string): Promise<string> {
  const d = EditSession.open(original);
  try {
    d.apply({ op: 'ram-block-write', block: 'pc.bios', offset: 0, hex: 'ee'.repeat(64) });
    await d.save(dest);
  } finally {
    d.close();
  }
  return dest;
}
