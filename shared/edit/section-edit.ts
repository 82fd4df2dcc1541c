import { hex } from '../diagnostics';
import { SectionType } from '../formats/qemu-stream/constants';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { headerIn } from '../formats/qemu-stream/plausibility';
import { payloadRange } from '../formats/qemu-stream/section-decoder';
import type { VmdescDevice } from '../formats/qemu-stream/vmdesc';
import { readBe32 } from '../io/bytes';
import { donorIdentity, donorLabel, type EditContext, type SourceImage } from './context';
import { EditError } from './errors';
import type { SectionPosition } from './intents';
import type { ByteChange, CompiledEdit } from './journal';
import { bytesPiece, rangePiece, totalLength, type Piece } from './pieces';
import { chooseSectionId, encodeFooter, encodeSectionHeader, eofElement, findSection, fullSections, sectionLabel, usedSectionIds } from './sections';
import { payloadSize } from '../formats/qemu-stream/vmdesc-fit';
import { bufferEntry, ownEntry, vmdescChange } from './vmdesc-writer';

/**
 * Section-level edits: delete, move, insert, graft (copy from a donor image) and replace.
 * Each keeps the framing right: headers and footers carry one section id that no other
 * section uses, the stream's footer convention is followed, and the vmdesc lists exactly
 * the FULL sections in stream order with their JSON length rewritten.
 */

/** A FULL section in the edited order: one already in the stream, or one being added. */
type Item = { element: StreamElement; entry?: undefined } | { element?: undefined; entry: VmdescDevice; label: string };

export function compileDeleteSection(ctx: EditContext, spec: string): CompiledEdit {
  const e = findSection(ctx.model, spec);
  const items = fullSections(ctx.model).filter((x) => x !== e).map((element): Item => ({ element }));
  const edit = withVmdesc(ctx.model, items, [{ offset: e.offset, deleteLength: e.length, insert: [] }]);
  return {
    intent: { op: 'delete-section', section: sectionLabel(e), section_id: e.sectionId ?? null, version: e.versionId ?? null, offset: e.offset, length: e.length },
    summary: `deleted section ${sectionLabel(e)} (section id ${e.sectionId}, ${e.length} bytes at ${hex(e.offset)})`,
    ...edit,
  };
}

export function compileMoveSection(ctx: EditContext, spec: string, position: SectionPosition): CompiledEdit {
  const e = findSection(ctx.model, spec);
  const rest = fullSections(ctx.model).filter((x) => x !== e);
  const at = insertionPoint(ctx.model, rest, position);
  if (at.anchor === e) throw new EditError(`cannot move ${sectionLabel(e)} relative to itself`);
  const items: Item[] = rest.map((element) => ({ element }));
  items.splice(at.index, 0, { element: e });
  const edit = withVmdesc(ctx.model, items, [
    { offset: e.offset, deleteLength: e.length, insert: [] },
    { offset: at.offset, deleteLength: 0, insert: ctx.view.slice(e.offset, e.length) },
  ]);
  return {
    intent: { op: 'move-section', section: sectionLabel(e), position, from_offset: e.offset, length: e.length },
    summary: `moved section ${sectionLabel(e)} from ${hex(e.offset)} to ${at.describe}`,
    ...edit,
  };
}

/** Inserts a complete FULL element given as bytes (header, payload and, if the stream uses them, footer). */
export function compileInsertSection(ctx: EditContext, bytes: Uint8Array, position: SectionPosition): CompiledEdit {
  const h = headerIn(bytes, 0);
  if (!h || h.type !== SectionType.FULL) {
    throw new EditError('the section to insert must start with a FULL section header (04, be32 section id, u8 length, name, be32 instance, be32 version)');
  }
  let payloadEnd = bytes.length;
  if (ctx.model.sectionFooters) {
    const f = bytes.length - 5;
    if (f < h.length || bytes[f] !== SectionType.FOOTER || readBe32(bytes, f + 1) !== h.sectionId) {
      throw new EditError(`this stream ends sections with a footer: the bytes to insert must end with 7e ${hex(h.sectionId, 8)}`);
    }
    payloadEnd = f;
  }
  const label = `${h.idstr}:${h.instanceId}`;
  if (findByName(ctx.model, h.idstr, h.instanceId)) throw new EditError(`the image already has a section ${label}; replace or delete it instead`);
  const added = addedSection(ctx.model, usedSectionIds(ctx.model), { sectionId: h.sectionId, idstr: h.idstr, instanceId: h.instanceId, versionId: h.versionId }, [bytesPiece(bytes.subarray(h.length, payloadEnd))]);
  const fulls = fullSections(ctx.model);
  const at = insertionPoint(ctx.model, fulls, position);
  const payload = payloadEnd - h.length;
  const entry = bufferEntry({ idstr: h.idstr, instanceId: h.instanceId, versionId: h.versionId }, payload);
  const items: Item[] = fulls.map((element) => ({ element }));
  items.splice(at.index, 0, { entry, label });
  const edit = withVmdesc(ctx.model, items, [{ offset: at.offset, deleteLength: 0, insert: added.pieces }]);
  return {
    intent: { op: 'insert-section', section: label, section_id: added.sectionId, version: h.versionId, payload_length: payload, at: at.offset },
    summary: `inserted section ${label} (${totalLength(added.pieces)} bytes) ${at.describe}`,
    changes: edit.changes,
    fixups: [...added.fixups, ...edit.fixups],
  };
}

