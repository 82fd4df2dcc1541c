import type { Diagnostic } from '../../diagnostics';
import { hex } from '../../diagnostics';
import { describedSize, matchingEntry, payloadSize } from './vmdesc-fit';
import { describeSection, type QemuStreamModel } from './model';
import type { Vmdesc, VmdescDevice } from './vmdesc';

/**
 * A stream written without a vmdesc (suppress-vmdesc, Xen, postcopy) carries no field
 * layout, and QEMU's -dump-vmstate schemas give element sizes but not array lengths, so
 * they cannot say how many bytes a field takes. A sibling image of the same QEMU version,
 * machine type and device configuration can: its vmdesc states the sizes actually written.
 *
 * Returns a copy of `model` in which every FULL section that a donor device describes to
 * the exact byte (same idstr, instance, version and total size) is decoded with it; the
 * rest stay raw, each with a note saying why. The stream itself is unchanged: the borrowed
 * description exists only in this model and is never written into a saved image.
 */
export function borrowVmdesc(model: QemuStreamModel, donor: Vmdesc, from: string): QemuStreamModel {
  if (model.vmdesc) return model;
  const devices: VmdescDevice[] = [];
  const notes: Diagnostic[] = [];
  const elements = model.elements.map((e) => {
    if (e.type !== 'FULL') return e;
    const entry = matchingEntry(donor.devices, e);
    if (entry) {
      devices.push(entry);
      return { ...e, deviceIndex: devices.length - 1 };
    }
    notes.push(misfit(e, donor.devices, from));
    return e;
  });
  const described = devices.length;
  // The "no vmdesc: raw bytes" note now says what decodes the sections instead.
  const diagnostics = model.diagnostics.map((d) =>
    d.code === 'no-vmdesc'
      ? {
          ...d,
          found: `none; the vmdesc of ${from} is borrowed`,
          message: `The stream has no vmdesc; ${described} of ${described + notes.length} device sections are decoded with the vmdesc of ${from}${notes.length ? ', the rest are raw bytes' : ''}`,
          hint: notes.length ? 'The notes below say why each raw section does not fit the borrowed vmdesc.' : undefined,
        }
      : d,
  );
  return {
    ...model,
    elements,
    vmdesc: { page_size: model.pageSize, devices },
    diagnostics: [...diagnostics, ...notes],
    borrowedVmdesc: { from, described, undescribed: notes.length },
  };
}

function misfit(e: QemuStreamModel['elements'][number], donorDevices: readonly VmdescDevice[], from: string): Diagnostic {
  const named = donorDevices.filter((d) => d.name === e.idstr && d.instance_id === e.instanceId);
  const size = payloadSize(e);
  const found = named.length
    ? named.map((d) => `version ${d.version}, ${describedSize(d)} bytes`).join('; ')
    : 'no device of that name and instance';
  return {
    severity: 'info',
    code: 'borrowed-vmdesc-misfit',
    offset: e.payloadOffset ?? e.offset,
    length: size,
    section: describeSection(e),
    expected: `a device ${JSON.stringify(e.idstr)} instance ${e.instanceId} version ${e.versionId} of ${size} bytes in the vmdesc of ${from}`,
    found,
    message: `The borrowed vmdesc does not describe ${describeSection(e)} at ${hex(e.offset)}; it is shown as raw bytes`,
    hint: 'Borrow from an image saved by the same QEMU version with the same machine type and devices; a section whose optional subsections differ cannot be described by it.',
  };
}
