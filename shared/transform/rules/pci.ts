import { fullSections, sectionLabel } from '../../edit/sections';
import type { StreamElement } from '../../formats/qemu-stream/model';
import { payloadRange } from '../../formats/qemu-stream/section-decoder';
import { configSpaces } from '../config-spaces';
import { capabilities, extendedCapabilities, PCI_CAP_ID_EXP, PCI_ERR_UNCOR_MASK, PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_EXT_TAG, PCI_EXT_CAP_ID_ERR } from '../pci';
import type { ImageView, RuleFinding, SectionDraft, TransformRule } from '../rule';
import { readSection } from '../section-layout';
import { finding, machineVersionAtLeast } from './helpers';

/**
 * PCI Express compat bits: read-only config space bits a machine type version sets or
 * clears. The loader compares every read-only config byte with its own device
 * (get_pci_config_device), so they must be what the target machine type makes them.
 */

/** Every PCI config space of the image's described sections: the section, its payload start and the space's place in it. */
function pciConfigSpaces(image: ImageView): { e: StreamElement; section: SectionDraft; start: number; space: ReturnType<typeof configSpaces>[number]; config: Uint8Array }[] {
  const out = [];
  for (const e of fullSections(image.model)) {
    if (e.deviceIndex === undefined || !image.model.vmdesc) continue;
    const section = readSection(image, e);
    for (const space of configSpaces(section)) out.push({ e, section, start: payloadRange(e).start, space, config: section.payload.subarray(space.offset, space.offset + space.size) });
  }
  return out;
}

/** The lines QEMU prints when a read-only config byte differs (hw/pci/pci.c get_pci_config_device). */
function badConfigData(e: StreamElement, section: SectionDraft, where: string, register: number, read: number, device: number): string[] {
  return [
    `get_pci_config_device: Bad config data: i=0x${register.toString(16)} read: ${read.toString(16)} device: ${device.toString(16)} cmask: ff wmask: 0 w1cmask:0`,
    'Failed to load PCIDevice:config',
    ...(where.startsWith('parent_obj') ? [`Failed to load ${section.entry!.vmsd_name}:parent_obj`] : []),
    `error while loading state for instance 0x${(e.instanceId ?? 0).toString(16)} of device '${e.idstr}'`,
    'load of migration failed: Invalid argument',
  ];
}

export const pcieExtTagRule: TransformRule = {
  name: 'pcie-ext-tag',
  description:
    'Machine types from 9.2 on advertise Extended Tag in the Device Capabilities of every PCI Express capability (x-pcie-ext-tag); older ones do not. The bit is set or cleared in each PCIe device\'s config space to match the target machine type.',
  changedIn: { since: '9.2', keyedBy: 'machine-type' },
  cites: [{ source: 'hw/pci/pcie.c pcie_cap_v1_fill (PCI_EXP_DEVCAP_EXT_TAG when QEMU_PCIE_EXT_TAG); hw/pci/pci.c get_pci_config_device ("Bad config data")', compat: 'hw_compat_9_1: TYPE_PCI_DEVICE x-pcie-ext-tag=false' }],
  kind: 'required',
  detect(image, target) {
    const wants = machineVersionAtLeast(target.machine, '9.2');
    const out: RuleFinding[] = [];
    for (const { e, section, start, space, config } of pciConfigSpaces(image)) {
      const cap = capabilities(config).get(PCI_CAP_ID_EXP);
      if (cap === undefined) continue;
      const at = space.offset + cap + PCI_EXP_DEVCAP;
      const byte = section.payload[at];
      if (!!(byte & PCI_EXP_DEVCAP_EXT_TAG) === wants) continue;
      const device = wants ? byte | PCI_EXP_DEVCAP_EXT_TAG : byte & ~PCI_EXP_DEVCAP_EXT_TAG;
      out.push(
        finding(this, {
          subject: sectionLabel(e),
          offset: start + at,
          reason: `${target.machine} ${wants ? 'sets' : 'clears'} Extended Tag in the PCIe Device Capabilities (config 0x${(cap + PCI_EXP_DEVCAP).toString(16)})`,
          qemuError: badConfigData(e, section, space.where, cap + PCI_EXP_DEVCAP, byte, device),
          detail: { at, byte, device, register: cap + PCI_EXP_DEVCAP },
        }),
      );
    }
    return out;
  },
  apply(draft, f) {
    const { at, byte, device, register } = f.detail as { at: number; byte: number; device: number; register: number };
    const e = fullSections(draft.image.model).find((x) => x.payloadOffset !== undefined && x.payloadOffset <= f.offset && f.offset < x.offset + x.length)!;
    const s = draft.section(e);
    s.payload[at] = device;
    draft.note({ rule: this.name, subject: sectionLabel(e), offset: f.offset, action: `PCIe Device Capabilities (config 0x${register.toString(16)}): Extended Tag ${device & PCI_EXP_DEVCAP_EXT_TAG ? 'set' : 'cleared'} (0x${byte.toString(16)} → 0x${device.toString(16)})` });
    draft.difference({ rule: this.name, subject: sectionLabel(e), what: `the guest sees Extended Tag ${device & PCI_EXP_DEVCAP_EXT_TAG ? 'supported' : 'unsupported'} in the device's PCIe capability (as ${draft.target.machine} devices report it)` });
  },
};

