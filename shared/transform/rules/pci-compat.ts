import { fullSections, sectionLabel } from '../../edit/sections';
import { payloadRange } from '../../formats/qemu-stream/section-decoder';
import { readBytes } from '../../io/byte-source';
import { readBe64 } from '../../io/bytes';
import { capabilities, configSpaces, PCI_CAP_ID_MSIX, PCI_CAPABILITY_LIST } from '../pci';
import { compareVersions } from '../releases';
import type { ImageView, RuleFinding, SectionDraft, TransformRule } from '../rule';
import { fieldBytes, replaceTopFields, topField } from '../section-layout';
import { finding, machineVersionAtLeast } from './helpers';

/**
 * More device differences between QEMU 7.2 and 10.0, found by loading device-rich images
 * of each version in the other (test/launch): PCI config bits the loader's comparison
 * (hw/pci/pci.c get_pci_config_device) turns into "Bad config data", and a field 8.0
 * appended to the e1000e state.
 */

/** The device sections of an image with their payload and vmdesc entry, as the PCI rules read them. */
function sectionDrafts(image: ImageView): SectionDraft[] {
  const vmdesc = image.model.vmdesc;
  if (!vmdesc) return [];
  return fullSections(image.model)
    .filter((e) => e.deviceIndex !== undefined)
    .map((e) => {
      const { start, end } = payloadRange(e);
      return { element: e, versionId: e.versionId ?? 0, payload: readBytes(image.source, start, end - start), entry: vmdesc.devices[e.deviceIndex!] };
    });
}

const le32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/** Offset of the AER extended capability in a PCIe config space. */
function aerCapability(config: Uint8Array): number | undefined {
  const seen = new Set<number>();
  for (let at = 0x100; at >= 0x100 && at + 4 <= config.length && !seen.has(at); ) {
    seen.add(at);
    const header = le32(config, at);
    if (header === 0 || header === 0xffffffff) return undefined;
    if ((header & 0xffff) === 0x0001) return at;
    at = (header >>> 20) & 0xffc;
  }
  return undefined;
}

const PCI_ERR_UNCOR_MASK = 0x08;
/** PCI_ERR_UNC_INTN | PCI_ERR_UNC_TLPPRE: the errors QEMU 8.0+ machine types mask by default. */
const UNC_MASK_BITS = 0x00400000 | 0x02000000;

