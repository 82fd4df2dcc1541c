import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { corpusPath } from './corpus';
import { haveQemu, qemuBinary, saveInQemu, type QemuVersion } from './qemu';

/**
 * Guests made at test time: QEMU started paused with the given devices and a random
 * payload planted in guest RAM (a loader device on the saving command line only), saved
 * with `migrate exec:cat > FILE`. The loading side never sees this command line.
 */
export interface MadeGuest {
  name: string;
  image: string;
  version: QemuVersion;
  /** What the saving command line had, for the table. */
  devices: string;
  payload: { gpa: number; size: number; sha256: string };
}

export interface GuestSpec {
  name: string;
  version: QemuVersion;
  /** Arguments after the binary (machine, RAM, CPUs, devices). */
  args: string[];
  devices: string;
}

const PAYLOAD_GPA = 0x100000;
const PAYLOAD_SIZE = 64 * 1024;

export async function makeGuest(dir: string, spec: GuestSpec): Promise<MadeGuest> {
  const payload = randomBytes(PAYLOAD_SIZE);
  const payloadFile = path.join(dir, `${spec.name}.payload`);
  fs.writeFileSync(payloadFile, payload);
  const image = path.join(dir, `${spec.name}.mig`);
  const loader = `loader,file=${payloadFile},addr=0x${PAYLOAD_GPA.toString(16)},force-raw=on`;
  await saveInQemu({ version: spec.version, args: [...spec.args, '-display', 'none', '-device', loader], image });
  return { name: spec.name, image, version: spec.version, devices: spec.devices, payload: { gpa: PAYLOAD_GPA, size: PAYLOAD_SIZE, sha256: createHash('sha256').update(payload).digest('hex') } };
}

/** Small guests with the devices the issue names, for both QEMUs (QXL only for 7.2: the 10.0 build has no qxl module). */
export function richGuests(): GuestSpec[] {
  const pcDevices = [
    '-device', 'virtio-net-pci',
    '-blockdev', 'null-co,node-name=d0,size=1048576', '-device', 'virtio-blk-pci,drive=d0',
    '-device', 'virtio-scsi-pci,id=scsi0', '-blockdev', 'null-co,node-name=d1,size=2097152', '-device', 'scsi-hd,drive=d1,bus=scsi0.0',
    '-device', 'virtio-serial-pci', '-chardev', 'null,id=c0', '-device', 'virtconsole,chardev=c0', '-chardev', 'null,id=c1', '-device', 'virtserialport,chardev=c1,name=org.example.0',
    '-device', 'virtio-balloon-pci',
    '-device', 'qemu-xhci', '-device', 'usb-kbd', '-device', 'usb-tablet',
    '-device', 'ich9-ahci', '-device', 'e1000e', '-device', 'rtl8139', '-device', 'bochs-display',
  ];
  const pcDescription = 'pc, 2 vCPUs: virtio-net, -blk, -scsi + scsi-hd, -serial (console + port), -balloon, qemu-xhci + usb-kbd + usb-tablet, ahci, e1000e, rtl8139, bochs-display';
  const q35Devices = ['-device', 'pcie-root-port,id=rp1,chassis=1,slot=1', '-blockdev', 'null-co,node-name=d0,size=1048576', '-device', 'virtio-blk-pci,drive=d0,bus=rp1', '-device', 'virtio-net-pci', '-device', 'qemu-xhci', '-device', 'usb-tablet', '-device', 'VGA', '-device', 'e1000e'];
  const q35Description = 'q35, 3 vCPUs: pcie-root-port + virtio-blk behind it, virtio-net, qemu-xhci + usb-tablet, VGA, e1000e';
  return [
    { name: 'made-7.2-pc-rich', version: '7.2', args: ['-M', 'pc', '-m', '16M', '-nodefaults', '-smp', '2', ...pcDevices], devices: pcDescription },
    { name: 'made-10.0-pc-rich', version: '10.0', args: ['-M', 'pc', '-m', '16M', '-nodefaults', '-smp', '2', ...pcDevices], devices: pcDescription },
    { name: 'made-7.2-q35-pcie', version: '7.2', args: ['-M', 'q35', '-m', '16M', '-nodefaults', '-smp', '3', ...q35Devices], devices: q35Description },
    { name: 'made-10.0-q35-pcie', version: '10.0', args: ['-M', 'q35', '-m', '16M', '-nodefaults', '-smp', '3', ...q35Devices], devices: q35Description },
    { name: 'made-7.2-pc-qxl', version: '7.2', args: ['-M', 'pc,acpi=off', '-m', '16M', '-nodefaults', '-device', 'qxl-vga,vgamem_mb=8'], devices: 'pc without ACPI, qxl-vga (vgamem 8 MiB)' },
  ];
}

