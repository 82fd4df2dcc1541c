import { readBe32 } from '../io/bytes';
import { capabilities, PCI_CAP_ID_EXP, PCI_CAP_ID_MSIX, PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_EXT_TAG } from '../transform/pci';
import { parseVirtioBlob } from '../transform/virtio-blob';

/**
 * A PCI function's identity as its saved config space shows it. QEMU's loader
 * (hw/pci/pci.c get_pci_config_device) refuses a stream whose read-only bytes differ from
 * the destination device's wherever the device's cmask is set: the IDs, the class code and
 * every capability body. So these bytes say exactly which device, with which MSI-X vector
 * count and PCIe port numbers, the destination must be.
 */
export interface PciConfigFacts {
  vendorId: number;
  deviceId: number;
  /** Base class, sub-class and programming interface, e.g. 0x030000 for a VGA controller. */
  classCode: number;
  multifunction: boolean;
  /** MSI-X table size (the `vectors` property of most devices), when the device has MSI-X. */
  msixVectors?: number;
  /** PCIe Link Capabilities port number (pcie-root-port `port`). */
  pciePort?: number;
  /** PCIe Slot Capabilities physical slot number (pcie-root-port `slot`), when a slot is implemented. */
  pcieSlot?: number;
  /** PCIe Device Capabilities Extended Tag bit (x-pcie-ext-tag; hw_compat_9_1 turns it off). */
  pcieExtTag?: boolean;
  /** AER Uncorrectable Error Mask has Internal Error masked (x-pcie-err-unc-mask; hw_compat_7_2 turns it off). */
  aerMasksInternalErrors?: boolean;
}

/** PCI Express extended capability ids (include/hw/pci/pci_regs.h). */
const PCI_EXT_CAP_ID_ERR = 0x0001;
const PCI_ERR_UNCOR_MASK = 0x08;
const PCI_ERR_UNC_INTN = 0x00400000;

const le16 = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const le32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

export function parsePciConfig(config: Uint8Array): PciConfigFacts {
  const caps = capabilities(config);
  const facts: PciConfigFacts = {
    vendorId: le16(config, 0x00),
    deviceId: le16(config, 0x02),
    classCode: (config[0x0b] << 16) | (config[0x0a] << 8) | config[0x09],
    multifunction: (config[0x0e] & 0x80) !== 0,
  };
  const msix = caps.get(PCI_CAP_ID_MSIX);
  if (msix !== undefined) facts.msixVectors = (le16(config, msix + 2) & 0x7ff) + 1;
  const exp = caps.get(PCI_CAP_ID_EXP);
  if (exp !== undefined && exp + 0x18 <= config.length) {
    facts.pciePort = le32(config, exp + 0x0c) >>> 24;
    const slotImplemented = (le16(config, exp + 0x02) & 0x0100) !== 0;
    if (slotImplemented) facts.pcieSlot = le32(config, exp + 0x14) >>> 19;
    facts.pcieExtTag = (config[exp + PCI_EXP_DEVCAP] & PCI_EXP_DEVCAP_EXT_TAG) !== 0;
  }
  const aer = extendedCapability(config, PCI_EXT_CAP_ID_ERR);
  if (aer !== undefined) facts.aerMasksInternalErrors = (le32(config, aer + PCI_ERR_UNCOR_MASK) & PCI_ERR_UNC_INTN) !== 0;
  return facts;
}

/** Offset of a PCIe extended capability (config space beyond 256 bytes), by id. */
function extendedCapability(config: Uint8Array, id: number): number | undefined {
  const seen = new Set<number>();
  for (let at = 0x100; at >= 0x100 && at + 4 <= config.length && !seen.has(at); ) {
    seen.add(at);
    const header = le32(config, at);
    if (header === 0 || header === 0xffffffff) return undefined;
    if ((header & 0xffff) === id) return at;
    at = (header >>> 20) & 0xffc;
  }
  return undefined;
}

/** "1af4:1000" */
export function pciId(facts: Pick<PciConfigFacts, 'vendorId' | 'deviceId'>): string {
  return `${facts.vendorId.toString(16).padStart(4, '0')}:${facts.deviceId.toString(16).padStart(4, '0')}`;
}

/** The values of a virtio-pci device's state blob that derivation reads (see transform/virtio-blob.ts for the layout). */
export interface VirtioValues {
  pciConfig: Uint8Array;
  guestFeaturesLow: number;
  /** The device config space (little-endian struct virtio_<device>_config) as the last guest read left it. */
  deviceConfig: Uint8Array;
  queueCount: number;
  /** Offset in the blob where the device's own state starts. */
  deviceState: number;
}

export function virtioValues(blob: Uint8Array): VirtioValues | undefined {
  const v = parseVirtioBlob(blob);
  if (!v) return undefined;
  const configAt = v.deviceConfig.offset + 4;
  return {
    pciConfig: blob.subarray(v.config.offset, v.config.offset + v.config.size),
    // u8 status, u8 isr, be16 queue_sel, be32 guest_features_lo, then be32 config_len.
    guestFeaturesLow: readBe32(blob, v.deviceConfig.offset - 4),
    deviceConfig: blob.subarray(configAt, v.deviceConfig.offset + v.deviceConfig.length),
    queueCount: v.queues.count,
    deviceState: v.deviceState,
  };
}

/** A little-endian field of a virtio config space, when it is inside it. */
export function configLe(config: Uint8Array, at: number, bytes: 1 | 2 | 4 | 8): number | undefined {
  if (at + bytes > config.length) return undefined;
  let v = 0;
  for (let i = bytes - 1; i >= 0; i--) v = v * 256 + config[at + i];
  return v;
}
