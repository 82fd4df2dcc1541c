import { hex } from '../diagnostics';
import { be32, be64, concatBytes } from '../io/bytes';
import { donorIdentity, donorLabel, type EditContext, type SourceImage } from '../edit/context';
import { bytesPiece, rangePiece, totalLength, type Piece } from '../edit/pieces';
import { encodeFooter, fullSections } from '../edit/sections';
import { findByName, graftSections } from '../edit/section-edit';
import { matchingEntry, payloadSize } from '../formats/qemu-stream/vmdesc-fit';
import { bufferEntry, encodeVmdescRecord, ownEntry, vmdescChange } from '../edit/vmdesc-writer';
import { CPU_IDSTR, RamFlag, RAM_IDSTR, SectionType } from '../formats/qemu-stream/constants';
import { describeNotSent, pagesNotSent } from '../formats/qemu-stream/summary';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import type { VmdescDevice } from '../formats/qemu-stream/vmdesc';
import { repairAction, type RepairAction } from './action';
import { checkDonor, donorRecordsForMissingPages, isPrefixOf } from './donor';

/**
 * Repairs at the end of the stream: a file cut short is ended cleanly after its last
 * complete element (or completed from a donor), a damaged vmdesc is rebuilt, and device
 * sections a donor has and the image lacks are grafted in.
 */

/** A cut file: end it after the last complete element, filling RAM and the tail from a donor if given. */
export function truncationRepair(ctx: EditContext, donor?: SourceImage): RepairAction | undefined {
  const { model, view } = ctx;
  const found = model.diagnostics.filter((d) => d.code === 'truncated' || d.code === 'missing-eof');
  if (found.length === 0 || model.sawEof) return undefined;
  if (donor) {
    checkDonor(model, donor);
    if (isPrefixOf(view, donor.source)) {
      const rest = donor.model.elements.filter((e) => e.offset + e.length > view.size);
      return repairAction(
        'complete-from-donor',
        `the image is a cut copy of ${donorLabel(donor)}: appended the ${donor.source.size - view.size} missing bytes from it (${describeElements(rest)})`,
        found,
        [{ offset: view.size, deleteLength: 0, insert: [rangePiece(donor.id, view.size, donor.source.size - view.size)] }],
        { donor: donorIdentity(donor), appended: donor.source.size - view.size },
      );
    }
  }
  const truncated = found.find((d) => d.code === 'truncated');
  const open = truncated ? model.elements.find((e) => e.offset <= truncated.offset && truncated.offset < e.offset + e.length && e.damaged) : undefined;
  const ramStart = model.elements.find((e) => e.type === 'START' && e.idstr === RAM_IDSTR && e !== open);
  const ramOpen = !!open && !!ramStart && open.idstr === RAM_IDSTR && (open.type === 'PART' || open.type === 'END');
  const lastRecord = ramOpen ? lastRecordEnd(model, open!) : undefined;
  const cut = !open ? view.size : ramOpen ? lastRecord?.end ?? open.payloadOffset! : open.offset;
  const footers = model.sectionFooters || model.elements.some((e) => e.footerOffset !== undefined);
  const footer = (sid: number) => (footers ? [encodeFooter(sid)] : []);
  const eos = be64(RamFlag.EOS);
  const pieces: Piece[] = [];
  const notes: string[] = [
    cut < view.size
      ? `dropped the ${view.size - cut} bytes after ${hex(cut)}${open ? ` (the unfinished part of ${open.type} ${open.idstr ?? ''})` : ''}`
      : `dropped nothing: the file ends where an element ends, at ${hex(cut)}`,
  ];
  const ramComplete = model.elements.some((e) => e.type === 'END' && e.idstr === RAM_IDSTR && e !== open);
  // A cut inside END ram is closed where it stands: that END ends RAM, no second one follows.
  const closesEnd = ramOpen && open!.type === 'END';
  let fill: ReturnType<typeof donorRecordsForMissingPages> | undefined;
  if (donor && ramStart && !ramComplete) {
    fill = donorRecordsForMissingPages(model, donor, lastRecord?.block ?? lastBlockBefore(model, cut));
    if (fill.records) notes.push(`took ${fill.records} page records from ${donorLabel(donor)} for the pages the image lost (pages it holds keep its own content)`);
    if (fill.named) notes.push(`${fill.named} of them continued a block other than the record now before them, and name their block instead`);
  }
  if (ramOpen) {
    pieces.push(...(fill?.pieces ?? []), bytesPiece(concatBytes(eos, ...footer(open!.sectionId!))));
    notes.push(`closed ${open!.type} ram with an end-of-section record${footers ? ' and its footer' : ''}`);
  } else if (fill?.records) {
    pieces.push(bytesPiece(concatBytes(Uint8Array.of(SectionType.PART), be32(ramStart!.sectionId!))), ...fill.pieces, bytesPiece(concatBytes(eos, ...footer(ramStart!.sectionId!))));
    notes.push('put them in a new PART ram section');
  }
  if (ramStart && !ramComplete && !closesEnd) {
    pieces.push(bytesPiece(concatBytes(Uint8Array.of(SectionType.END), be32(ramStart.sectionId!), eos, ...footer(ramStart.sectionId!))));
    notes.push('ended the RAM section with END ram');
  }
  pieces.push(bytesPiece(Uint8Array.of(SectionType.EOF)));
  const kept = fullSections(model).filter((e) => e.offset + e.length <= cut && !e.damaged);
  const writeVmdesc = donor ? !!donor.model.vmdesc : true;
  if (writeVmdesc) {
    const devices = describeSections(model, kept, donor);
    // QEMU 10 puts the configuration first; 7.x streams have none.
    const configuration = donor?.model.vmdesc?.configuration;
    pieces.push(bytesPiece(encodeVmdescRecord({ ...(configuration ? { configuration } : {}), page_size: model.pageSize, devices: devices.list })));
    notes.push(`added QEMU_VM_EOF and a vmdesc ${kept.length ? `describing the ${kept.length} complete device sections (${devices.note})` : '(no complete device section survived the cut)'}`);
  } else {
    notes.push('added QEMU_VM_EOF (the donor has no vmdesc, so none was written)');
  }
  if (!donor) {
    // Nothing fills what followed the cut: say what stays lost, in the record itself.
    const lost = pagesNotSent(model).map((b) => `${describeNotSent(b)} (never sent)`);
    // Cut inside RAM, every device section is lost (QEMU writes them after RAM); cut where an
    // element ends, the image cannot say whether more sections followed.
    const afterCut = open ? 'the device sections after the cut' : 'any device sections that followed the cut';
    lost.push(`${afterCut}${kept.some((e) => e.idstr === CPU_IDSTR) ? '' : ', the CPU state included'}`);
    notes.push(`lost without a donor: ${lost.join('; ')}`);
  }
  return repairAction(
    'end-truncated-stream',
    `ended the cut stream cleanly after its last complete element at ${hex(cut)}${donor ? `, completing RAM from ${donorLabel(donor)}` : ''}`,
    found,
    [{ offset: cut, deleteLength: view.size - cut, insert: pieces }],
    { cut, dropped: view.size - cut, added: totalLength(pieces), ...(donor ? { donor: donorIdentity(donor) } : {}) },
    notes,
  );
}

