import { IMAGE_SOURCE, bytesPiece, rangePiece, type Piece } from '../../edit/pieces';
import { DomainType, LibxcRecord, RECORD_HEADER_BYTES } from './constants';
import type { XenStreamModel } from './model';
import { XenWriter } from './wire';

/**
 * Upgrades libxc images from version 2 to version 3 (Xen 4.14, spec revision 3): the image
 * version becomes 3 and a STATIC_DATA_END record goes where the spec's "v3 compat with v2"
 * says a v3 reader must imagine it: just before the first X86_PV_P2M_FRAMES (PV) or
 * PAGE_DATA (HVM), after the static data (X86_PV_INFO and any CPUID/MSR policy records).
 *
 * The CPUID and MSR policy records v3 added are optional ("[CPUID, MSR policy]" in the
 * spec's layout): a v2 image has none and the upgrade cannot invent them; a v3 receiver
 * without them does what it did for a v2 stream (the guest keeps the policy Xen derives for
 * a stream from before 4.14).
 */
export interface Upgrade {
  pieces: Piece[];
  size: number;
  notes: string[];
  refused?: string;
}

const STATIC_RECORDS: ReadonlySet<number> = new Set([LibxcRecord.X86_PV_INFO, LibxcRecord.X86_CPUID_POLICY, LibxcRecord.X86_MSR_POLICY]);

export interface UpgradeEdit {
  at: number;
  remove: number;
  insert: Uint8Array;
  note: string;
}

export function upgradeToV3(model: XenStreamModel, size: number): Upgrade {
  const planned = upgradeEdits(model);
  if ('refused' in planned) return { pieces: [], size: 0, notes: planned.notes, refused: planned.refused };
  const { edits, notes } = planned;
  const pieces: Piece[] = [];
  let pos = 0;
  let out = 0;
  for (const e of edits) {
    if (e.at > pos) pieces.push(rangePiece(IMAGE_SOURCE, pos, e.at - pos));
    pieces.push(bytesPiece(e.insert));
    out += e.at - pos + e.insert.length;
    pos = e.at + e.remove;
  }
  if (pos < size) pieces.push(rangePiece(IMAGE_SOURCE, pos, size - pos));
  out += size - pos;
  return { pieces, size: out, notes };
}

/** The byte edits of the upgrade, in file order (for the transform, and for the repair planner). */
export function upgradeEdits(model: XenStreamModel): { edits: UpgradeEdit[]; notes: string[] } | { refused: string; notes: string[] } {
  if (model.legacy) return { notes: [], refused: 'a legacy stream is converted, not upgraded (use --to xen-v2, which writes a version 3 image)' };
  if (!model.images.length) return { notes: [], refused: 'the stream holds no libxc image' };
  const edits: UpgradeEdit[] = [];
  const notes: string[] = [];
  model.images.forEach((img, i) => {
    if (img.version === 3) {
      notes.push(`libxc image ${i} at 0x${img.offset.toString(16)} is already version 3`);
      return;
    }
    if (img.version !== 2) throw new Error(`image version ${img.version}`);
    edits.push({ at: img.offset + 12, remove: 4, insert: new XenWriter(false).u32(3).finish(), note: `libxc image ${i} at 0x${img.offset.toString(16)}: version 2 → 3` });
    const records = model.records.filter((r) => r.layer === 'libxc' && r.image === i);
    if (records.some((r) => r.type === LibxcRecord.STATIC_DATA_END)) {
      notes.push(`libxc image ${i} already has STATIC_DATA_END (a v2 image may not; as version 3 it is valid)`);
      return;
    }
    const first = img.domainType === DomainType.X86_PV ? LibxcRecord.X86_PV_P2M_FRAMES : LibxcRecord.PAGE_DATA;
    const target = records.find((r) => r.type === first) ?? records.find((r) => !STATIC_RECORDS.has(r.type));
    const at = target?.offset ?? img.offset + img.length;
    const what = target ? `before the first ${target.type === first ? (first === LibxcRecord.PAGE_DATA ? 'PAGE_DATA' : 'X86_PV_P2M_FRAMES') : 'non-static record'} at 0x${target.offset.toString(16)}` : 'after the headers';
    edits.push({ at, remove: 0, insert: new XenWriter(true, RECORD_HEADER_BYTES).u32(LibxcRecord.STATIC_DATA_END).u32(0).finish(), note: `STATIC_DATA_END inserted ${what}` });
  });
  if (!edits.length) return { notes, refused: 'every libxc image is already version 3' };
  notes.push(...edits.map((e) => e.note));
  notes.push('no CPUID/MSR policy records added: they are optional in v3 and a v2 image has no data for them');
  edits.sort((a, b) => a.at - b.at);
  return { edits, notes };
}
