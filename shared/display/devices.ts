import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { decodeSection } from '../formats/qemu-stream/section-decoder';
import { BlockMemory } from './block-memory';
import { Fields } from './fields';

/** Display devices QEMU saves, by the vmsd name of their section. */
export type DisplayKind = 'vga' | 'qxl' | 'bochs-display' | 'virtio-vga' | 'cirrus-vga' | 'vmware-svga' | 'ati-vga' | 'virtio-gpu' | 'ramfb';

const KINDS: Readonly<Record<string, { kind: DisplayKind; name: string }>> = {
  vga: { kind: 'vga', name: 'standard VGA with Bochs VBE (-device VGA, isa-vga, secondary-vga)' },
  qxl: { kind: 'qxl', name: 'QXL (SPICE)' },
  'bochs-display': { kind: 'bochs-display', name: 'bochs-display' },
  'virtio-vga': { kind: 'virtio-vga', name: 'virtio-vga' },
  cirrus_vga: { kind: 'cirrus-vga', name: 'Cirrus CLGD 54xx' },
  vmware_vga: { kind: 'vmware-svga', name: 'VMware SVGA' },
  'ati-vga': { kind: 'ati-vga', name: 'ATI VGA' },
  'virtio-gpu': { kind: 'virtio-gpu', name: 'virtio-gpu' },
  'ramfb-dev': { kind: 'ramfb', name: 'ramfb' },
};

export interface DisplayDevice {
  element: StreamElement;
  idstr: string;
  instance: number;
  kind: DisplayKind;
  name: string;
  /** The qdev path the device's RAM blocks are named under ("0000:00:02.0"); "" for ISA devices. */
  path: string;
}

/** The display devices of a stream, in stream order (QEMU's first graphic console is the first). */
export function displayDevices(model: QemuStreamModel): DisplayDevice[] {
  const out: DisplayDevice[] = [];
  for (const e of model.elements) {
    if (e.type !== 'FULL' || !e.idstr) continue;
    const slash = e.idstr.lastIndexOf('/');
    const vmsd = (e.deviceIndex !== undefined && model.vmdesc?.devices[e.deviceIndex]?.vmsd_name) || e.idstr.slice(slash + 1);
    const known = KINDS[vmsd];
    // The ISA VGA registers vmstate_vga_common itself as "vga"; only sections that are devices count.
    if (!known) continue;
    out.push({ element: e, idstr: e.idstr, instance: e.instanceId ?? 0, kind: known.kind, name: known.name, path: slash < 0 ? '' : e.idstr.slice(0, slash) });
  }
  return out;
}

/**
 * A device's RAM block by its name ("vga.vram"), under the device's qdev path; else the
 * global block of that name, which old machine types keep (pc-i440fx-2.x registers the
 * first VGA's "vga.vram" without a device path: vmstate_register_ram_global).
 */
export function deviceBlock(model: QemuStreamModel, device: DisplayDevice, name: string): number {
  const qualified = device.path ? model.ramBlocks.findIndex((b) => b.id === `${device.path}/${name}`) : -1;
  return qualified >= 0 ? qualified : model.ramBlocks.findIndex((b) => b.id === name);
}

/** The device's section decoded through the vmdesc, or why it cannot be. */
export function deviceFields(source: ByteSource, model: QemuStreamModel, device: DisplayDevice): Fields | string {
  const decoded = decodeSection(source, model, device.element);
  if (decoded.describedBy === 'raw') {
    return `the ${device.idstr} section cannot be decoded (${decoded.problem ?? 'no vmdesc describes it'}); without its registers the screen cannot be drawn${model.vmdesc ? '' : ' (decode it with a sibling image\'s vmdesc: --vmdesc-from)'}`;
  }
  return new Fields(decoded.nodes, decoded.bytes, decoded.payloadOffset);
}

/** A device's RAM blocks by name, each opened on first use and read page by page. */
export class DeviceBlocks {
  private readonly blocks = new Map<string, BlockMemory | undefined>();

  constructor(
    private readonly source: ByteSource,
    private readonly model: QemuStreamModel,
    private readonly device: DisplayDevice,
  ) {}

  get(name: string): BlockMemory | undefined {
    if (!this.blocks.has(name)) {
      const index = deviceBlock(this.model, this.device, name);
      this.blocks.set(name, index < 0 ? undefined : new BlockMemory(this.source, this.model, index));
    }
    return this.blocks.get(name);
  }

  /** Pages read so far that the stream could not give, for notes. */
  problemSummary(): string[] {
    return [...this.blocks.values()].flatMap((b) => b?.problemSummary() ?? []);
  }
}
