/**
 * A PCI function's configuration space as a device section carries it (the 256-byte
 * "pci config" buffer of vmstate_pci_device, 4096 bytes for PCI Express). QEMU's loader
 * (hw/pci/pci.c get_pci_config_device) refuses a stream whose read-only bytes differ from
 * the destination device's wherever the device's cmask is set: the IDs, the class code and
 * every capability body. So these bytes say exactly which device, with which MSI-X vector
 * count and PCIe port numbers, the destination must be.
 */
export interface PciConfigFacts {
  vendorId: number;
  deviceId: number;
  revision: number;
  /** Base class, sub-class and programming interface, e.g. 0x030000 for a VGA controller. */
  classCode: number;
  subsystemVendorId: number;
  subsystemId: number;
  /** Header type without the multi-function bit: 0 endpoint, 1 PCI-to-PCI bridge. */
  headerType: number;
  multifunction: boolean;
  /** Capabilities in list order, with their config-space offsets. */
  capabilities: { id: number; offset: number }[];
  /** MSI-X table size (the `vectors` property of most devices), when the device has MSI-X. */
  msixVectors?: number;
  /** A PCI Express capability is present: the device saves 4096 bytes of config space. */
  express: boolean;
  /** PCIe Link Capabilities port number (pcie-root-port `port`). */
  pciePort?: number;
  /** PCIe Slot Capabilities physical slot number (pcie-root-port `slot`), when a slot is implemented. */
  pcieSlot?: number;
  /** Byte cap+4 of the PCIe capability: Device Capabilities, whose bit 5 is Extended Tag (x-pcie-ext-tag). */
  pcieDeviceCapabilitiesOffset?: number;
}

export const PCI_CONFIG_SIZE = 256;
export const PCIE_CONFIG_SIZE = 4096;

export const PCI_CAP_ID = { MSI: 0x05, VENDOR: 0x09, EXPRESS: 0x10, MSIX: 0x11, SSVID: 0x0d } as const;

const le16 = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const le32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/** Reads the identity and capabilities of a config space (at least its first 64 bytes). */
export function parsePciConfig(config: Uint8Array): PciConfigFacts {
  const facts: PciConfigFacts = {
    vendorId: le16(config, 0x00),
    deviceId: le16(config, 0x02),
    revision: config[0x08],
    classCode: (config[0x0b] << 16) | (config[0x0a] << 8) | config[0x09],
    headerType: config[0x0e] & 0x7f,
    multifunction: (config[0x0e] & 0x80) !== 0,
    subsystemVendorId: config[0x0e] & 0x7f ? 0 : le16(config, 0x2c),
    subsystemId: config[0x0e] & 0x7f ? 0 : le16(config, 0x2e),
    capabilities: [],
    express: false,
  };
  const hasCapabilities = (le16(config, 0x06) & 0x10) !== 0;
  const seen = new Set<number>();
  let at = hasCapabilities && config.length > 0x34 ? config[0x34] & 0xfc : 0;
  while (at >= 0x40 && at + 2 <= Math.min(config.length, PCI_CONFIG_SIZE) && !seen.has(at)) {
    seen.add(at);
    const id = config[at];
    facts.capabilities.push({ id, offset: at });
    if (id === PCI_CAP_ID.MSIX && at + 4 <= config.length) facts.msixVectors = (le16(config, at + 2) & 0x7ff) + 1;
    if (id === PCI_CAP_ID.EXPRESS && at + 0x18 <= config.length) {
      facts.express = true;
      facts.pcieDeviceCapabilitiesOffset = at + 4;
      facts.pciePort = le32(config, at + 0x0c) >>> 24;
      const slotImplemented = (le16(config, at + 0x02) & 0x0100) !== 0;
      if (slotImplemented) facts.pcieSlot = le32(config, at + 0x14) >>> 19;
    }
    at = config[at + 1] & 0xfc;
  }
  return facts;
}

/** "1af4:1000" */
export function pciId(facts: Pick<PciConfigFacts, 'vendorId' | 'deviceId'>): string {
  return `${facts.vendorId.toString(16).padStart(4, '0')}:${facts.deviceId.toString(16).padStart(4, '0')}`;
}
