import { MinimapCategory, type SectionJson } from '../../api/contract';
import type { ByteSource } from '../../io/byte-source';
import { minimapPainter } from '../../workbench/minimap';
import { sectionJson as qemuSectionJson } from '../../workbench/section-json';
import { LibxcRecord, LibxlRecord, RECORD_HEADER_BYTES } from './constants';
import { fieldTargets } from './field-address';
import type { XenStreamModel } from './model';
import { recordName } from './records';
import type { XenTree } from './tree';
import type { FieldNode } from '../qemu-stream/vmstate-decode';

/**
 * The app's views of a Xen stream that are not the tree: the minimap (headers, structured
 * records, page data, the QEMU device state, damage) and the JSON tab (a record's decoded
 * fields, or a QEMU section's inside EMULATOR_CONTEXT).
 */
export function xenMinimap(model: XenStreamModel, buckets: number): number[] {
  const { out, paint } = minimapPainter(model.size, buckets);
  if (model.xl) paint(0, model.xl.length, MinimapCategory.HEADER);
  if (model.libxl) paint(model.libxl.offset, model.libxl.length, MinimapCategory.HEADER);
  for (const i of model.images) paint(i.offset, i.length, MinimapCategory.HEADER);
  for (const r of model.records) {
    if (r.resynced) paint(r.offset, r.length, MinimapCategory.DAMAGED);
    else if (r.layer === 'libxc' && r.type === LibxcRecord.PAGE_DATA) {
      paint(r.offset, RECORD_HEADER_BYTES, MinimapCategory.HEADER);
      paint(r.offset + RECORD_HEADER_BYTES, r.length - RECORD_HEADER_BYTES, MinimapCategory.RAM_PAGE);
    } else if (r.layer === 'libxl' && r.type === LibxlRecord.EMULATOR_CONTEXT) paint(r.offset, r.length, MinimapCategory.DEVICE);
    else paint(r.offset, r.length, MinimapCategory.HEADER);
  }
  for (const cp of model.legacy?.checkpoints ?? []) {
    for (const c of cp.chunks) paint(c.offset, c.length, c.kind === 'pages' ? MinimapCategory.RAM_PAGE : MinimapCategory.HEADER);
    if (cp.tail) paint(cp.tail.offset, cp.tail.length, MinimapCategory.DEVICE);
    if (cp.qemu) paint(cp.qemu.offset, cp.qemu.length, MinimapCategory.DEVICE);
  }
  if (model.trailing) paint(model.trailing.offset, model.trailing.length, MinimapCategory.TRAILING);
  for (const d of model.diagnostics) if (d.severity === 'error') paint(d.offset, d.length ?? 1, MinimapCategory.DAMAGED);
  return out;
}

/** The JSON tab for a tree node: the decoded fields of its record (or header, or legacy chunk), or of its QEMU section. */
export function xenSectionJson(source: ByteSource, model: XenStreamModel, tree: XenTree, nodeId: string): SectionJson | null {
  const nested = tree.nestedAt(nodeId);
  if (nested) {
    const m = /^(e\d+)/.exec(nested.inner);
    const element = m ? nested.q.model.elements[Number(m[1].slice(1))] : undefined;
    const json = element ? qemuSectionJson(nested.q.source, nested.q.model, element) : null;
    return json && { ...json, title: `EMULATOR_CONTEXT › ${json.title}` };
  }
  const head = nodeId.split('/')[0];
  const target = fieldTargets(model, source).find((t) => t.treeId === head);
  if (!target) return null;
  const rec = /^r(\d+)$/.exec(head) ? model.records[Number(head.slice(1))] : undefined;
  const fields = target.fields();
  return { title: rec ? `${rec.layer} ${recordName(rec)} at 0x${rec.offset.toString(16)}` : target.names[0], fields: JSON.stringify(plain(fields), null, 2), vmdesc: null };
}

/** Fields as plain JSON: names to values (integers as their hex and decimal), structs and arrays nested. */
function plain(nodes: FieldNode[]): unknown {
  const out: Record<string, unknown> = {};
  for (const n of nodes) {
    const key = n.index !== undefined ? `${n.name}[${n.index}]` : n.name;
    if (n.children) out[key] = n.type === 'array' ? n.children.map((c) => (c.children ? plain(c.children) : value(c))) : plain(n.children);
    else out[key] = value(n);
  }
  return out;
}

function value(n: FieldNode): unknown {
  const v = n.value;
  if (!v) return null;
  switch (v.kind) {
    case 'int':
      return v.hex;
    case 'bytes':
      return v.hex.length > 200 ? `${v.hex.slice(0, 200)}…` : v.hex;
    case 'text':
      return v.value;
    case 'bool':
    case 'float':
      return v.value;
    default:
      return null;
  }
}
