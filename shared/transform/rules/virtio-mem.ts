import { fullSections, sectionLabel } from '../../edit/sections';
import type { StreamElement } from '../../formats/qemu-stream/model';
import { payloadRange } from '../../formats/qemu-stream/section-decoder';
import type { VmdescDevice } from '../../formats/qemu-stream/vmdesc';
import { concatBytes, readBe64 } from '../../io/bytes';
import { capabilities, PCI_CAPABILITY_LIST, PCI_CAP_ID_MSIX } from '../pci';
import type { ImageView, RuleFinding, SectionDraft, TransformDraft, TransformRule } from '../rule';
import { readSection, replaceTopField, sectionLayout, type TopField } from '../section-layout';
import { parseVirtioBlob, type VirtioBlob } from '../virtio-blob';
import { finding, machineVersionAtLeast } from './helpers';

/**
 * virtio-mem: where the device keeps its state, by machine type (hw/virtio/virtio-mem.c).
 *
 * From 8.0 machine types on (x-early-migration, default on; off via hw_compat_7_2) the
 * immutable part — the sanity checks (addr, region_size, block_size, node), the plugged
 * size and the plug bitmap — travels early, in its own FULL section
 * "<qdev path>/virtio-mem-device-early" saved during setup, before any RAM page, and the
 * device's vmsd (vmstate_virtio_mem_device, inside the virtio blob) keeps only
 * usable_region_size and requested_size. Older machine types send all of it in the
 * device vmsd: tmp, usable_region_size, size, requested_size, bitmap. The rule moves the
 * fields between the two places; the values are the same.
 *
 * From 10.0 machine types on virtio-mem-pci also has 2 MSI-X vectors (hw_compat_9_2:
 * vectors=0 before), which changes its PCI config space and the virtio blob.
 */

const SANITY = 28; // addr, region_size, block_size (u64), node (u32)
const EARLY_NAME = 'virtio-mem-device-early';

interface MemDevice {
  section: StreamElement;
  /** "0000:00:03.0" */
  path: string;
  early?: StreamElement;
}

function memDevices(image: ImageView): MemDevice[] {
  const fulls = fullSections(image.model);
  return fulls
    .filter((e) => /\/virtio-mem$/.test(e.idstr ?? ''))
    .map((section) => {
      const path = section.idstr!.slice(0, -'/virtio-mem'.length);
      return { section, path, early: fulls.find((x) => x.idstr === `${path}/${EARLY_NAME}` && x.instanceId === section.instanceId) };
    });
}

/** The virtio blob of a section draft: its top-level field and parsed transport. */
function blobOf(s: SectionDraft): { field: TopField; blob: VirtioBlob; bytes: Uint8Array } | undefined {
  if (!s.entry) return undefined;
  const field = sectionLayout(s).fields.find((f) => f.field.type === 'virtio');
  if (!field) return undefined;
  const bytes = s.payload.slice(field.offset, field.offset + field.size);
  const blob = parseVirtioBlob(bytes);
  return blob && { field, blob, bytes };
}


/** Bytes of VMSTATE_BITMAP for the device's bitmap: one be64 per 64 blocks. */
function bitmapBytes(regionSize: number, blockSize: number): number {
  return Math.ceil(regionSize / blockSize / 64) * 8;
}