export const pcieAerUncMaskRule: TransformRule = {
  name: 'pcie-aer-unc-mask',
  description:
    'Machine types from 8.0 on mask Uncorrectable Internal Errors and TLP Prefix Blocked in the AER capability of every PCI Express device (x-pcie-err-unc-mask), and make those bits guest-writable; 7.2 machine types have them read-only zero. For such a target the bits are cleared in each PCIe device\'s AER Uncorrectable Error Mask.',
  changedIn: { since: '8.0', keyedBy: 'machine-type' },
  cites: [{ source: 'hw/pci/pcie_aer.c pcie_aer_init (PCI_ERR_UNC_INTN | PCI_ERR_UNC_TLPPRE when QEMU_PCIE_ERR_UNC_MASK); hw/pci/pci.c get_pci_config_device ("Bad config data")', compat: 'hw_compat_7_2: TYPE_PCI_DEVICE x-pcie-err-unc-mask=off' }],
  kind: 'required',
  detect(image, target) {
    // A newer machine type makes the bits writable, so a stream without them loads there unchanged.
    if (machineVersionAtLeast(target.machine, '8.0')) return [];
    const out: RuleFinding[] = [];
    for (const draft of sectionDrafts(image)) {
      for (const space of configSpaces(draft)) {
        if (space.size <= 256) continue;
        const config = draft.payload.subarray(space.offset, space.offset + space.size);
        const aer = aerCapability(config);
        if (aer === undefined || !(le32(config, aer + PCI_ERR_UNCOR_MASK) & UNC_MASK_BITS)) continue;
        // The loader reports the first byte that differs.
        let register = aer + PCI_ERR_UNCOR_MASK;
        while (!(config[register] & (UNC_MASK_BITS >>> ((register - aer - PCI_ERR_UNCOR_MASK) * 8)))) register++;
        const bits = (UNC_MASK_BITS >>> ((register - aer - PCI_ERR_UNCOR_MASK) * 8)) & 0xff;
        const byte = config[register];
        const e = draft.element;
        const { start } = payloadRange(e);
        out.push(
          finding(this, {
            subject: sectionLabel(e),
            offset: start + space.offset + register,
            reason: `${target.machine} has the AER Uncorrectable Error Mask bits for internal errors and TLP prefixes read-only zero (config 0x${(aer + PCI_ERR_UNCOR_MASK).toString(16)})`,
            qemuError: [
              `get_pci_config_device: Bad config data: i=0x${register.toString(16)} read: ${byte.toString(16)} device: ${(byte & ~bits).toString(16)} cmask: ff wmask: 0 w1cmask:0`,
              'Failed to load PCIDevice:config',
              ...(space.where.startsWith('parent_obj') ? [`Failed to load ${draft.entry!.vmsd_name}:${space.where.replace(/\.config.*$/, '').replace(/\[\d+\]/g, '')}`] : []),
              `error while loading state for instance 0x${(e.instanceId ?? 0).toString(16)} of device '${e.idstr}'`,
              'load of migration failed: Invalid argument',
            ],
            detail: { at: space.offset + aer + PCI_ERR_UNCOR_MASK, register: aer + PCI_ERR_UNCOR_MASK },
          }),
        );
      }
    }
    return out;
  },
  apply(draft, f) {
    const { at, register } = f.detail as { at: number; register: number };
    const e = fullSections(draft.image.model).find((x) => x.payloadOffset !== undefined && x.payloadOffset <= f.offset && f.offset < x.offset + x.length)!;
    const s = draft.section(e);
    const before = le32(s.payload, at);
    const after = (before & ~UNC_MASK_BITS) >>> 0;
    for (let i = 0; i < 4; i++) s.payload[at + i] = (after >>> (8 * i)) & 0xff;
    draft.note({ rule: this.name, subject: sectionLabel(e), offset: f.offset, action: `AER Uncorrectable Error Mask (config 0x${register.toString(16)}): internal error and TLP prefix bits cleared (0x${before.toString(16)} → 0x${after.toString(16)})` });
    draft.difference({ rule: this.name, subject: sectionLabel(e), what: `uncorrectable internal errors and blocked TLP prefixes are no longer masked in the device's AER capability (as ${draft.target.machine} devices have it)` });
  },
};

/** virtio-pci devices QEMU 10.0 gave MSI-X ("vectors"), default on for 10.0 machine types (hw_compat_9_2 sets vectors=0). */
const MSIX_SINCE_10: readonly { section: string; driver: string }[] = [
  { section: 'virtio-balloon', driver: 'virtio-balloon-pci' },
  { section: 'virtio-mem', driver: 'virtio-mem-pci' },
];

