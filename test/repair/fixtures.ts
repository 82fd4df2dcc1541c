import * as path from 'node:path';
import { EditSession } from '../../electron/edit/edit-session';
import { fullSections } from '../../shared/edit/sections';
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

/**
 * A cut image that also lost pc.ram pages 5-9 (their CONTINUE records are removed), so a
 * donor must supply records from the middle of a block while the last record the image
 * kept named another block: the case where a donor record needs its block id written out.
 */
export async function cutCopyWithHole(damaged: string, dest: string): Promise<string> {
  const s = EditSession.open(damaged);
  try {
    const model = s.model();
    const run = model.pages.latestRun(0, 5);
    const first = model.pages.dataOffsetIn(run, 5) - 8;
    s.apply({ op: 'delete-bytes', offset: first, length: model.pages.dataOffsetIn(run, 10) - 8 - first });
    await s.save(dest, { force: true });
  } finally {
    s.close();
  }
  return dest;
}

/**
 * The donor case that is not a byte-prefix match, in `dir`: the minimal image's cut copy
 * with a hole mid pc.ram (`damaged`), and another save of the same VM (`donor`).
 */
export async function cutImageAndOtherSave(dir: string): Promise<{ cut: string; original: string; damaged: string; donor: string }> {
  const cut = corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.trunc-mid-ram.mig');
  const original = intactOf(cut);
  const damaged = await cutCopyWithHole(cut, path.join(dir, 'cut-with-hole.mig'));
  const donor = await otherSave(original, path.join(dir, 'other-save.mig'));
  return { cut, original, damaged, donor };
}

/** Places to cut a save made by QEMU 7.2 (the minimal pc image): each gives the stream offset of the cut. */
export const CUTS = {
  /** Right after START ram: no page record, no END, no device section. */
  'after START ram': (s: EditSession) => s.model().elements.find((e) => e.type === 'PART' && e.idstr === 'ram')!.offset,
  /** Inside END ram (after its header): RAM's last section is the unfinished element. */
  'inside END ram': (s: EditSession) => s.model().elements.find((e) => e.type === 'END' && e.idstr === 'ram')!.offset + 7,
  /** Inside the cpu section: RAM is complete, two device sections before it survive. */
  'inside cpu': (s: EditSession) => fullSections(s.model()).find((e) => e.idstr === 'cpu')!.offset + 100,
} as const;

/** Cuts the session's image at `offset` (a journal entry: the file is not written). */
export function cutAt(s: EditSession, offset: number): void {
  s.apply({ op: 'delete-bytes', offset, length: s.view.size - offset });
}
