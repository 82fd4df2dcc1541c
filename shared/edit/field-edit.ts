import { hex } from '../diagnostics';
import { decodeSection } from '../formats/qemu-stream/section-decoder';
import type { VmdescDevice, VmdescField, VmdescLayout } from '../formats/qemu-stream/vmdesc';
import { scalarValue, type FieldNode } from '../formats/qemu-stream/vmstate-decode';
import type { EditContext } from './context';
import { EditError } from './errors';
import { findField, parseFieldAddress } from './field-path';
import { encodeFieldValue, formatFieldValue } from './field-value';
import type { ByteChange, CompiledEdit } from './journal';
import { bytesPiece } from './pieces';
import { sectionLabel } from './sections';
import { vmdescChange } from './vmdesc-writer';

/**
 * Sets one device field through the decoded structure. A value of the field's own size
 * changes only its bytes; a byte field given another size (`resize`) also rewrites the
 * vmdesc sizes of the field and of every struct around it.
 */
export function compileSetField(ctx: EditContext, spec: string, text: string, resize = false): CompiledEdit {
  const { section, path } = parseFieldAddress(ctx.model, spec);
  const decoded = decodeSection(ctx.view, ctx.model, section);
  const node = findField(section, decoded.nodes, path);
  const label = section.type === 'CONFIGURATION' ? 'configuration' : sectionLabel(section);
  const bytes = encodeFieldValue(node, text, `${label} ${path}`, resize);
  const changes: ByteChange[] = [{ offset: node.offset, deleteLength: node.size, insert: [bytesPiece(bytes)] }];
  const fixups: string[] = [];
  if (bytes.length !== node.size) {
    if (section.type !== 'FULL' || decoded.describedBy !== 'vmdesc' || section.deviceIndex === undefined) {
      throw new EditError(`${label} ${path} can only change size when the image's vmdesc describes the section`);
    }
    const devices: VmdescDevice[] = JSON.parse(JSON.stringify(ctx.model.vmdesc!.devices));
    const chain = fieldChain(devices[section.deviceIndex], decoded.nodes, node);
    if (!chain || chain.some((f) => f.array_len !== undefined)) {
      throw new EditError(`${label} ${path} lies in an array whose elements the vmdesc describes together; it cannot change size on its own`);
    }
    const delta = bytes.length - node.size;
    for (const f of chain) f.size += delta;
    changes.push(vmdescChange(ctx.model, devices)!);
    fixups.push(
      `vmdesc: ${path} is now ${bytes.length} bytes (was ${node.size})${chain.length > 1 ? `, and ${chain.length - 1} enclosing struct size${chain.length > 2 ? 's' : ''} changed by ${delta}` : ''}; the JSON length was rewritten`,
      "QEMU reads this field with the size its device model expects; the image loads only if that matches (e.g. a vbuffer whose length field you also changed)",
    );
  }
  const oldValue = formatFieldValue(node.value);
  const newValue = formatFieldValue(scalarValue(node.type, bytes));
  return {
    intent: { op: 'set-field', field: spec, section: label, path, type: node.type, offset: node.offset, size: node.size, old: oldValue, new: newValue },
    summary: `${label} ${path} (${node.type} at ${hex(node.offset)}): ${oldValue} → ${newValue}`,
    changes,
    fixups,
  };
}

/**
 * The vmdesc field entries from the section down to `target`, found by walking the
 * description alongside the decoded tree exactly as the decoder built it.
 */
function fieldChain(desc: VmdescLayout, nodes: readonly FieldNode[], target: FieldNode): VmdescField[] | undefined {
  const fields = desc.fields ?? [];
  for (let k = 0; k < fields.length; k++) {
    const f = fields[k];
    const n = nodes[k];
    if (!n) return undefined;
    const inner = f.struct ?? (f.fields ? { vmsd_name: f.vmsd_name ?? f.name, version: f.version ?? 0, fields: f.fields } : undefined);
    for (const element of f.array_len !== undefined ? n.children ?? [] : [n]) {
      if (element === target) return [f];
      const below = inner && element.children ? fieldChain(inner, element.children, target) : undefined;
      if (below) return [f, ...below];
    }
  }
  const subsections = desc.subsections ?? [];
  for (let j = 0; j < subsections.length; j++) {
    const n = nodes[fields.length + j];
    const below = n?.children ? fieldChain(subsections[j], n.children, target) : undefined;
    if (below) return below;
  }
  return undefined;
}
