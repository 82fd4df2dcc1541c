import { readBytes, type ByteSource } from '../io/byte-source';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { decodeSection } from '../formats/qemu-stream/section-decoder';
import type { FieldNode } from '../formats/qemu-stream/vmstate-decode';

const PCI_CONFIG_SIZE = 256;

/**
 * PCI config space of every PCI device in the stream, by qdev path ("0000:00:02.0"): the
 * host bridge's PAM registers and the devices' BARs decide what the guest sees where.
 * Found through the vmdesc, whose PCIDevice state has a 256-byte "pci config" field.
 */
export function pciConfigSpaces(source: ByteSource, model: QemuStreamModel): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const e of model.elements) {
    const path = e.type === 'FULL' ? /^([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f])\//.exec(e.idstr ?? '')?.[1] : undefined;
    if (!path || out.has(path) || e.deviceIndex === undefined) continue;
    const node = findConfig(decodeSection(source, model, e, { virtio: false }).nodes);
    if (node) out.set(path, readBytes(source, node.offset, PCI_CONFIG_SIZE));
  }
  return out;
}

function findConfig(nodes: FieldNode[]): FieldNode | undefined {
  for (const n of nodes) {
    if (n.type === 'pci config' && n.size === PCI_CONFIG_SIZE) return n;
    const inner = n.children && findConfig(n.children);
    if (inner) return inner;
  }
  return undefined;
}