/** A damaged vmdesc rebuilt: recovered entries, else the donor's, else one buffer per section. */
export function vmdescRepair(ctx: EditContext, donor?: SourceImage): RepairAction | undefined {
  const { model } = ctx;
  const found = model.diagnostics.filter((d) => d.code === 'vmdesc-truncated' || d.code === 'vmdesc-invalid');
  if (found.length === 0) return undefined;
  if (donor) checkDonor(model, donor);
  const devices = describeSections(model, fullSections(model), donor);
  const change = vmdescChange(model, devices.list);
  if (!change) return undefined;
  return repairAction('rebuild-vmdesc', `rebuilt the vmdesc for the ${devices.list.length} device sections (${devices.note}); JSON ${totalLength(change.insert) - 5} bytes`, found, [change], {
    devices: devices.list.length,
  });
}

/** Device sections the donor has and the image lacks, grafted in donor order. */
export function missingSectionsRepair(ctx: EditContext, donor: SourceImage): RepairAction | undefined {
  const { model } = ctx;
  if (!model.sawEof) return undefined;
  const missing = fullSections(donor.model).filter((d) => !findByName(model, d.idstr!, d.instanceId!));
  if (missing.length === 0) return undefined;
  checkDonor(model, donor);
  const edit = graftSections(ctx, donor, missing);
  return { code: 'graft-missing-sections', addresses: [], edit: { ...edit, intent: { ...edit.intent, op: 'repair', action: 'graft-missing-sections' } } };
}

function describeSections(model: QemuStreamModel, sections: StreamElement[], donor?: SourceImage): { list: VmdescDevice[]; note: string } {
  let own = 0;
  let fromDonor = 0;
  const list = sections.map((e) => {
    const mine = ownEntry(model, e);
    if (mine) return own++, mine;
    const theirs = matchingEntry(donor?.model.vmdesc?.devices, e);
    if (theirs) return fromDonor++, theirs;
    return bufferEntry(e, payloadSize(e));
  });
  const parts = [
    [own, "recovered from the image's own vmdesc"],
    [fromDonor, "taken from the donor's"],
    [list.length - own - fromDonor, 'described as one buffer of their payload size'],
  ] as const;
  return { list, note: parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`).join(', ') || 'none' };
}

/** End of the last complete page record of a RAM element, and its block. */
function lastRecordEnd(model: QemuStreamModel, e: StreamElement): { end: number; block: number } | undefined {
  for (let i = model.pages.runCount - 1; i >= 0; i--) {
    const run = model.pages.run(i);
    if (run.element === e.index) return { end: model.pages.dataOffsetIn(i, run.firstPage + run.count - 1) + run.dataLength, block: run.block };
    if (run.element < e.index) return undefined;
  }
  return undefined;
}

/** The block the last page record before `offset` named (what a CONTINUE record there would continue). */
function lastBlockBefore(model: QemuStreamModel, offset: number): number {
  let block = -1;
  for (let i = 0; i < model.pages.runCount; i++) {
    const run = model.pages.run(i);
    if (run.dataOffset < offset) block = run.block;
  }
  return block;
}

function describeElements(elements: StreamElement[]): string {
  const counts = new Map<string, number>();
  for (const e of elements) {
    const key = e.type === 'PART' || e.type === 'END' || e.type === 'START' ? `${e.type} ${e.idstr}` : e.type;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (n > 1 ? `${n} × ${k}` : k)).join(', ');
}
