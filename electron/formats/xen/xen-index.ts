import { countBySeverity } from '../../../shared/diagnostics';
import { LEGACY_CHUNK_NAMES } from '../../../shared/formats/xen/constants';
import { XEN_KIND_LABELS, type XenStreamModel } from '../../../shared/formats/xen/model';
import { openNestedQemu, qemuBlobs } from '../../../shared/formats/xen/nested-qemu';
import { recordName } from '../../../shared/formats/xen/records';
import type { ByteSource } from '../../../shared/io/byte-source';
import { imageRows, type ImageRows } from '../../index/image-rows';

/** The library tables the Xen engine writes (created by schema.ts), with their columns in insert order. */
export const XEN_TABLES = [
  {
    name: 'xen_streams',
    columns: ['image_id', 'kind', 'domain_type', 'guest_width', 'pt_levels', 'long_mode', 'libxc_version', 'legacy_width', 'xen_version', 'vcpus', 'page_count', 'pfn_limit', 'checkpoints', 'record_count'],
  },
  { name: 'xen_records', columns: ['image_id', 'idx', 'layer', 'type', 'name', 'offset', 'length', 'checkpoint'] },
] as const;

/** The library format names of Xen streams (images.format). */
export const XEN_LIBRARY_FORMATS: Readonly<Record<XenStreamModel['kind'], string>> = { xl: 'xen-xl', libxl: 'xen-libxl', libxc: 'xen-libxc', legacy: 'xen-legacy' };

/**
 * A Xen stream's rows in the library: the images row (records as elements, guest memory
 * as RAM bytes), its xen_streams and xen_records rows, and the QEMU device state of its last
 * emulator context in sections and devices (offsets in the Xen file), so `migwb find
 * --device` and the devices table cover Xen guests too.
 */
export function xenImageRows(model: XenStreamModel, source: ByteSource): ImageRows {
  const counts = countBySeverity(model.diagnostics);
  const blobs = qemuBlobs(model);
  const last = blobs[blobs.length - 1];
  const nested = last ? openNestedQemu(source, last.offset, last.length) : undefined;
  const qemu = nested ? imageRows(nested.model) : undefined;
  const shift = (rows: unknown[][], columns: number[]) => rows.map((r) => r.map((v, i) => (columns.includes(i) && typeof v === 'number' ? v + last!.offset : v)));
  const records = model.legacy
    ? model.legacy.checkpoints.flatMap((cp, k) => cp.chunks.map((c) => [c.index, 'legacy', c.marker, c.marker > 0 ? 'page batch' : LEGACY_CHUNK_NAMES[c.marker] ?? `chunk ${c.marker}`, c.offset, c.length, k]))
    : model.records.map((r) => [r.index, r.layer, r.type, recordName(r), r.offset, r.length, r.checkpoint]);
  return {
    image: {
      file_version: model.images[0]?.version ?? 0,
      machine_type: nested?.model.machineType ?? null,
      page_size: 4096,
      capabilities: '',
      has_vmdesc: nested?.model.vmdesc ? 1 : 0,
      saw_eof: model.legacy ? 1 : model.records.some((r) => r.type === 0 && (r.layer === 'libxl' || !model.libxl)) ? 1 : 0,
      element_count: records.length,
      ram_bytes: model.pages.pagesWithData * 4096,
      errors: counts.error,
      warnings: counts.warning,
      notes: counts.info,
      // The QEMU release hint of the device state it carries (an HVM guest's emulator context).
      qemu_version_hint: qemu?.image.qemu_version_hint ?? null,
    },
    // sections: offset (3), payload_offset (9), footer_offset (10) are in the nested stream.
    sections: qemu ? shift(qemu.sections, [3, 9, 10]) : [],
    ramBlocks: [],
    pageRuns: [],
    devices: qemu?.devices ?? [],
    diagnostics: model.diagnostics.map((d, i) => [i, d.severity, d.code, d.offset, d.length ?? null, d.section ?? null, d.expected, d.found, d.message, d.hint ?? null]),
    // Without image_id: the store puts it first.
    engineTables: [
      {
        table: 'xen_streams',
        rows: [
          [
            model.kind,
            model.domain.type,
            model.domain.guestWidth ?? null,
            model.domain.ptLevels ?? null,
            model.domain.longMode === undefined ? null : model.domain.longMode ? 1 : 0,
            model.images[0]?.version ?? null,
            model.legacy?.width ?? null,
            model.domain.xenVersion ?? null,
            JSON.stringify(model.domain.vcpus),
            model.pages.pagesWithData,
            model.pages.pfnLimit,
            model.legacy ? model.legacy.checkpoints.length - 1 : model.checkpoints,
            records.length,
          ],
        ],
      },
      { table: 'xen_records', rows: records },
    ],
  };
}

/**
 * The library's wrapper column for a Xen stream: its layers as the structure tree names
 * them ("Xen xl save file · libxc image v3"), and what a legacy stream had to be detected.
 */
export function xenWrapper(model: XenStreamModel): string {
  const parts = [XEN_KIND_LABELS[model.kind]];
  if (model.images[0]) parts.push(`libxc image v${model.images[0].version}`);
  if (model.legacy) parts.push(`${model.legacy.width * 8}-bit toolstack, ${model.legacy.guest.toUpperCase()}`);
  return parts.join(' · ');
}
