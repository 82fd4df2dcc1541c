import { SectionType } from '../formats/qemu-stream/constants';
import type { VmdescDescribed, VmdescDevice, VmdescField, VmdescLayout, VmdescStruct } from '../formats/qemu-stream/vmdesc';
import { decodeVmstate, INT_TYPE, type FieldNode } from '../formats/qemu-stream/vmstate-decode';
import { ascii, be32, concatBytes } from '../io/bytes';

/**
 * Template-driven rebase of one device section: the section is rebuilt in the template's
 * layout (its vmdesc entry, from a native image of the target), matching fields by path:
 * - a field at the same path with the same size keeps the image's bytes;
 * - one laid out differently is mapped (integers converted, buffers copied as far as they
 *   overlap, the rest from the template), or, at the same position with the same size
 *   under another name, taken as renamed;
 * - a field only the target has takes the template's value;
 * - a field only the image has is dropped.
 * Subsections likewise. Every case is reported. It needs no knowledge of the QEMU
 * versions involved, so it works for a template from a release the rules do not know.
 */
export interface RebaseResult {
  payload: Uint8Array;
  entry: VmdescDevice;
  versionId: number;
  mapped: string[];
  fromTemplate: string[];
  dropped: string[];
}

interface Side {
  desc: VmdescDescribed;
  nodes: FieldNode[];
  bytes: Uint8Array;
}

export function rebaseSection(source: { entry: VmdescDevice; payload: Uint8Array }, template: { entry: VmdescDevice; payload: Uint8Array; versionId: number }): RebaseResult {
  const result: RebaseResult = { payload: new Uint8Array(0), entry: template.entry, versionId: template.versionId, mapped: [], fromTemplate: [], dropped: [] };
  const s: Side = { desc: source.entry, nodes: decodeVmstate(source.payload, 0, source.entry).nodes, bytes: source.payload };
  const t: Side = { desc: template.entry, nodes: decodeVmstate(template.payload, 0, template.entry).nodes, bytes: template.payload };
  const { bytes, desc } = rebuildStruct(s, t, '', result);
  result.payload = bytes;
  result.entry = { ...template.entry, ...desc, name: template.entry.name, instance_id: template.entry.instance_id };
  return result;
}

/**
 * Same field names, types, sizes, array lengths and subsections, recursively. How an
 * array's elements are named differs between releases (7.2 gives each an "index", 10.0
 * repeats the name), so element indexes are not compared.
 */
export function sameLayout(a: VmdescDescribed, b: VmdescDescribed): boolean {
  const fa = a.fields ?? [];
  const fb = b.fields ?? [];
  if (fa.length !== fb.length || (a.subsections ?? []).length !== (b.subsections ?? []).length || a.version !== b.version) return false;
  for (let i = 0; i < fa.length; i++) {
    const x = fa[i];
    const y = fb[i];
    if (x.name !== y.name || x.type !== y.type || x.size !== y.size || x.array_len !== y.array_len) return false;
    const xs = inner(x);
    const ys = inner(y);
    if (!!xs !== !!ys || (xs && ys && !sameLayout(xs, ys))) return false;
  }
  return (a.subsections ?? []).every((sub, i) => sub.vmsd_name === b.subsections![i].vmsd_name && sameLayout(sub, b.subsections![i]));
}

function inner(f: VmdescField): VmdescStruct | undefined {
  return f.struct ?? (f.fields ? { vmsd_name: f.vmsd_name ?? f.name, version: f.version ?? 0, fields: f.fields } : undefined);
}

/** Field nodes by a path key unique within the struct: "unused", "unused#2" (array elements count as repeats). */
function keyed(desc: VmdescLayout, nodes: FieldNode[]): { key: string; field: VmdescField; node: FieldNode }[] {
  const seen = new Map<string, number>();
  return (desc.fields ?? []).map((field, k) => {
    const base = field.name;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { key: n === 1 ? base : `${base}#${n}`, field, node: nodes[k] };
  });
}