/** Runs `fn` over `items` with at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/**
 * Guests of every machine family QEMU 7.2 and 10.0 can run here, beyond the corpus, with
 * the devices the tests use (e1000, virtio net/blk/serial/balloon/scsi/rng on the machine's
 * own transport, user networking, an ISA serial port on x86). No guest OS is needed: the
 * VM is saved paused, or after its firmware ran for a moment.
 */
export interface MachineGuest {
  /** Short name for test titles and file names. */
  name: string;
  version: QemuVersion;
  /** The emulator's architecture (x86_64, arm, aarch64, riscv64, s390x). */
  arch: string;
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

export const GUESTS: MachineGuest[] = [
  { name: '7.2-x86-pc', version: '7.2', arch: 'x86_64', args: ['-M', 'pc', '-smp', '2', ...X86, '-vga', 'qxl'] },
  { name: '7.2-x86-q35-running', version: '7.2', arch: 'x86_64', args: ['-M', 'q35', ...X86], runMs: 1500 },
  { name: '7.2-armv7-virt', version: '7.2', arch: 'arm', args: ['-M', 'virt', '-cpu', 'cortex-a15', '-m', '32M', '-nic', 'none', ...devices('pci')] },
  { name: '7.2-aarch64-virt', version: '7.2', arch: 'aarch64', args: ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '32M', '-nic', 'none', ...devices('pci')] },
  { name: '7.2-riscv64-virt', version: '7.2', arch: 'riscv64', args: ['-M', 'virt', '-bios', 'none', '-m', '32M', '-nic', 'none', ...devices('pci')] },
  { name: '7.2-s390x', version: '7.2', arch: 's390x', args: ['-M', 's390-ccw-virtio', '-m', '32M', '-nic', 'none', ...devices('ccw')] },
  { name: '10.0-x86-pc', version: '10.0', arch: 'x86_64', args: ['-M', 'pc', '-smp', '2', ...X86] },
  { name: '10.0-x86-q35-running', version: '10.0', arch: 'x86_64', args: ['-M', 'q35', ...X86], runMs: 1500 },
  { name: '10.0-armv7-virt', version: '10.0', arch: 'arm', args: ['-M', 'virt', '-cpu', 'cortex-a15', '-m', '32M', '-nic', 'none', ...devices('pci')] },
  { name: '10.0-aarch64-virt', version: '10.0', arch: 'aarch64', args: ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '32M', '-nic', 'none', ...devices('pci')] },
];

export function guestBinary(g: MachineGuest): string {
  return qemuBinary(g.version, g.arch);
}

export function canMake(g: MachineGuest): boolean {
  return haveQemu(g.version, guestBinary(g));
}

/** Makes the guest and saves it into `dir`/NAME.mig; returns that path. */
export async function makeGuestImage(g: MachineGuest, dir: string): Promise<string> {
  const image = path.join(dir, `${g.name}.mig`);
  await saveInQemu({ version: g.version, binary: guestBinary(g), args: [...g.args, '-display', 'none'], files: [corpusPath('qemu', DISK)], runMs: g.runMs, image, capabilities: g.capabilities });
  return image;
}