export const virtioMemEarlyRule: TransformRule = {
  name: 'virtio-mem-early-migration',
  description:
    'virtio-mem on 8.0+ machine types sends its sanity checks, size and bitmap in an early-setup section (virtio-mem-device-early) and keeps only usable_region_size and requested_size in the device; older machine types send them all in the device. The fields move between the two places.',
  changedIn: { since: '8.0', keyedBy: 'machine-type' },
  cites: [
    { source: 'hw/virtio/virtio-mem.c vmstate_virtio_mem_device (VMSTATE_WITH_TMP_TEST, virtio_mem_vmstate_field_exists), vmstate_virtio_mem_device_early (.early_setup)', compat: 'hw_compat_7_2: virtio-mem x-early-migration=false' },
    { source: 'migration/savevm.c qemu_loadvm_section_start_full ("Unknown savevm section or instance")' },
  ],
  kind: 'required',
  detect(image, target) {
    const wantsEarly = machineVersionAtLeast(target.machine, '8.0');
    const out: RuleFinding[] = [];
    for (const d of memDevices(image)) {
      if (d.early && !wantsEarly) {
        out.push(
          finding(this, {
            subject: sectionLabel(d.early),
            offset: d.early.offset,
            reason: `${target.machine} keeps virtio-mem's early state in the device (x-early-migration=false)`,
            qemuError: [`Unknown savevm section or instance '${d.early.idstr}' ${d.early.instanceId}. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices`, 'load of migration failed: Invalid argument'],
            detail: { to: 'device', section: d.section.offset },
          }),
        );
      } else if (!d.early && wantsEarly) {
        out.push(
          finding(this, {
            subject: sectionLabel(d.section),
            offset: d.section.offset,
            reason: `${target.machine} sends virtio-mem's sanity checks, size and bitmap early, in ${d.path}/${EARLY_NAME}`,
            qemuError: [`error while loading state for instance 0x${(d.section.instanceId ?? 0).toString(16)} of device '${d.section.idstr}'`, 'load of migration failed: Invalid argument'],
            detail: { to: 'early', section: d.section.offset },
          }),
        );
      }
    }
    return out;
  },
  apply(draft, f) {
    const { to, section } = f.detail as { to: 'device' | 'early'; section: number };
    const d = memDevices(draft.image).find((x) => x.section.offset === section)!;
    const s = draft.section(d.section);
    const found = blobOf(s);
    if (!found) throw new Error(`${sectionLabel(d.section)}: the virtio state is not the virtio-pci layout this rule knows`);
    const { field, blob, bytes } = found;
    const at = blob.deviceState;
    if (to === 'device') {
      const early = readSection(draft.image, d.early!);
      const sanity = early.payload.subarray(0, SANITY);
      const size = early.payload.subarray(SANITY, SANITY + 8);
      const bitmap = early.payload.subarray(SANITY + 8);
      expectDeviceState(bytes, at + 16, sectionLabel(d.section));
      const usable = bytes.subarray(at, at + 8);
      const requested = bytes.subarray(at + 8, at + 16);
      const state = concatBytes(sanity, usable, size, requested, bitmap);
      replaceBlob(s, field, concatBytes(bytes.subarray(0, at), state, bytes.subarray(at + 16)));
      draft.dropElement(d.early!);
      draft.note({ rule: this.name, subject: sectionLabel(d.early!), offset: d.early!.offset, action: `early-setup section dropped; its sanity checks, size and ${bitmap.length}-byte bitmap moved into ${sectionLabel(d.section)}'s device state (tmp, usable_region_size, size, requested_size, bitmap)` });
    } else {
      const regionSize = readBe64(bytes, at + 8);
      const blockSize = readBe64(bytes, at + 16);
      if (!blockSize) throw new Error(`${sectionLabel(d.section)}: virtio-mem block size 0`);
      const n = bitmapBytes(regionSize, blockSize);
      expectDeviceState(bytes, at + SANITY + 24 + n, sectionLabel(d.section));
      const sanity = bytes.subarray(at, at + SANITY);
      const usable = bytes.subarray(at + SANITY, at + SANITY + 8);
      const size = bytes.subarray(at + SANITY + 8, at + SANITY + 16);
      const requested = bytes.subarray(at + SANITY + 16, at + SANITY + 24);
      const bitmap = bytes.subarray(at + SANITY + 24, at + SANITY + 24 + n);
      replaceBlob(s, field, concatBytes(bytes.subarray(0, at), usable, requested, bytes.subarray(at + SANITY + 24 + n)));
      const entry: VmdescDevice = {
        name: `${d.path}/${EARLY_NAME}`,
        instance_id: d.section.instanceId ?? 0,
        vmsd_name: EARLY_NAME,
        version: 1,
        fields: [
          { name: 'tmp', type: 'tmp', vmsd_name: 'virtio-mem-device/sanity-checks', version: 0, fields: [{ name: 'addr', type: 'uint64', size: 8 }, { name: 'region_size', type: 'uint64', size: 8 }, { name: 'block_size', type: 'uint64', size: 8 }, { name: 'node', type: 'uint32', size: 4 }], size: SANITY },
          { name: 'size', type: 'uint64', size: 8 },
          { name: 'bitmap', type: 'bitmap', size: n },
        ],
      };
      const start = draft.image.model.elements.findIndex((x) => x.type === 'START');
      const before = draft.image.model.elements[start + 1] ?? d.section;
      draft.addSection({ idstr: `${d.path}/${EARLY_NAME}`, instanceId: d.section.instanceId ?? 0, versionId: 1, payload: concatBytes(sanity, size, bitmap), entry }, before);
      draft.note({ rule: this.name, subject: sectionLabel(d.section), offset: d.section.offset, action: `sanity checks, size and ${n}-byte bitmap moved out of the device state into a new early-setup section ${d.path}/${EARLY_NAME} (after the RAM START, as 8.0+ save it)` });
    }
  },
};

/** The device state must end where the virtio subsections (0x05) or the blob end. */
function expectDeviceState(blob: Uint8Array, end: number, label: string): void {
  if (end > blob.length || (end < blob.length && blob[end] !== 0x05)) {
    throw new Error(`${label}: the virtio-mem device state does not end where its layout says (at ${end} of ${blob.length} bytes)`);
  }
}

