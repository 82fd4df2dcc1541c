import { fullSections, sectionLabel } from '../../edit/sections';
import { concatBytes } from '../../io/bytes';
import { compareVersions } from '../releases';
import type { RuleFinding, TransformRule } from '../rule';
import { parseVirtioBlob } from '../virtio-blob';
import { finding } from './helpers';

/**
 * virtio-mem's early-setup section (QEMU 8.0+, x-early-migration): the sanity values
 * (addr, region_size, block_size, node), the plugged size and the bitmap move out of the
 * device's virtio state into "<path>/virtio-mem-device-early", saved before RAM. QEMU 7.2
 * has no such section; its virtio-mem keeps all of it in the virtio blob's device state:
 *
 *   7.2   blob device state: tmp(addr, region_size, block_size, node), usable_region_size, size, requested_size, bitmap
 *   10.0  early section:     tmp(addr, region_size, block_size, node), size, bitmap
 *         blob device state: usable_region_size, requested_size
 *
 * (hw/virtio/virtio-mem.c vmstate_virtio_mem_device, vmstate_virtio_mem_device_early).
 * For 7.2 the two are merged back into the blob and the early section is dropped.
 */
const EARLY = '/virtio-mem-device-early';
const TMP_SIZE = 8 + 8 + 8 + 4;

export const virtioMemEarlySetupRule: TransformRule = {
  name: 'virtio-mem-early-setup',
  description: 'virtio-mem saves part of its state in an early-setup section since QEMU 8.0; for QEMU 7.2 that state goes back into the device\'s virtio state and the early section is dropped.',
  changedIn: { since: '8.0', keyedBy: 'release' },
  cites: [{ source: 'hw/virtio/virtio-mem.c vmstate_virtio_mem_device_early, vmstate_virtio_mem_device; migration/savevm.c qemu_loadvm_section_start_full ("Unknown savevm section or instance")', compat: 'hw_compat_7_2: virtio-mem x-early-migration=false' }],
  kind: 'required',
  detect(image, target) {
    if (compareVersions(target.release.version, '8.0') >= 0) return [];
    const out: RuleFinding[] = [];
    for (const e of fullSections(image.model)) {
      if (!e.idstr?.endsWith(EARLY)) continue;
      out.push(
        finding(this, {
          subject: sectionLabel(e),
          offset: e.offset,
          reason: `QEMU ${target.release.version} has no early-setup section for virtio-mem; it keeps that state in the device's virtio state`,
          qemuError: [`Unknown savevm section or instance '${e.idstr}' ${e.instanceId ?? 0}. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices`, 'load of migration failed: Invalid argument'],
        }),
      );
    }
    return out;
  },
  apply(draft, f) {
    const sections = fullSections(draft.image.model);
    const early = sections.find((x) => sectionLabel(x) === f.subject)!;
    const path = early.idstr!.slice(0, -EARLY.length);
    const main = sections.find((x) => x.idstr === `${path}/virtio-mem` && x.instanceId === early.instanceId);
    const e = draft.section(early);
    const m = main && draft.section(main);
    const field = m?.entry?.fields?.find((x) => x.name === 'virtio');
    const blob = m && field && parseVirtioBlob(m.payload);
    if (!m || !field || !blob || e.payload.length < TMP_SIZE + 8 || m.payload.length < blob.deviceState + 16) {
      throw new Error(`${f.subject}: the virtio-mem device at ${path} could not be read to take the early-setup state back`);
    }
    const tmp = e.payload.subarray(0, TMP_SIZE);
    const size = e.payload.subarray(TMP_SIZE, TMP_SIZE + 8);
    const bitmap = e.payload.subarray(TMP_SIZE + 8);
    const at = blob.deviceState;
    const usable = m.payload.subarray(at, at + 8);
    const requested = m.payload.subarray(at + 8, at + 16);
    const device = concatBytes(tmp, usable, size, requested, bitmap);
    m.payload = concatBytes(m.payload.subarray(0, at), device, m.payload.subarray(at + 16));
    field.size += device.length - 16;
    draft.dropElement(early);
    draft.note({ rule: this.name, subject: sectionLabel(main!), offset: early.offset, action: `the early-setup state (addr, region size, block size, node, plugged size, ${bitmap.length}-byte bitmap) moved into the virtio state of ${main!.idstr}; ${early.idstr} dropped` });
  },
};
