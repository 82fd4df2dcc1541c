import { countBySeverity } from '../../shared/diagnostics';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { PAGE_KIND_NAMES } from '../../shared/formats/qemu-stream/page-index';
import { summarizeStream } from '../../shared/formats/qemu-stream/summary';
import type { VmdescLayout } from '../../shared/formats/qemu-stream/vmdesc';
import { formatVersionHint, versionHint } from '../../shared/formats/qemu-stream/version-hint';
import { PageKind } from '../../shared/formats/qemu-stream/page-index';
import type { ContainerLayer } from '../../shared/formats/container-model';
import { viewsOf } from '../../shared/formats/registry';
import type { ByteSource } from '../../shared/io/byte-source';

/** The rows of one image's model in the library tables (see schema.ts). */
export interface ImageRows {
  image: {
    file_version: number;
    machine_type: string | null;
    page_size: number;
    capabilities: string;
    has_vmdesc: number;
    saw_eof: number;
    element_count: number;
    ram_bytes: number;
    errors: number;
    warnings: number;
    notes: number;
    qemu_version_hint: string | null;
  };
  sections: unknown[][];
  ramBlocks: unknown[][];
  pageRuns: unknown[][];
  devices: unknown[][];
  diagnostics: unknown[][];
  /** Rows of tables an engine of its own writes (the Xen engine: xen_streams, xen_records), in its tables' column order. */
  engineTables?: { table: string; rows: unknown[][] }[];
}

export function imageRows(model: QemuStreamModel): ImageRows {
  const summary = summarizeStream(model);
  const counts = countBySeverity(model.diagnostics);
  const sections = model.elements.map((e) => [
    e.index,
    e.type,
    e.typeCode,
    e.offset,
    e.length,
    e.sectionId ?? null,
    e.idstr ?? e.machine ?? e.cmdName ?? null,
    e.instanceId ?? null,
    e.versionId ?? null,
    e.payloadOffset ?? null,
    e.footerOffset ?? null,
    e.pages ? e.pages.zero + e.pages.page + e.pages.xbzrle + e.pages.compress : null,
    e.damaged ? 1 : 0,
  ]);
  const ramBlocks = summary.ramBlocks.map((b, i) => [i, b.id, b.usedLength, b.pages, b.pagesPresent, b.recordOffset]);
  const pageRuns = [...model.pages.runs()].map((r, i) => [i, r.block, r.firstPage, r.count, PAGE_KIND_NAMES[r.kind], r.dataOffset, r.stride, r.dataLength, r.fill, r.element]);
  const devices = model.elements
    .filter((e) => e.type === 'FULL' && e.idstr !== undefined)
    .map((e) => {
      const desc = e.deviceIndex !== undefined ? model.vmdesc?.devices[e.deviceIndex] : undefined;
      return [e.index, e.idstr, desc?.vmsd_name ?? null, e.instanceId, e.versionId, desc ? JSON.stringify(subsectionNames(desc)) : null];
    });
  const diagnostics = model.diagnostics.map((d, i) => [i, d.severity, d.code, d.offset, d.length ?? null, d.section ?? null, d.expected, d.found, d.message, d.hint ?? null]);
  return {
    image: {
      file_version: model.fileVersion,
      machine_type: model.machineType ?? null,
      page_size: model.pageSize,
      capabilities: model.capabilities.join(','),
      has_vmdesc: model.vmdesc ? 1 : 0,
      saw_eof: model.sawEof ? 1 : 0,
      element_count: model.elements.length,
      ram_bytes: model.ramBlocks.reduce((n, b) => n + b.usedLength, 0),
      errors: counts.error,
      warnings: counts.warning,
      notes: counts.info,
      qemu_version_hint: formatVersionHint(versionHint(model)),
    },
    sections,
    ramBlocks,
    pageRuns,
    devices,
    diagnostics,
  };
}

/** Subsections the stream carries for a device (the vmdesc lists only those sent), nested ones too. */
function subsectionNames(s: VmdescLayout): string[] {
  return (s.subsections ?? []).flatMap((sub) => [sub.vmsd_name, ...subsectionNames(sub)]);
}

/** Page encodings a user wants to see in the library ("compressed", "XBZRLE", "mapped-ram"). */
const ENCODINGS: readonly [PageKind, string][] = [
  [PageKind.COMPRESS, 'compressed pages'],
  [PageKind.XBZRLE, 'XBZRLE pages'],
  [PageKind.MAPPED, 'mapped-ram'],
];

/**
 * What wraps the stream and how its pages are stored, in one line for the library's wrapper
 * column: each layer as its format shows it at the top of the structure tree ("libvirt save
 * image · version 2 · gzip stream"), then the page encodings. Null for a bare stream of
 * plain pages.
 */
export function describeWrapper(layers: readonly ContainerLayer[], file: ByteSource, model: QemuStreamModel): string | null {
  const parts = layers.map((layer) => {
    const root = viewsOf(layer).tree.root(layer, 'w0', { file });
    return root.detail ? `${root.label} · ${root.detail}` : root.label;
  });
  const kinds = new Set<number>();
  for (const r of model.pages.runs()) kinds.add(r.kind);
  const encodings = ENCODINGS.filter(([k]) => kinds.has(k)).map(([, name]) => name);
  if (encodings.length) parts.push(encodings.join(', '));
  return parts.length ? parts.join(' · ') : null;
}