function replaceBlob(s: SectionDraft, field: TopField, bytes: Uint8Array): void {
  replaceTopField(s, field, [{ ...field.field, size: bytes.length }], bytes);
}

// ------------------------------------------------------------------ MSI-X vectors of virtio-pci proxies

interface VectorCompat {
  /** The virtio device's section name suffix ("/virtio-mem") and its proxy ("virtio-mem-pci"). */
  suffix: string;
  proxy: string;
  /** Machine types from this version on give the proxy MSI-X vectors by default. */
  since: string;
  compat: string;
}

const VECTOR_COMPAT: readonly VectorCompat[] = [
  { suffix: '/virtio-mem', proxy: 'virtio-mem-pci', since: '10.0', compat: 'hw_compat_9_2: virtio-mem-pci vectors=0' },
  { suffix: '/virtio-balloon', proxy: 'virtio-balloon-pci', since: '10.0', compat: 'hw_compat_9_2: virtio-balloon-pci vectors=0' },
];

export const virtioVectorsRule: TransformRule = {
  name: 'virtio-pci-vectors',
  description:
    'From 10.0 machine types on, virtio-mem-pci and virtio-balloon-pci have MSI-X vectors (an MSI-X capability in config space, a vector table in the virtio state); older machine types give them none. Removing them needs no more than the image; adding them takes the target device\'s MSI-X state from a template.',
  changedIn: { since: '10.0', keyedBy: 'machine-type' },
  cites: [{ source: 'hw/virtio/virtio-pci.c virtio_pci_realize (msix_init_exclusive_bar), virtio_pci_save_config / virtio_pci_save_queue (vectors when MSI-X is present)', compat: VECTOR_COMPAT.map((v) => v.compat).join('; ') }, { source: 'hw/pci/pci.c get_pci_config_device ("Bad config data")' }],
  kind: 'required',
  detect(image, target) {
    const out: RuleFinding[] = [];
    for (const e of fullSections(image.model)) {
      const c = VECTOR_COMPAT.find((v) => e.idstr?.endsWith(v.suffix));
      if (!c) continue;
      const found = blobOf(readSection(image, e));
      if (!found) continue;
      const wants = machineVersionAtLeast(target.machine, c.since);
      const has = !!found.blob.msix;
      if (wants === has) continue;
      const config = found.bytes.subarray(found.blob.config.offset, found.blob.config.offset + 256);
      const { start } = payloadRange(e);
      const templateSection = target.template && fullSections(target.template.model).find((x) => x.idstr === e.idstr && x.instanceId === e.instanceId);
      const templateBlob = templateSection ? blobOf(readSection(target.template!, templateSection)) : undefined;
      const pointer = config[PCI_CAPABILITY_LIST];
      const device = has ? config[capabilities(config).get(PCI_CAP_ID_MSIX)! + 1] : (templateBlob ? templateBlob.bytes[templateBlob.blob.config.offset + PCI_CAPABILITY_LIST] : undefined);
      out.push(
        finding(this, {
          subject: sectionLabel(e),
          offset: start + found.field.offset + found.blob.config.offset + PCI_CAPABILITY_LIST,
          reason: `${c.proxy} has ${wants ? 'MSI-X vectors' : 'no MSI-X vectors'} on ${target.machine} (${c.compat} for older machine types); the image's device has ${has ? `${found.blob.msix!.entries}` : 'none'}`,
          qemuError: device !== undefined ? [`get_pci_config_device: Bad config data: i=0x34 read: ${pointer.toString(16)} device: ${device.toString(16)} cmask: ff wmask: 0 w1cmask:0`, 'Failed to load PCIDevice:config', `Failed to load ${e.idstr!.slice(e.idstr!.lastIndexOf('/') + 1)}:virtio`, `error while loading state for instance 0x${(e.instanceId ?? 0).toString(16)} of device '${e.idstr}'`, 'load of migration failed: Invalid argument'] : undefined,
          blocker: wants && !templateBlob?.blob.msix ? { closest: `the same transform with --template (an image QEMU ${target.release.version} saved with -M ${target.machine} and the same devices), or a machine type before ${c.since} (${c.proxy} without vectors), e.g. -M ${target.machine.replace(/\d+\.\d+$/, '9.2')}` } : undefined,
          detail: { add: wants, offset: e.offset },
        }),
      );
    }
    return out;
  },
  apply(draft, f) {
    const { add, offset } = f.detail as { add: boolean; offset: number };
    const e = fullSections(draft.image.model).find((x) => x.offset === offset)!;
    const s = draft.section(e);
    const found = blobOf(s)!;
    if (add) addVectors(draft, s, found);
    else removeVectors(draft, s, found);
  },
};