function rebuildStruct(s: Side, t: Side, prefix: string, r: RebaseResult): { bytes: Uint8Array; desc: VmdescDescribed } {
  const sf = keyed(s.desc, s.nodes);
  const tf = keyed(t.desc, t.nodes);
  const used = new Set<number>();
  const parts: Uint8Array[] = [];
  const fields: VmdescField[] = [];
  tf.forEach((x, k) => {
    const path = prefix + x.key;
    let m = sf.findIndex((y) => y.key === x.key);
    let renamed = false;
    if (m < 0 && k < sf.length && !used.has(k) && !tf.some((z) => z.key === sf[k].key) && sf[k].node.size === x.node.size && sf[k].field.array_len === x.field.array_len) {
      m = k;
      renamed = true;
    }
    const tb = t.bytes.subarray(x.node.offset, x.node.offset + x.node.size);
    if (m < 0) {
      parts.push(tb);
      fields.push(x.field);
      r.fromTemplate.push(path);
      return;
    }
    used.add(m);
    const y = sf[m];
    const sb = s.bytes.subarray(y.node.offset, y.node.offset + y.node.size);
    if (renamed) r.mapped.push(`${prefix}${y.key} → ${path} (same place, same ${x.node.size} bytes${y.field.type !== x.field.type ? `, ${y.field.type} → ${x.field.type}` : ''})`);
    const xi = inner(x.field);
    const yi = inner(y.field);
    if (xi && yi && x.field.array_len === undefined && y.field.array_len === undefined && x.node.children && y.node.children) {
      const sub = rebuildStruct({ desc: yi, nodes: y.node.children, bytes: s.bytes }, { desc: xi, nodes: x.node.children, bytes: t.bytes }, `${path}.`, r);
      parts.push(sub.bytes);
      fields.push(x.field.struct ? { ...x.field, size: sub.bytes.length, struct: { ...x.field.struct, ...sub.desc } } : { ...x.field, size: sub.bytes.length, fields: sub.desc.fields });
      return;
    }
    if (sb.length === tb.length) {
      parts.push(sb.slice());
      fields.push(x.field);
      if (!renamed && y.field.type !== x.field.type) r.mapped.push(`${path}: ${y.field.type} → ${x.field.type} (same ${tb.length} bytes)`);
      return;
    }
    const converted = convert(sb, y.field, tb, x.field);
    parts.push(converted.bytes);
    fields.push(x.field);
    (converted.fromTemplate ? r.fromTemplate : r.mapped).push(`${path}: ${converted.how}`);
  });
  sf.forEach((y, k) => {
    if (!used.has(k)) r.dropped.push(prefix + y.key);
  });
  // Subsections: the template's list; the image's copy of each where it has one.
  const sSubs = (s.desc.subsections ?? []).map((sub, j) => ({ sub, node: s.nodes[(s.desc.fields ?? []).length + j] }));
  const subsections: VmdescStruct[] = [];
  (t.desc.subsections ?? []).forEach((sub, j) => {
    const tnode = t.nodes[(t.desc.fields ?? []).length + j];
    const mine = sSubs.find((x) => x.sub.vmsd_name === sub.vmsd_name);
    if (!mine?.node?.children || !tnode?.children) {
      parts.push(t.bytes.subarray(tnode.offset, tnode.offset + tnode.size));
      subsections.push(sub);
      r.fromTemplate.push(`${prefix}${sub.vmsd_name} (subsection)`);
      return;
    }
    const body = rebuildStruct({ desc: mine.sub, nodes: mine.node.children, bytes: s.bytes }, { desc: sub, nodes: tnode.children, bytes: t.bytes }, `${prefix}${sub.vmsd_name}.`, r);
    parts.push(concatBytes(Uint8Array.of(SectionType.SUBSECTION, sub.vmsd_name.length), ascii(sub.vmsd_name), be32(sub.version), body.bytes));
    subsections.push({ ...sub, ...body.desc, vmsd_name: sub.vmsd_name, version: sub.version });
  });
  for (const x of sSubs) if (!(t.desc.subsections ?? []).some((sub) => sub.vmsd_name === x.sub.vmsd_name)) r.dropped.push(`${prefix}${x.sub.vmsd_name} (subsection)`);
  const desc: VmdescDescribed = { vmsd_name: t.desc.vmsd_name, version: t.desc.version, fields };
  if (subsections.length) desc.subsections = subsections;
  return { bytes: concatBytes(...parts), desc };
}

/** A field of another size: integers converted, buffers overlapped; otherwise the template's value. */
function convert(sb: Uint8Array, sField: VmdescField, tb: Uint8Array, tField: VmdescField): { bytes: Uint8Array; how: string; fromTemplate?: boolean } {
  const si = INT_TYPE.exec(sField.type);
  const ti = INT_TYPE.exec(tField.type);
  if (si && ti && sField.array_len === undefined && tField.array_len === undefined) {
    let v = 0n;
    for (const b of sb) v = (v << 8n) | BigInt(b);
    const signed = si[1] !== 'u';
    if (signed && sb.length && sb[0] & 0x80) v -= 1n << BigInt(sb.length * 8);
    const out = new Uint8Array(tb.length);
    let u = v & ((1n << BigInt(tb.length * 8)) - 1n);
    for (let i = tb.length - 1; i >= 0; i--, u >>= 8n) out[i] = Number(u & 0xffn);
    const bits = BigInt(tb.length * 8);
    const fits = ti[1] === 'u' ? v >= 0n && v < 1n << bits : v >= -(1n << (bits - 1n)) && v < 1n << (bits - 1n);
    return { bytes: out, how: `${sField.type} → ${tField.type} (value ${v}${fits ? '' : ', does not fit: truncated'})` };
  }
  if (/buffer/.test(sField.type) && /buffer/.test(tField.type)) {
    const out = tb.slice();
    out.set(sb.subarray(0, Math.min(sb.length, tb.length)));
    return { bytes: out, how: `${sb.length} → ${tb.length} bytes (the first ${Math.min(sb.length, tb.length)} from the image${tb.length > sb.length ? ', the rest from the template' : ''})` };
  }
  return { bytes: tb.slice(), how: `laid out differently (${sField.type}, ${sb.length} bytes → ${tField.type}, ${tb.length} bytes); the template's value`, fromTemplate: true };
}
