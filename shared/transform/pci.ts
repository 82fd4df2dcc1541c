/** PCI configuration space helpers (include/hw/pci/pci_regs.h). */

export const PCI_STATUS = 0x06;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_CAP_ID_EXP = 0x10;
export const PCI_CAP_ID_MSIX = 0x11;
/** Device Capabilities register of the PCI Express capability. */
export const PCI_EXP_DEVCAP = 4;
export const PCI_EXP_DEVCAP_EXT_TAG = 0x20;

/** Offsets of the standard capabilities of a config space, by id (the first of each). */
export function capabilities(config: Uint8Array): Map<number, number> {
  const out = new Map<number, number>();
  if (config.length < 0x40 || !(config[PCI_STATUS] & PCI_STATUS_CAP_LIST)) return out;
  const seen = new Set<number>();
  for (let at = config[PCI_CAPABILITY_LIST] & ~3; at >= 0x40 && at < Math.min(config.length, 256) - 1 && !seen.has(at); at = config[at + 1] & ~3) {
    seen.add(at);
    if (!out.has(config[at])) out.set(config[at], at);
  }
  return out;
}

export const PCI_EXT_CAP_ID_ERR = 0x0001;
/** Uncorrectable Error Mask register of the AER capability. */
export const PCI_ERR_UNCOR_MASK = 0x08;

/** Offsets of the PCI Express extended capabilities (config space from 0x100), by id. */
export function extendedCapabilities(config: Uint8Array): Map<number, number> {
  const out = new Map<number, number>();
  if (config.length < 0x1000) return out;
  const seen = new Set<number>();
  for (let at = 0x100; at >= 0x100 && at < config.length - 4 && !seen.has(at); ) {
    seen.add(at);
    const header = (config[at] | (config[at + 1] << 8) | (config[at + 2] << 16) | (config[at + 3] << 24)) >>> 0;
    if (header === 0 || header === 0xffffffff) break;
    const id = header & 0xffff;
    if (!out.has(id)) out.set(id, at);
    at = (header >>> 20) & ~3;
  }
  return out;
}