function removeVectors(draft: TransformDraft, s: SectionDraft, { field, blob, bytes }: NonNullable<ReturnType<typeof blobOf>>): void {
  const config = bytes.slice(blob.config.offset, blob.config.offset + blob.config.size);
  const cap = capabilities(config).get(PCI_CAP_ID_MSIX)!;
  unlinkCapability(config, cap);
  const msix = blob.msix!;
  const head = concatBytes(bytes.subarray(0, blob.config.offset), config, bytes.subarray(blob.config.offset + blob.config.size, msix.offset));
  const middle = bytes.subarray(msix.configVector + 2, blob.queues.offset + 4);
  const queues: Uint8Array[] = [];
  for (let q = 0, at = blob.queues.offset + 4; q < blob.queues.count; q++, at += 16) queues.push(bytes.subarray(at, at + 14));
  replaceBlob(s, field, concatBytes(head, middle, ...queues, bytes.subarray(blob.deviceState)));
  draft.note({ rule: virtioVectorsRule.name, subject: sectionLabel(s.element), offset: s.element.offset, action: `MSI-X removed: capability at config 0x${cap.toString(16)} unlinked and cleared, ${msix.entries}-entry vector table, pending bits, config vector and ${blob.queues.count} queue vectors dropped from the virtio state` });
  draft.difference({ rule: virtioVectorsRule.name, subject: sectionLabel(s.element), what: `the device has no MSI-X on ${draft.target.machine}: a guest driver that enabled MSI-X for it falls back to INTx only after it re-initialises the device` });
}

function addVectors(draft: TransformDraft, s: SectionDraft, { field, blob, bytes }: NonNullable<ReturnType<typeof blobOf>>): void {
  const template = draft.target.template!;
  const t = fullSections(template.model).find((x) => x.idstr === s.element.idstr && x.instanceId === s.element.instanceId)!;
  const theirs = blobOf(readSection(template, t))!;
  const tb = theirs.bytes;
  const config = tb.slice(theirs.blob.config.offset, theirs.blob.config.offset + theirs.blob.config.size);
  // Guest-programmed registers stay the image's: command, BARs, interrupt line.
  const mine = bytes.subarray(blob.config.offset, blob.config.offset + blob.config.size);
  config.set(mine.subarray(0x04, 0x06), 0x04);
  for (let bar = 0x10; bar < 0x28; bar += 4) if (mine.subarray(bar, bar + 4).some((b) => b !== 0)) config.set(mine.subarray(bar, bar + 4), bar);
  config[0x3c] = mine[0x3c];
  const msix = theirs.blob.msix!;
  const queues: Uint8Array[] = [];
  for (let q = 0, at = blob.queues.offset + 4; q < blob.queues.count; q++, at += 14) queues.push(concatBytes(bytes.subarray(at, at + 14), Uint8Array.of(0xff, 0xff)));
  replaceBlob(
    s,
    field,
    concatBytes(
      bytes.subarray(0, blob.config.offset),
      config,
      bytes.subarray(blob.config.offset + blob.config.size, blob.config.offset + blob.config.size + 16),
      tb.subarray(msix.offset, msix.configVector),
      Uint8Array.of(0xff, 0xff),
      bytes.subarray(blob.config.offset + blob.config.size + 16, blob.queues.offset + 4),
      ...queues,
      bytes.subarray(blob.deviceState),
    ),
  );
  draft.note({ rule: virtioVectorsRule.name, subject: sectionLabel(s.element), offset: s.element.offset, action: `MSI-X added as the template's device has it: config space capabilities from the template (command, BARs and interrupt line kept), ${msix.entries}-entry vector table and pending bits from the template, config and ${blob.queues.count} queue vectors set to VIRTIO_NO_VECTOR` });
  draft.difference({ rule: virtioVectorsRule.name, subject: sectionLabel(s.element), what: `the device gains ${msix.entries} MSI-X vectors (disabled, as after reset); the guest driver uses them once it re-initialises the device` });
}

/** Removes a capability from the config space's capability list and clears its header. */
function unlinkCapability(config: Uint8Array, cap: number): void {
  const next = config[cap + 1];
  if ((config[PCI_CAPABILITY_LIST] & ~3) === cap) config[PCI_CAPABILITY_LIST] = next;
  else {
    for (let at = config[PCI_CAPABILITY_LIST] & ~3, n = 0; at && n < 48; at = config[at + 1] & ~3, n++) {
      if ((config[at + 1] & ~3) === cap) {
        config[at + 1] = next;
        break;
      }
    }
  }
  config.fill(0, cap, cap + 12);
}
