import { EditError } from '../edit/errors';
import { sectionLabel } from '../edit/sections';
import type { VmdescField, VmdescStruct } from '../formats/qemu-stream/vmdesc';
import { describedSize } from '../formats/qemu-stream/vmdesc-fit';
import { concatBytes } from '../io/bytes';
import type { StreamElement } from '../formats/qemu-stream/model';
import { payloadRange } from '../formats/qemu-stream/section-decoder';
import { readBytes } from '../io/byte-source';
import type { ImageView, SectionDraft } from './rule';

/** A FULL section of an image as a section draft (its payload bytes and vmdesc entry), for reading. */
export function readSection(image: ImageView, e: StreamElement): SectionDraft {
  const { start, end } = payloadRange(e);
  return { element: e, versionId: e.versionId ?? 0, payload: readBytes(image.source, start, end - start), entry: e.deviceIndex !== undefined ? image.model.vmdesc?.devices[e.deviceIndex] : undefined };
}

/**
 * A FULL section's top-level layout as its vmdesc entry describes it: each field's byte
 * range in the payload, then each subsection's (with its 05/name/version header). Rules
 * that reshape a section (a split buffer, re-sized register arrays) splice fields here and
 * keep the entry's sizes in step with the bytes.
 */
export interface TopField {
  index: number;
  field: VmdescField;
  offset: number;
  /** Bytes of the whole field (all elements of a compressed array). */
  size: number;
}

export interface TopSubsection {
  index: number;
  sub: VmdescStruct;
  /** Offset of the 0x05 byte. */
  offset: number;
  /** Header and body. */
  size: number;
}

export interface SectionLayout {
  fields: TopField[];
  subsections: TopSubsection[];
}

/** The layout of a section draft; an EditError when its entry does not describe its payload. */
export function sectionLayout(s: SectionDraft): SectionLayout {
  if (!s.entry) throw new EditError(`${sectionLabel(s.element)} has no vmdesc entry, so its fields cannot be rewritten`);
  const fields: TopField[] = [];
  let at = 0;
  (s.entry.fields ?? []).forEach((field, index) => {
    const size = field.size * (field.array_len ?? 1);
    fields.push({ index, field, offset: at, size });
    at += size;
  });
  const subsections: TopSubsection[] = [];
  (s.entry.subsections ?? []).forEach((sub, index) => {
    const size = 2 + sub.vmsd_name.length + 4 + describedSize(sub);
    subsections.push({ index, sub, offset: at, size });
    at += size;
  });
  if (at !== s.payload.length) throw new EditError(`${sectionLabel(s.element)}: its vmdesc entry describes ${at} bytes, its payload has ${s.payload.length}`);
  return { fields, subsections };
}

export function topField(s: SectionDraft, name: string): TopField | undefined {
  return sectionLayout(s).fields.find((f) => f.field.name === name);
}

export function fieldBytes(s: SectionDraft, f: TopField): Uint8Array {
  return s.payload.slice(f.offset, f.offset + f.size);
}

/** Replaces top-level field `f` by `fields` holding `bytes` (their described sizes must add up). */
export function replaceTopField(s: SectionDraft, f: TopField, fields: VmdescField[], bytes: Uint8Array): void {
  replaceTopFields(s, [f], fields, bytes);
}

/** Replaces consecutive top-level fields `old` by `fields` holding `bytes`. */
export function replaceTopFields(s: SectionDraft, old: TopField[], fields: VmdescField[], bytes: Uint8Array): void {
  const described = fields.reduce((n, x) => n + x.size * (x.array_len ?? 1), 0);
  if (described !== bytes.length) throw new Error(`internal: ${described} described bytes for ${bytes.length} bytes`);
  const start = old[0].offset;
  const end = old[old.length - 1].offset + old[old.length - 1].size;
  s.payload = concatBytes(s.payload.subarray(0, start), bytes, s.payload.subarray(end));
  s.entry!.fields!.splice(old[0].index, old.length, ...fields);
}

/** Drops a subsection (header and body) from the payload and the entry. */
export function dropSubsection(s: SectionDraft, t: TopSubsection): void {
  s.payload = concatBytes(s.payload.subarray(0, t.offset), s.payload.subarray(t.offset + t.size));
  s.entry!.subsections!.splice(t.index, 1);
  if (s.entry!.subsections!.length === 0) delete s.entry!.subsections;
}

/** Every top-level field and subsection, as (description, bytes) pairs in stream order. */
export function fieldsWithBytes(s: SectionDraft): { fields: { field: VmdescField; bytes: Uint8Array }[]; subsections: { sub: VmdescStruct; bytes: Uint8Array }[] } {
  const layout = sectionLayout(s);
  return {
    fields: layout.fields.map((f) => ({ field: f.field, bytes: s.payload.slice(f.offset, f.offset + f.size) })),
    subsections: layout.subsections.map((t) => ({ sub: t.sub, bytes: s.payload.slice(t.offset, t.offset + t.size) })),
  };
}
