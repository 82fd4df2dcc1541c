import { SectionType } from '../formats/qemu-stream/constants';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { ascii, be32, concatBytes } from '../io/bytes';
import { sectionsNamed, similarSectionNames } from '../formats/qemu-stream/section-names';
import { EditError } from './errors';

/** "cpu:0" — how editing names a section (idstr and instance). */
export function sectionLabel(e: Pick<StreamElement, 'idstr' | 'instanceId'>): string {
  return `${e.idstr ?? '?'}:${e.instanceId ?? 0}`;
}

export function fullSections(model: QemuStreamModel): StreamElement[] {
  return model.elements.filter((e) => e.type === 'FULL');
}

/**
 * The one FULL section `spec` names (idstr, short name or vmsd name, optionally ":INSTANCE";
 * see section-names.ts), or an error saying why there is none or more than one.
 */
export function findSection(model: QemuStreamModel, spec: string): StreamElement {
  const hits = sectionsNamed(model, spec).filter((e) => e.type === 'FULL');
  if (hits.length === 1) return hits[0];
  if (hits.length > 1) throw new EditError(ambiguous(spec, hits));
  throw new EditError(noSuchSection(model, spec));
}

export function ambiguous(spec: string, hits: readonly StreamElement[]): string {
  return `${spec} is ambiguous: ${hits.length} sections match (${hits.map(sectionLabel).join(', ')}); add the instance, e.g. ${sectionLabel(hits[0])}`;
}

export function noSuchSection(model: QemuStreamModel, spec: string): string {
  const near = similarSectionNames(model, spec);
  return `no device section ${spec} in this image${near.length ? `; did you mean ${near.join(', ')}?` : ' (list them with "migwb info")'}`;
}

/** START/FULL header: type, be32 section id, u8 length + idstr, be32 instance, be32 version. */
export function encodeSectionHeader(type: number, sectionId: number, idstr: string, instanceId: number, versionId: number): Uint8Array {
  if (idstr.length === 0 || idstr.length > 255) throw new EditError(`a section name must have 1 to 255 characters, not ${idstr.length}`);
  return concatBytes(Uint8Array.of(type), be32(sectionId), Uint8Array.of(idstr.length), ascii(idstr), be32(instanceId), be32(versionId));
}

export function encodeFooter(sectionId: number): Uint8Array {
  return concatBytes(Uint8Array.of(SectionType.FOOTER), be32(sectionId));
}

export function usedSectionIds(model: QemuStreamModel): Set<number> {
  return new Set(model.elements.filter((e) => e.sectionId !== undefined).map((e) => e.sectionId!));
}

/**
 * A section id for a section joining this stream: `preferred` (the id it had in its own
 * image) unless another section already uses it, else one past the highest id in use.
 * QEMU matches FULL sections by name and instance; the id only has to agree with the
 * footer and must not alias an iterable section's PART/END id. The chosen id is added to `used`.
 */
export function chooseSectionId(used: Set<number>, preferred: number): number {
  const id = used.has(preferred) ? Math.max(...used) + 1 : preferred;
  used.add(id);
  return id;
}

/** The QEMU_VM_EOF element; sections are added before it. */
export function eofElement(model: QemuStreamModel): StreamElement {
  const eof = model.elements.find((e) => e.type === 'EOF');
  if (!eof) throw new EditError('the stream has no QEMU_VM_EOF (it is cut short); run "migwb repair" on it first');
  return eof;
}
