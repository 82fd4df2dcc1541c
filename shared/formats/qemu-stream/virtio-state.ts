import { readBe32, readBe64 } from '../../io/bytes';
import { parsePciConfig, PCI_CONFIG_SIZE, PCIE_CONFIG_SIZE, type PciConfigFacts } from './pci-config-space';

/**
 * The opaque "virtio" field of a virtio-pci device section: hw/virtio/virtio.c virtio_save(),
 * which the vmdesc describes as one buffer. Its common part is fixed:
 *
 *   transport  virtio_pci_save_config: vmstate_pci_device (be32 version, config space,
 *              16 bytes of irq state), msix_save (table n*16, pending bits ceil(n/8)),
 *              be16 config vector when MSI-X is present
 *   be8 status, be8 isr, be16 queue_sel, be32 guest features (low half)
 *   be32 config_len, config_len bytes of the device's config space (virtio_*_config)
 *   be32 number of queues in use, per queue: be32 size, be64 descriptor address,
 *              be16 last avail index, be16 MSI-X vector when MSI-X is present
 *
 * then the device's own state (vdc->save / vdc->vmsd) and the "virtio" subsections.
 * virtio-ccw and virtio-mmio transports lay out the first part differently and are not read.
 */
export interface VirtioPciState {
  pciConfig: Uint8Array;
  pci: PciConfigFacts;
  status: number;
  guestFeaturesLow: number;
  /** The device config space (little-endian fields of struct virtio_<device>_config, as the guest sees them). */
  deviceConfig: Uint8Array;
  queues: { size: number; descriptorAddress: number; lastAvailIndex: number }[];
  /** Offset in the blob where the device-specific state starts. */
  deviceStateOffset: number;
}

const PCI_IRQ_STATE_SIZE = 16;
const MSIX_ENTRY_SIZE = 16;
/** VIRTIO_QUEUE_MAX: a larger count means the blob is not laid out as read here. */
const VIRTIO_QUEUE_MAX = 1024;

export class VirtioLayoutError extends Error {}

/** Reads the common part of a virtio-pci device's state blob; throws VirtioLayoutError when it does not fit. */
export function readVirtioPciState(blob: Uint8Array): VirtioPciState {
  let at = 0;
  const need = (n: number) => {
    if (at + n > blob.length) throw new VirtioLayoutError(`the virtio state ends at byte ${blob.length}, ${n} bytes needed at ${at}`);
  };
  need(4 + PCI_CONFIG_SIZE);
  const version = readBe32(blob, 0);
  if (version < 1 || version > 3) throw new VirtioLayoutError(`PCI device state version ${version} is not 1 to 3`);
  at = 4;
  const pci = parsePciConfig(blob.subarray(at, at + PCI_CONFIG_SIZE));
  const configSize = pci.express ? PCIE_CONFIG_SIZE : PCI_CONFIG_SIZE;
  need(configSize + PCI_IRQ_STATE_SIZE);
  const pciConfig = blob.subarray(at, at + configSize);
  at += configSize + PCI_IRQ_STATE_SIZE;
  const vectors = pci.msixVectors ?? 0;
  if (vectors) {
    need(vectors * MSIX_ENTRY_SIZE + Math.ceil(vectors / 8) + 2);
    at += vectors * MSIX_ENTRY_SIZE + Math.ceil(vectors / 8) + 2;
  }
  need(1 + 1 + 2 + 4 + 4);
  const status = blob[at];
  const guestFeaturesLow = readBe32(blob, at + 4);
  const configLength = readBe32(blob, at + 8);
  at += 12;
  need(configLength + 4);
  const deviceConfig = blob.subarray(at, at + configLength);
  at += configLength;
  const queueCount = readBe32(blob, at);
  at += 4;
  if (queueCount > VIRTIO_QUEUE_MAX) throw new VirtioLayoutError(`${queueCount} queues is more than VIRTIO_QUEUE_MAX`);
  const queues: VirtioPciState['queues'] = [];
  const perQueue = 4 + 8 + 2 + (vectors ? 2 : 0);
  need(queueCount * perQueue);
  for (let i = 0; i < queueCount; i++) {
    queues.push({ size: readBe32(blob, at), descriptorAddress: readBe64(blob, at + 4), lastAvailIndex: (blob[at + 12] << 8) | blob[at + 13] });
    at += perQueue;
  }
  return { pciConfig, pci, status, guestFeaturesLow, deviceConfig, queues, deviceStateOffset: at };
}

/** Little-endian reads of a virtio config space (modern and, on x86/ARM/RISC-V, legacy devices alike). */
export function configLe(config: Uint8Array, at: number, bytes: 1 | 2 | 4 | 8): number | undefined {
  if (at + bytes > config.length) return undefined;
  let v = 0;
  for (let i = bytes - 1; i >= 0; i--) v = v * 256 + config[at + i];
  return v;
}