export const virtioMsixAddedRule: TransformRule = {
  name: 'virtio-msix-added',
  description:
    'virtio-balloon-pci and virtio-mem-pci have MSI-X (a "vectors" property) from QEMU 10.0 on, on 10.0 machine types; older QEMUs build them without. A device saved with MSI-X cannot be loaded there: taking the capability out would change how the running guest gets its interrupts.',
  changedIn: { since: '10.0', keyedBy: 'release' },
  cites: [{ source: 'hw/virtio/virtio-balloon-pci.c, hw/virtio/virtio-mem-pci.c (vectors); hw/pci/pci.c get_pci_config_device ("Bad config data")', compat: 'hw_compat_9_2: virtio-balloon-pci vectors=0, virtio-mem-pci vectors=0' }],
  kind: 'required',
  detect(image, target) {
    if (compareVersions(target.release.version, '10.0') >= 0) return [];
    const out: RuleFinding[] = [];
    for (const draft of sectionDrafts(image)) {
      const device = MSIX_SINCE_10.find((d) => draft.element.idstr?.endsWith(`/${d.section}`));
      if (!device) continue;
      for (const space of configSpaces(draft)) {
        const config = draft.payload.subarray(space.offset, space.offset + space.size);
        const msix = capabilities(config).get(PCI_CAP_ID_MSIX);
        // QEMU adds MSI-X last, so it heads the capability list; without it the list starts at its successor.
        if (msix === undefined || config[PCI_CAPABILITY_LIST] !== msix) continue;
        const e = draft.element;
        const { start } = payloadRange(e);
        out.push(
          finding(this, {
            subject: sectionLabel(e),
            offset: start + space.offset + PCI_CAPABILITY_LIST,
            reason: `${device.driver} was saved with MSI-X (${((config[msix + 2] | (config[msix + 3] << 8)) & 0x7ff) + 1} vectors); QEMU ${target.release.version}'s has none`,
            qemuError: [
              `get_pci_config_device: Bad config data: i=0x${PCI_CAPABILITY_LIST.toString(16)} read: ${config[PCI_CAPABILITY_LIST].toString(16)} device: ${config[msix + 1].toString(16)} cmask: ff wmask: 0 w1cmask:0`,
              'Failed to load PCIDevice:config',
              `Failed to load ${device.section}:virtio`,
              `error while loading state for instance 0x${(e.instanceId ?? 0).toString(16)} of device '${e.idstr}'`,
              'load of migration failed: Invalid argument',
            ],
            blocker: { closest: `qemu-10.0 (its ${device.driver} has MSI-X), or an image of the VM saved with ${device.driver},vectors=0` },
          }),
        );
      }
    }
    return out;
  },
  apply() {
    // A blocker: the transform stops before writing anything.
  },
};

export const e1000eTimadjRule: TransformRule = {
  name: 'e1000e-timadj',
  description:
    'QEMU 8.0 added core.timadj (the PTP time adjustment) to the end of the e1000e state, sent when migrate-timadj is on (8.0+ machine types). QEMU 7.2 reads the section without it, so for 7.2 the field is dropped.',
  changedIn: { since: '8.0', keyedBy: 'release' },
  cites: [{ source: 'hw/net/e1000e.c e1000e_vmstate (VMSTATE_INT64_TEST(core.timadj, E1000EState, e1000e_migrate_timadj)); migration/savevm.c check_section_footer', compat: 'hw_compat_7_2: e1000e migrate-timadj=off' }],
  kind: 'required',
  detect(image, target) {
    if (compareVersions(target.release.version, '8.0') >= 0) return [];
    const out: RuleFinding[] = [];
    for (const draft of sectionDrafts(image)) {
      if (draft.entry?.vmsd_name !== 'e1000e' || !draft.entry.fields?.some((f) => f.name === 'core.timadj')) continue;
      const e = draft.element;
      out.push(
        finding(this, {
          subject: sectionLabel(e),
          offset: e.footerOffset ?? e.offset,
          reason: `the e1000e state ends with core.timadj, which QEMU ${target.release.version} does not read (it then finds those bytes where the section footer belongs)`,
          qemuError: [`Missing section footer for ${e.idstr}`, 'load of migration failed: Invalid argument'],
        }),
      );
    }
    return out;
  },
  apply(draft, f) {
    const e = fullSections(draft.image.model).find((x) => sectionLabel(x) === f.subject)!;
    const s = draft.section(e);
    const timadj = topField(s, 'core.timadj');
    if (!timadj) return;
    const value = readBe64(fieldBytes(s, timadj), 0);
    replaceTopFields(s, [timadj], [], new Uint8Array(0));
    draft.note({ rule: this.name, subject: sectionLabel(e), offset: e.offset, action: `core.timadj (${timadj.size} bytes) dropped` });
    if (value) draft.difference({ rule: this.name, subject: sectionLabel(e), what: `the NIC's PTP time adjustment (timadj ${value}) is not carried over` });
  },
};
