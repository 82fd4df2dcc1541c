import { readBytes, type ByteSource } from '../../io/byte-source';
import { EditError } from '../../edit/errors';
import { fieldPaths } from '../../edit/field-path';
import type { FieldNode } from '../qemu-stream/vmstate-decode';
import { LEGACY_CHUNK_NAMES, XL_HEADER_BYTES } from './constants';
import { decodeLayout } from './layout';
import { LIBXC_DOMAIN_HEADER, LIBXC_IMAGE_HEADER, LIBXL_HEADER, XL_HEADER } from './layouts';
import type { XenStreamModel } from './model';
import { decodeRecordBody, recordName } from './records';
import { chunkLayout } from './tree';

/**
 * Field addresses of a Xen stream, as `migwb edit --set` takes them: "TARGET.PATH".
 * TARGET names a header ("xl", "libxl", "libxc" or "libxc:N"), a record by its name and
 * occurrence ("X86_TSC_INFO", "X86_PV_VCPU_BASIC:1", "HVM_CONTEXT") or by index ("#12"),
 * or a legacy chunk by its name and occurrence ("HVM_IDENT_PT", "TSC_INFO:1"). PATH joins
 * the field names `migwb dump` prints: "HVM_CONTEXT.CPU:0.rip",
 * "X86_PV_VCPU_BASIC.context.user_regs.rip", "HVM_PARAMS.param[2].value".
 */
export interface FieldTarget {
  /** Every name the target answers to; the first is how addresses are printed. */
  names: string[];
  /** The tree id of the target's node. */
  treeId: string;
  fields(): FieldNode[];
}

export function fieldTargets(model: XenStreamModel, file: ByteSource): FieldTarget[] {
  const out: FieldTarget[] = [];
  if (model.xl) out.push({ names: ['xl'], treeId: 'xl', fields: () => decodeLayout(readBytes(file, 0, XL_HEADER_BYTES), 0, XL_HEADER, model.xl!.littleEndian).nodes });
  if (model.libxl) out.push({ names: ['libxl'], treeId: 'lh', fields: () => decodeLayout(readBytes(file, model.libxl!.offset, 16), model.libxl!.offset, LIBXL_HEADER, false).nodes });
  model.images.forEach((img, i) =>
    out.push({
      names: i === 0 ? ['libxc', 'libxc:0'] : [`libxc:${i}`],
      treeId: `i${i}`,
      fields: () => {
        const b = readBytes(file, img.offset, img.length);
        return [...decodeLayout(b.subarray(0, 24), img.offset, LIBXC_IMAGE_HEADER, false).nodes, ...decodeLayout(b.subarray(24), img.offset + 24, LIBXC_DOMAIN_HEADER, img.littleEndian).nodes];
      },
    }),
  );
  const seen = new Map<string, number>();
  for (const r of model.records) {
    if (r.resynced) continue;
    const name = recordName(r).replace(/ .*/, '');
    const k = seen.get(name) ?? 0;
    seen.set(name, k + 1);
    out.push({ names: [k === 0 ? name : `${name}:${k}`, ...(k === 0 ? [`${name}:0`] : []), `#${r.index}`], treeId: `r${r.index}`, fields: () => decodeRecordBody(file, model, r) });
  }
  model.legacy?.checkpoints.forEach((cp) => {
    for (const c of cp.chunks) {
      if (c.kind !== 'param' && c.kind !== 'tsc') continue;
      const name = LEGACY_CHUNK_NAMES[c.marker];
      const k = seen.get(name) ?? 0;
      seen.set(name, k + 1);
      out.push({
        names: [k === 0 ? name : `${name}:${k}`, `#k${c.index}`],
        treeId: `k${c.index}`,
        fields: () => decodeLayout(readBytes(file, c.offset, c.length), c.offset, chunkLayout(c, model.legacy!, file), true).nodes,
      });
    }
  });
  return out;
}

export interface ResolvedField {
  target: FieldTarget;
  path: string;
  node: FieldNode;
}

/** The field an address names; an EditError saying what exists when it names none. */
export function resolveXenField(model: XenStreamModel, file: ByteSource, spec: string): ResolvedField {
  const targets = fieldTargets(model, file);
  let best: { target: FieldTarget; path: string } | undefined;
  for (const t of targets) {
    for (const name of t.names) {
      if (spec.startsWith(`${name}.`) && (!best || name.length > spec.length - best.path.length - 1)) best = { target: t, path: spec.slice(name.length + 1) };
    }
  }
  if (!best || !best.path) {
    const names = targets.slice(0, 12).map((t) => t.names[0]);
    throw new EditError(`${JSON.stringify(spec)} does not name a field: write TARGET.FIELD with TARGET one of ${names.join(', ')}${targets.length > 12 ? ', …' : ''} (fields are listed by "migwb dump")`);
  }
  const all = fieldPaths(best.target.fields());
  const hit = all.find((p) => p.path === best!.path);
  if (!hit) {
    const leaf = best.path.slice(best.path.lastIndexOf('.') + 1).replace(/\[\d+\]$/, '');
    const near = all.filter((p) => p.path.includes(leaf)).slice(0, 5).map((p) => p.path);
    throw new EditError(`${best.target.names[0]} has no field ${JSON.stringify(best.path)}${near.length ? `; did you mean ${near.join(', ')}?` : ''}`);
  }
  return { target: best.target, path: best.path, node: hit.node };
}

/** The address of the field node a tree id points at ("r7/f/2" → "X86_TSC_INFO.nsec"), if it is one. */
export function xenFieldAddress(model: XenStreamModel, file: ByteSource, treeId: string): string | undefined {
  const m = /^(xl|lh|i\d+|r\d+|k\d+)\/(?:f\/)?(.*)$/.exec(treeId);
  if (!m) return undefined;
  const target = fieldTargets(model, file).find((t) => t.treeId === m[1]);
  if (!target) return undefined;
  let nodes = target.fields();
  let path = '';
  let parentIsArray = false;
  const parts = m[2].split('/');
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === 'g') {
      i++;
      continue;
    }
    const n = nodes[Number(parts[i])];
    if (!n) return undefined;
    path = parentIsArray && n.index !== undefined ? `${path}[${n.index}]` : `${path ? `${path}.` : ''}${n.index !== undefined ? `${n.name}[${n.index}]` : n.name}`;
    if (i === parts.length - 1) return n.children ? undefined : `${target.names[0]}.${path}`;
    nodes = n.children ?? [];
    parentIsArray = n.type === 'array';
  }
  return undefined;
}
