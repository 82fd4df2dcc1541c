import * as path from 'node:path';
import { corpusPath } from './corpus';
import { binaryWorks, qemuBinary, saveGuest, type QemuVersion } from './qemu';

/**
 * Guests made at test time, beyond the corpus: every machine family QEMU 7.2 and 10.0 can
 * run here, with the devices the tests use (e1000, virtio net/blk/serial/balloon/scsi/rng
 * on the machine's own transport, user networking, an ISA serial port on x86). No guest OS
 * is needed: the VM is saved paused, or after its firmware ran for a moment.
 */
export interface GuestSpec {
  /** Short name for test titles and file names. */
  name: string;
  version: QemuVersion;
  /** The emulator's file name (qemu-system-x86_64, …). */
  emulator: string;
  args: string[];
  /** Let the firmware run this long before saving. */
  runMs?: number;
  capabilities?: string[];
}

const DISK = 'tiny-disk-64K.raw';

/** The virtio devices of item 6 and the NICs, on the PCI or CCW transport. */
function devices(transport: 'pci' | 'ccw'): string[] {
  const v = (model: string, props = '') => ['-device', `virtio-${model}-${transport}${props}`];
  return [
    ...['-netdev', 'user,id=n1', ...v('net', ',netdev=n1,mac=52:54:00:12:34:57')],
    ...['-drive', `file=${DISK},if=none,id=d0,format=raw`, ...v('blk', ',drive=d0')],
    ...v('serial'),
    ...v('balloon'),
    ...v('scsi'),
    ...v('rng'),
    ...(transport === 'pci' ? ['-netdev', 'user,id=n0', '-device', 'e1000,netdev=n0,mac=52:54:00:12:34:56'] : []),
  ];
}

const X86 = ['-m', '32M', '-nic', 'none', '-chardev', 'null,id=ser1', '-device', 'isa-serial,chardev=ser1,index=1', ...devices('pci')];

export const GUESTS: GuestSpec[] = [
  { name: '7.2-x86-pc', version: '7.2', emulator: 'qemu-system-x86_64', args: ['-M', 'pc', '-smp', '2', ...X86, '-vga', 'qxl'] },
  { name: '7.2-x86-q35-running', version: '7.2', emulator: 'qemu-system-x86_64', args: ['-M', 'q35', ...X86], runMs: 1500 },
  { name: '7.2-armv7-virt', version: '7.2', emulator: 'qemu-system-arm', args: ['-M', 'virt', '-cpu', 'cortex-a15', '-m', '32M', '-nic', 'none', ...devices('pci')] },
  { name: '7.2-aarch64-virt', version: '7.2', emulator: 'qemu-system-aarch64', args: ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '32M', '-nic', 'none', ...devices('pci')] },
  { name: '7.2-riscv64-virt', version: '7.2', emulator: 'qemu-system-riscv64', args: ['-M', 'virt', '-bios', 'none', '-m', '32M', '-nic', 'none', ...devices('pci')] },
  { name: '7.2-s390x', version: '7.2', emulator: 'qemu-system-s390x', args: ['-M', 's390-ccw-virtio', '-m', '32M', '-nic', 'none', ...devices('ccw')] },
  { name: '10.0-x86-pc', version: '10.0', emulator: 'qemu-system-x86_64', args: ['-M', 'pc', '-smp', '2', ...X86] },
  { name: '10.0-x86-q35-running', version: '10.0', emulator: 'qemu-system-x86_64', args: ['-M', 'q35', ...X86], runMs: 1500 },
  { name: '10.0-armv7-virt', version: '10.0', emulator: 'qemu-system-arm', args: ['-M', 'virt', '-cpu', 'cortex-a15', '-m', '32M', '-nic', 'none', ...devices('pci')] },
  { name: '10.0-aarch64-virt', version: '10.0', emulator: 'qemu-system-aarch64', args: ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '32M', '-nic', 'none', ...devices('pci')] },
];

export function guestBinary(g: GuestSpec): string {
  return qemuBinary(g.version, g.emulator);
}

export function canMake(g: GuestSpec): boolean {
  return binaryWorks(guestBinary(g), g.version);
}

/** Makes the guest and saves it into `dir`/NAME.mig; returns that path. */
export async function makeGuestImage(g: GuestSpec, dir: string): Promise<string> {
  const file = path.join(dir, `${g.name}.mig`);
  await saveGuest({ binary: guestBinary(g), args: g.args, files: [corpusPath('qemu', DISK)], runMs: g.runMs, file, capabilities: g.capabilities });
  return file;
}