export function compileGraftSection(ctx: EditContext, sourceId: string, spec: string, position?: SectionPosition): CompiledEdit {
  const donor = requireDonor(ctx, sourceId);
  return graftSections(ctx, donor, [findSection(donor.model, spec)], position);
}

/**
 * Copies donor sections the image lacks into it, each placed after the section that
 * precedes it in the donor (or at `position`, for a single section). One edit, so the
 * vmdesc is rewritten once.
 */
export function graftSections(ctx: EditContext, donor: SourceImage, sections: StreamElement[], position?: SectionPosition): CompiledEdit {
  const model = ctx.model;
  const fulls = fullSections(model);
  const inserts = new Map<number, Piece[]>();
  const placed: { offset: number; seq: number; item: Item }[] = fulls.map((element, seq) => ({ offset: element.offset, seq: seq + 1e9, item: { element } }));
  const fixups: string[] = [];
  const labels: { label: string; where: string }[] = [];
  const sectionIds = usedSectionIds(model);
  sections.forEach((d, seq) => {
    const label = sectionLabel(d);
    if (findByName(model, d.idstr!, d.instanceId!)) throw new EditError(`the image already has a section ${label}; use replace-section to take the donor's copy`);
    const at = position && sections.length === 1 ? insertionPoint(model, fulls, position) : donorOrderPoint(model, donor.model, d);
    const { start, end } = payloadRange(d);
    const added = addedSection(model, sectionIds, d, [rangePiece(donor.id, start, end - start)]);
    inserts.set(at.offset, [...(inserts.get(at.offset) ?? []), ...added.pieces]);
    placed.push({ offset: at.offset, seq, item: { entry: ownEntry(donor.model, d) ?? bufferEntry(d, payloadSize(d)), label } });
    fixups.push(...added.fixups);
    labels.push({ label, where: at.describe });
  });
  // Added sections go in front of whatever element starts where they are inserted.
  const items = placed.sort((a, b) => a.offset - b.offset || a.seq - b.seq).map((p) => p.item);
  const edit = withVmdesc(model, items, [...inserts].map(([offset, insert]): ByteChange => ({ offset, deleteLength: 0, insert })));
  return {
    intent: { op: 'graft-section', source: donor.id, donor: donorIdentity(donor), sections: sections.map(sectionLabel), placed: labels.map((l) => `${l.label} ${l.where}`) },
    summary: `grafted from ${donorLabel(donor)}: ${groupByPlace(labels)}`,
    changes: edit.changes,
    fixups: [...fixups, ...edit.fixups],
  };
}

/** Replaces a section's payload (and version) with the donor's copy of the same section. */
export function compileReplaceSection(ctx: EditContext, sourceId: string, spec: string): CompiledEdit {
  const donor = requireDonor(ctx, sourceId);
  const t = findSection(ctx.model, spec);
  const d = findByName(donor.model, t.idstr!, t.instanceId!);
  if (!d) throw new EditError(`the ${donorLabel(donor)} has no section ${sectionLabel(t)}`);
  const { start, end } = payloadRange(d);
  const header = encodeSectionHeader(SectionType.FULL, t.sectionId!, d.idstr!, d.instanceId!, d.versionId!);
  const pieces = [bytesPiece(header), rangePiece(donor.id, start, end - start)];
  if (ctx.model.sectionFooters) pieces.push(bytesPiece(encodeFooter(t.sectionId!)));
  const items = fullSections(ctx.model).map((element): Item =>
    element === t ? { entry: ownEntry(donor.model, d) ?? bufferEntry(d, end - start), label: sectionLabel(d) } : { element },
  );
  const edit = withVmdesc(ctx.model, items, [{ offset: t.offset, deleteLength: t.length, insert: pieces }]);
  return {
    intent: { op: 'replace-section', source: donor.id, donor: donorIdentity(donor), section: sectionLabel(t), offset: t.offset, old_length: t.length, new_length: totalLength(pieces), donor_offset: d.offset },
    summary: `replaced section ${sectionLabel(t)} at ${hex(t.offset)} with the copy of ${donorLabel(donor)} (${t.length} → ${totalLength(pieces)} bytes, version ${t.versionId} → ${d.versionId})`,
    ...edit,
  };
}

