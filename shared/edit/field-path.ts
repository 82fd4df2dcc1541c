import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import type { FieldNode } from '../formats/qemu-stream/vmstate-decode';
import { EditError } from './errors';
import { sectionsNamed } from '../formats/qemu-stream/section-names';
import { sectionLabel } from './sections';

/**
 * Field addresses: "SECTION[:INSTANCE].PATH". PATH joins the names `migwb dump` prints, one
 * per nesting level, with dots; an array element's name already carries its array's name
 * ("env.regs[0]"), so "cpu.env.regs[0]" is RAX and "cpu.env.fpregs[0].tmp.tmp_mant" a
 * nested field. Subsections are named by their vmsd name ("cpu/async_pf_msr") or the
 * part after the slash.
 */
export interface FieldAddress {
  section: StreamElement;
  path: string;
}

/**
 * Splits "SECTION[:INSTANCE].PATH" at the longest section name the image has (section names
 * contain dots themselves: "0000:00:03.0/e1000.mac"). SECTION is any name the section
 * resolver accepts: the idstr, the short device name or the vmsd name.
 */
export function parseFieldAddress(model: QemuStreamModel, spec: string): FieldAddress {
  for (let dot = spec.lastIndexOf('.'); dot > 0; dot = spec.lastIndexOf('.', dot - 1)) {
    const name = spec.slice(0, dot);
    const hits = sectionsNamed(model, name);
    if (hits.length === 0) continue;
    if (hits.length > 1) throw new EditError(`${name} has several instances (${hits.map(sectionAddress).join(', ')}); write ${sectionAddress(hits[0])}.${spec.slice(dot + 1)}`);
    if (dot + 1 < spec.length) return { section: hits[0], path: spec.slice(dot + 1) };
  }
  throw new EditError(`${JSON.stringify(spec)} does not name a field: write SECTION[:INSTANCE].FIELD, e.g. cpu.env.regs[0] (sections and fields are listed by "migwb dump")`);
}

/**
 * The path of field `n` below `parent` ("" at a section's top level). Elements of an array
 * extend the array's own path: "env.regs" -> "env.regs[0]".
 */
export function childFieldPath(parent: string, parentIsArray: boolean, n: FieldNode, label = n.index !== undefined ? `${n.name}[${n.index}]` : n.name): string {
  return parentIsArray && n.index !== undefined ? `${parent}[${n.index}]` : parent ? `${parent}.${label}` : label;
}

/** The name a field address starts with: "configuration", or the section's "IDSTR:INSTANCE". */
export function sectionAddress(e: StreamElement): string {
  return e.type === 'CONFIGURATION' ? 'configuration' : sectionLabel(e);
}

/** Every addressable node of a decoded section with its path. */
export function fieldPaths(nodes: readonly FieldNode[]): { path: string; node: FieldNode }[] {
  const out: { path: string; node: FieldNode }[] = [];
  const walk = (list: readonly FieldNode[], parent: string, parentIsArray: boolean) => {
    for (const n of list) {
      const labels = [n.index !== undefined ? `${n.name}[${n.index}]` : n.name];
      if (n.type === 'subsection' && n.name.includes('/')) labels.push(n.name.slice(n.name.indexOf('/') + 1));
      for (const label of labels) {
        const path = childFieldPath(parent, parentIsArray, n, label);
        out.push({ path, node: n });
        if (n.children) walk(n.children, path, n.type === 'array');
      }
    }
  };
  walk(nodes, '', false);
  return out;
}

export function findField(e: StreamElement, nodes: readonly FieldNode[], path: string): FieldNode {
  const all = fieldPaths(nodes);
  const hit = all.find((p) => p.path === path);
  if (hit) return hit.node;
  const leaf = path.slice(path.lastIndexOf('.') + 1).replace(/\[\d+\]$/, '');
  const near = all.filter((p) => p.path.includes(leaf)).slice(0, 5).map((p) => p.path);
  throw new EditError(
    `${sectionLabel(e)} has no field ${JSON.stringify(path)}${near.length ? `; did you mean ${near.join(', ')}?` : ''} (its fields are listed by "migwb dump IMAGE --section ${e.idstr}")`,
  );
}
