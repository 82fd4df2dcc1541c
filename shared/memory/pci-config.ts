import { readBytes, type ByteSource } from '../io/byte-source';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { PCI_CONFIG_SIZE } from '../formats/qemu-stream/pci-config-space';
import { decodeSection } from '../formats/qemu-stream/section-decoder';
import { readVirtioPciState, VirtioLayoutError, type VirtioPciState } from '../formats/qemu-stream/virtio-state';
import type { FieldNode } from '../formats/qemu-stream/vmstate-decode';

/** "0000:00:02.0" of "0000:00:02.0/vga"; behind bridges "0000:00:1c.0:00.0". */
export const PCI_PATH = /^([0-9a-f]{4}:[0-9a-f]{2}(?::[0-9a-f]{2}\.[0-7])+)\//;

/**
 * PCI config space of every PCI device in the stream, by qdev path ("0000:00:02.0"): the
 * host bridge's PAM registers and the devices' BARs decide what the guest sees where.
 * Found through the vmdesc: PCIDevice state has a 256-byte "pci config" field, and a
 * virtio-pci device carries its config inside its opaque "virtio" field.
 */
export function pciConfigSpaces(source: ByteSource, model: QemuStreamModel): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const e of model.elements) {
    const path = e.type === 'FULL' ? PCI_PATH.exec(e.idstr ?? '')?.[1] : undefined;
    if (!path || out.has(path) || e.deviceIndex === undefined) continue;
    const config = sectionPciConfig(source, model, e);
    if (config) out.set(path, config.subarray(0, PCI_CONFIG_SIZE));
  }
  return out;
}

/** The config space a device section carries, if the vmdesc shows where. */
export function sectionPciConfig(source: ByteSource, model: QemuStreamModel, e: StreamElement, nodes = decodeSection(source, model, e).nodes): Uint8Array | undefined {
  const node = findNode(nodes, (n) => n.type === 'pci config' && n.size >= PCI_CONFIG_SIZE);
  if (node) return readBytes(source, node.offset, node.size);
  return sectionVirtioState(source, nodes)?.pciConfig;
}

/** The common part of a virtio-pci device's state (see virtio-state.ts), when the section has one that reads cleanly. */
export function sectionVirtioState(source: ByteSource, nodes: FieldNode[]): VirtioPciState | undefined {
  const blob = findNode(nodes, (n) => n.type === 'virtio');
  if (!blob) return undefined;
  try {
    return readVirtioPciState(readBytes(source, blob.offset, blob.size));
  } catch (e) {
    if (e instanceof VirtioLayoutError) return undefined;
    throw e;
  }
}

function findNode(nodes: FieldNode[], test: (n: FieldNode) => boolean): FieldNode | undefined {
  for (const n of nodes) {
    if (test(n)) return n;
    const inner = n.children && findNode(n.children, test);
    if (inner) return inner;
  }
  return undefined;
}
