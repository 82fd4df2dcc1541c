import type { SectionJson } from '../api/contract';
import type { ByteSource } from '../io/byte-source';
import { analyzeCompatSection } from '../formats/qemu-stream/analyze-compat';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { describeSection } from '../formats/qemu-stream/model';
import { decodeSection, type DecodedSection } from '../formats/qemu-stream/section-decoder';

/**
 * What the editor tab shows for a section: its decoded fields as JSON (the shape
 * analyze-migration.py prints, which users know) and its vmdesc entry; for the vmdesc
 * element, the whole vmdesc.
 */
export function sectionJson(source: ByteSource, model: QemuStreamModel, e: StreamElement, decode: (e: StreamElement) => DecodedSection = (x) => decodeSection(source, model, x)): SectionJson | null {
  if (e.type === 'VMDESCRIPTION') return model.vmdesc ? { title: 'vmdesc', fields: JSON.stringify(model.vmdesc, null, 2), vmdesc: null } : null;
  if (e.type !== 'FULL' && e.type !== 'CONFIGURATION') return null;
  const decoded = decode(e);
  const description = e.type === 'CONFIGURATION' ? model.vmdesc?.configuration : e.deviceIndex !== undefined ? model.vmdesc?.devices[e.deviceIndex] : undefined;
  return {
    title: e.type === 'CONFIGURATION' ? `configuration ${e.machine ?? ''}`.trim() : describeSection(e),
    fields: analyzeCompatSection(decoded),
    vmdesc: description ? JSON.stringify(description, null, 2) : null,
  };
}
