import { hex, type Diagnostic } from '../diagnostics';
import { readBytes } from '../io/byte-source';
import { be32 } from '../io/bytes';
import type { EditContext, SourceImage } from '../edit/context';
import type { JsonValue } from '../edit/intents';
import { bytesPiece } from '../edit/pieces';
import { encodeSectionHeader, fullSections, sectionLabel } from '../edit/sections';
import { findByName } from '../edit/section-edit';
import { QEVM_FILE_VERSION, QEVM_MAGIC, SectionType, type ElementType } from '../formats/qemu-stream/constants';
import type { StreamElement } from '../formats/qemu-stream/model';
import type { RepairAction } from './action';
import { repairAction } from './action';

const TYPE_CODES: Partial<Record<ElementType, number>> = {
  EOF: SectionType.EOF,
  START: SectionType.START,
  PART: SectionType.PART,
  END: SectionType.END,
  FULL: SectionType.FULL,
  COMMAND: SectionType.COMMAND,
};

/**
 * Repairs of single damaged header fields, each restored from evidence the image itself
 * holds (the vmdesc, the section order, the parser's reading of a flipped type byte) or,
 * without a vmdesc, from a donor's section with the same id.
 */
export function headerRepairs(ctx: EditContext, donor?: SourceImage): RepairAction[] {
  const { model } = ctx;
  const diags = model.diagnostics;
  const at = (code: string, offset: number) => diags.filter((d) => d.code === code && d.offset === offset);
  const out: RepairAction[] = [];

  const magic = diags.find((d) => d.code === 'bad-magic');
  if (magic && model.elements.length > 0) {
    out.push(repairAction('restore-magic', 'restored the file magic "QEVM"', [magic], [{ offset: 0, deleteLength: 4, insert: [bytesPiece(be32(QEVM_MAGIC))] }]));
  }
  const version = diags.find((d) => d.code === 'file-version');
  if (version && model.elements.length > 0) {
    out.push(repairAction('restore-file-version', `restored file version ${QEVM_FILE_VERSION} (was ${model.fileVersion})`, [version], [{ offset: 4, deleteLength: 4, insert: [bytesPiece(be32(QEVM_FILE_VERSION))] }]));
  }

  for (const e of model.elements) {
    const code = TYPE_CODES[e.type];
    if (code !== undefined && e.typeCode !== code) {
      out.push(
        repairAction('restore-section-type', `restored the type byte of ${describe(e)} at ${hex(e.offset)}: ${hex(e.typeCode, 2)} → ${hex(code, 2)} (${e.type})`, at('damaged-section-type', e.offset), [
          { offset: e.offset, deleteLength: 1, insert: [bytesPiece(Uint8Array.of(code))] },
        ]),
      );
    }
  }

  for (const e of fullSections(model)) {
    const nameDiags = at('section-name-mismatch', e.offset + 6);
    const device = e.deviceIndex !== undefined ? model.vmdesc?.devices[e.deviceIndex] : undefined;
    if (nameDiags.length && device) {
      out.push(renameSection(e, device.name, device.instance_id, 'the vmdesc and the section order', nameDiags));
    } else if (donor && !model.vmdesc && !findByName(donor.model, e.idstr!, e.instanceId!)) {
      // Without a vmdesc nothing flags a damaged name; a donor's section with the same id and version names it.
      const twin = fullSections(donor.model).find((d) => d.sectionId === e.sectionId && d.versionId === e.versionId);
      if (twin && !findByName(model, twin.idstr!, twin.instanceId!)) out.push(renameSection(e, twin.idstr!, twin.instanceId!, `the donor's section with id ${e.sectionId}`, []));
    }
    const versionDiags = at('version-mismatch', e.payloadOffset! - 4);
    // Only a version the vmdesc states (a legacy section's entry has none to restore).
    if (versionDiags.length && device?.version !== undefined) {
      out.push(
        repairAction('restore-version', `restored the version of ${sectionLabel(e)} from the vmdesc: ${e.versionId} → ${device.version}`, versionDiags, [
          { offset: e.payloadOffset! - 4, deleteLength: 4, insert: [bytesPiece(be32(device.version))] },
        ]),
      );
    }
  }

  for (const e of model.elements) {
    if (e.sectionId === undefined) continue;
    const wrongId = e.footerOffset !== undefined ? at('footer-mismatch', e.footerOffset + 1) : [];
    if (wrongId.length) {
      out.push(repairAction('restore-footer', `restored the footer of ${describe(e)}: section id ${e.sectionId}`, wrongId, [{ offset: e.footerOffset! + 1, deleteLength: 4, insert: [bytesPiece(be32(e.sectionId))] }]));
    }
    // Where the footer is (read with a damaged marker) or should be (the element's end).
    const slot = e.footerOffset ?? e.offset + e.length;
    const missing = at('footer-missing', slot);
    if (!missing.length) continue;
    const b = readBytes(ctx.view, slot, 5);
    if (b.length === 5 && b[0] !== SectionType.FOOTER && ((b[1] << 24) | (b[2] << 16) | (b[3] << 8) | b[4]) >>> 0 === e.sectionId) {
      // Only the marker byte is damaged: the section id follows it intact.
      out.push(repairAction('restore-footer', `restored the footer marker of ${describe(e)} at ${hex(slot)}: ${hex(b[0], 2)} → 0x7e`, missing, [{ offset: slot, deleteLength: 1, insert: [bytesPiece(Uint8Array.of(SectionType.FOOTER))] }]));
    } else if (e.footerOffset === undefined && (e.delimitedBy === 'vmdesc' || e.delimitedBy === undefined)) {
      // No footer at all where the section's known end is (by the vmdesc, or by its records): write it there.
      out.push(repairAction('restore-footer', `wrote the missing footer of ${describe(e)} at ${hex(slot)}: 7e ${hex(e.sectionId, 8)}`, missing, [{ offset: slot, deleteLength: 0, insert: [bytesPiece(Uint8Array.of(SectionType.FOOTER, ...be32(e.sectionId)))] }]));
    }
  }
  return out;
}

function renameSection(e: StreamElement, idstr: string, instanceId: number, from: string, addresses: Diagnostic[]): RepairAction {
  // Length byte, name and instance id: the part of the header between the section id and the version.
  const header = encodeSectionHeader(TYPE_CODES[e.type]!, e.sectionId!, idstr, instanceId, e.versionId!).subarray(5, -4);
  const extra: Record<string, JsonValue> = { old_name: e.idstr ?? '', new_name: idstr, instance: instanceId, from };
  return repairAction('restore-section-name', `restored the name of the section at ${hex(e.offset)} from ${from}: ${JSON.stringify(e.idstr)} → ${JSON.stringify(idstr)} instance ${instanceId}`, addresses, [
    { offset: e.offset + 5, deleteLength: e.payloadOffset! - 4 - (e.offset + 5), insert: [bytesPiece(header)] },
  ], extra);
}

function describe(e: StreamElement): string {
  return e.idstr ? `${e.type} ${e.type === 'FULL' || e.type === 'START' ? sectionLabel(e) : e.idstr}` : e.type;
}