/** PCI_ERR_UNC_MASK_DEFAULT: Uncorrectable Internal Error (bit 22) and TLP Prefix Blocked (bit 25). */
const UNC_MASK_DEFAULT = [
  { byte: 2, bit: 0x40 },
  { byte: 3, bit: 0x02 },
];

export const pcieAerUncMaskRule: TransformRule = {
  name: 'pcie-err-unc-mask',
  description:
    "From 8.0 machine types on, the AER capability's Uncorrectable Error Mask resets to Internal Error and TLP Prefix Blocked masked, and the guest may write those bits; older machine types keep them 0 and read-only. For an older target they are cleared; for a newer one they get its reset value (the older guest could not have set them).",
  changedIn: { since: '8.0', keyedBy: 'machine-type' },
  cites: [{ source: 'hw/pci/pcie_aer.c pcie_aer_init (PCI_ERR_UNC_MASK_DEFAULT, wmask when QEMU_PCIE_ERR_UNC_MASK)', compat: 'hw_compat_7_2: TYPE_PCI_DEVICE x-pcie-err-unc-mask=off' }],
  kind: 'required',
  detect(image, target) {
    const newer = machineVersionAtLeast(target.machine, '8.0');
    const out: RuleFinding[] = [];
    for (const { e, section, start, space, config } of pciConfigSpaces(image)) {
      const aer = extendedCapabilities(config).get(PCI_EXT_CAP_ID_ERR);
      if (aer === undefined) continue;
      const mask = space.offset + aer + PCI_ERR_UNCOR_MASK;
      const set = UNC_MASK_DEFAULT.filter((m) => section.payload[mask + m.byte] & m.bit);
      const detail = { mask, register: aer + PCI_ERR_UNCOR_MASK, section: e.offset, set: newer };
      if (newer) {
        // The bits are guest-writable there and load either way; a 7.x image has them 0 because its guest could not set them.
        if (set.length === 0) out.push(finding(this, { subject: sectionLabel(e), offset: start + mask, reason: `${target.machine} resets the AER Uncorrectable Error Mask to Internal Error and TLP Prefix Blocked masked`, detail }));
        continue;
      }
      if (!set.length) continue;
      const register = aer + PCI_ERR_UNCOR_MASK + set[0].byte;
      const byte = section.payload[space.offset + register];
      out.push(
        finding(this, {
          subject: sectionLabel(e),
          offset: start + space.offset + register,
          reason: `${target.machine} keeps the AER Uncorrectable Error Mask's Internal Error / TLP Prefix Blocked bits 0 and read-only (config 0x${(aer + PCI_ERR_UNCOR_MASK).toString(16)})`,
          qemuError: badConfigData(e, section, space.where, register, byte, byte & ~set[0].bit),
          detail,
        }),
      );
    }
    return out;
  },
  apply(draft, f) {
    const { mask, register, section, set } = f.detail as { mask: number; register: number; section: number; set: boolean };
    const e = fullSections(draft.image.model).find((x) => x.offset === section)!;
    const s = draft.section(e);
    for (const m of UNC_MASK_DEFAULT) s.payload[mask + m.byte] = set ? s.payload[mask + m.byte] | m.bit : s.payload[mask + m.byte] & ~m.bit;
    draft.note({ rule: this.name, subject: sectionLabel(e), offset: f.offset, action: `AER Uncorrectable Error Mask (config 0x${register.toString(16)}): Internal Error and TLP Prefix Blocked ${set ? 'masked, the reset value' : 'unmasked'} on ${draft.target.machine}` });
    draft.difference({
      rule: this.name,
      subject: sectionLabel(e),
      what: set ? 'uncorrectable internal errors and blocked TLP prefixes are masked, as the target resets them (the source could not mask them)' : 'uncorrectable internal errors and blocked TLP prefixes are reported to the guest again (the mask bits are read-only 0 on this machine type)',
    });
  },
};
