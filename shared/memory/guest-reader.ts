import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { readGuestRange } from '../formats/qemu-stream/ram-reader';
import { machineLayout, resolveGuestAddress, type MachineLayout } from './layout';
import { pciConfigSpaces } from './pci-config';

/** Reads guest-physical memory of an image, as the loaded guest would see it; undefined where nothing is mapped. */
export type GuestMemoryReader = (gpa: number, length: number) => Uint8Array | undefined;

/** A reader over the image's machine layout, built on first use (the layout needs the PCI config spaces). */
export function guestMemoryReader(source: ByteSource, model: QemuStreamModel): GuestMemoryReader {
  let layout: MachineLayout | undefined | null = null;
  return (gpa, length) => {
    if (layout === null) layout = machineLayout(model, { pciConfig: pciConfigSpaces(source, model) });
    const hit = layout && resolveGuestAddress(layout, gpa);
    if (!hit || gpa + length > hit.region.gpa + hit.region.size) return undefined;
    return readGuestRange(source, model, hit.block, hit.offset, length);
  };
}
