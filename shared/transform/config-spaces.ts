import type { VmdescStruct } from '../formats/qemu-stream/vmdesc';
import { decodeVmstate, DecodeOverrun, type FieldNode } from '../formats/qemu-stream/vmstate-decode';
import type { SectionDraft } from './rule';
import { parseVirtioBlob } from './virtio-blob';

/** Where a section's PCI config spaces are in its payload: vmdesc "pci config" fields, and the config inside a virtio blob. */
export function configSpaces(s: SectionDraft): { offset: number; size: number; where: string }[] {
  if (!s.entry) return [];
  let nodes: FieldNode[];
  try {
    nodes = decodeVmstate(s.payload, 0, s.entry as VmdescStruct).nodes;
  } catch (e) {
    if (e instanceof DecodeOverrun) return [];
    throw e;
  }
  const out: { offset: number; size: number; where: string }[] = [];
  const walk = (list: FieldNode[], path: string) => {
    for (const n of list) {
      const name = path ? `${path}.${n.name}` : n.name;
      if (n.type === 'pci config' && (n.size === 256 || n.size === 4096)) out.push({ offset: n.offset, size: n.size, where: name });
      else if (n.type === 'virtio') {
        const blob = parseVirtioBlob(s.payload.subarray(n.offset, n.offset + n.size));
        if (blob) out.push({ offset: n.offset + blob.config.offset, size: blob.config.size, where: `${name} (PCI config)` });
      }
      if (n.children) walk(n.children, name);
    }
  };
  walk(nodes, '');
  return out;
}