/** "timer:0, cpu:0 before apic:0; hpet:0 last, before QEMU_VM_EOF" */
function groupByPlace(labels: { label: string; where: string }[]): string {
  const groups: { where: string; labels: string[] }[] = [];
  for (const l of labels) {
    const last = groups[groups.length - 1];
    if (last?.where === l.where) last.labels.push(l.label);
    else groups.push({ where: l.where, labels: [l.label] });
  }
  return groups.map((g) => `${g.labels.join(', ')} ${g.where}`).join('; ');
}

export function findByName(model: QemuStreamModel, idstr: string, instanceId: number): StreamElement | undefined {
  return fullSections(model).find((e) => e.idstr === idstr && e.instanceId === instanceId);
}

function requireDonor(ctx: EditContext, id: string): SourceImage {
  const donor = ctx.donor(id);
  if (!donor) throw new EditError(`no donor image "${id}" is open; give one with --donor`);
  return donor;
}

/**
 * A FULL element for this stream around `payload`: the section keeps its own id unless
 * another section uses it, and gets a footer exactly when the stream's sections have them.
 */
function addedSection(
  model: QemuStreamModel,
  sectionIds: Set<number>,
  h: Pick<StreamElement, 'sectionId' | 'idstr' | 'instanceId' | 'versionId'>,
  payload: Piece[],
): { sectionId: number; pieces: Piece[]; fixups: string[] } {
  const sectionId = chooseSectionId(sectionIds, h.sectionId!);
  const fixups = sectionId === h.sectionId ? [] : [`section id ${h.sectionId} of ${h.idstr}:${h.instanceId} is taken in this stream; the section was given id ${sectionId} (header and footer)`];
  const pieces = [bytesPiece(encodeSectionHeader(SectionType.FULL, sectionId, h.idstr!, h.instanceId!, h.versionId!)), ...payload];
  if (model.sectionFooters) pieces.push(bytesPiece(encodeFooter(sectionId)));
  return { sectionId, pieces, fixups };
}

function insertionPoint(model: QemuStreamModel, fulls: StreamElement[], position: SectionPosition): { offset: number; index: number; anchor?: StreamElement; describe: string } {
  if ('end' in position) return { offset: eofElement(model).offset, index: fulls.length, describe: 'last, before QEMU_VM_EOF' };
  const before = 'before' in position;
  const anchor = findSection(model, before ? position.before : position.after);
  const i = fulls.indexOf(anchor);
  return before
    ? { offset: anchor.offset, index: i, anchor, describe: `before ${sectionLabel(anchor)}` }
    : { offset: anchor.offset + anchor.length, index: i + 1, anchor, describe: `after ${sectionLabel(anchor)}` };
}

/** Where donor section `d` belongs in the image: after its nearest donor predecessor the image has. */
function donorOrderPoint(model: QemuStreamModel, donorModel: QemuStreamModel, d: StreamElement): { offset: number; describe: string } {
  const dfulls = fullSections(donorModel);
  const i = dfulls.indexOf(d);
  for (let j = i - 1; j >= 0; j--) {
    const t = findByName(model, dfulls[j].idstr!, dfulls[j].instanceId!);
    if (t) return { offset: t.offset + t.length, describe: `after ${sectionLabel(t)}` };
  }
  for (let j = i + 1; j < dfulls.length; j++) {
    const t = findByName(model, dfulls[j].idstr!, dfulls[j].instanceId!);
    if (t) return { offset: t.offset, describe: `before ${sectionLabel(t)}` };
  }
  return { offset: eofElement(model).offset, describe: 'last, before QEMU_VM_EOF' };
}

/** Adds the vmdesc rewrite for the new section order to `changes`. */
function withVmdesc(model: QemuStreamModel, items: Item[], changes: ByteChange[]): { changes: ByteChange[]; fixups: string[] } {
  const devices = items.map((it) => it.entry ?? ownEntry(model, it.element!) ?? bufferEntry(it.element!, payloadSize(it.element!)));
  const c = vmdescChange(model, devices);
  if (!c) return { changes, fixups: model.elements.some((e) => e.type === 'EOF') ? ['the stream has no vmdesc, so none was written'] : [] };
  const described = items.filter((it) => it.element && !ownEntry(model, it.element)).map((it) => sectionLabel(it.element!));
  const fixups = [`vmdesc rewritten for the new section list: ${devices.length} device entries, JSON ${totalLength(c.insert) - 5} bytes`];
  if (described.length) fixups.push(`vmdesc: ${described.join(', ')} had no description and ${described.length === 1 ? 'is' : 'are'} now described as one buffer of the payload size`);
  return { changes: [...changes, c], fixups };
}
