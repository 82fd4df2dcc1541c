/**
 * The virtual hardware a QEMU stream was saved from, as far as the stream itself tells it:
 * the machine, RAM, CPUs and every device with the properties its state implies. QEMU
 * only loads a stream into a VM built exactly like the source, so this is what
 * `migwb qemu-args` turns into a command line and `--libvirt` into a domain XML.
 * Every value carries the evidence it came from, and what the stream cannot tell is said.
 */

export type TargetArch = 'x86_64' | 'i386' | 'arm' | 'aarch64' | 'riscv64' | 'riscv32';

export type MachineFamilyName = 'pc' | 'q35' | 'arm-virt' | 'riscv-virt';

/** Where a derived value came from: a section and its field, a RAM block, or a rule. */
export interface Evidence {
  /** The section's idstr ("0000:00:03.0/e1000"), "configuration", or "ram" for the block list. */
  section?: string;
  field?: string;
  /** Stream offset of the field or record. */
  offset?: number;
  /** What was read and what it means, in a few words. */
  says: string;
}

export interface MachineSpec {
  family: MachineFamilyName;
  arch: TargetArch;
  /** The machine type QEMU must run, e.g. "pc-i440fx-7.2". */
  type: string;
  /** Set when the type is not written in the stream (no configuration section) but inferred. */
  inferred?: string;
  /** -machine properties the state implies (acpi=off, hpet=off, vmport=off, gic-version=2, memory-backend=…). */
  options: { name: string; value: string; evidence: Evidence }[];
  evidence: Evidence;
}

export interface MemoryBackendSpec {
  id: string;
  size: number;
  /** ram: memory-backend-ram; file: memory-backend-file (shared; its pages are not in the stream). */
  kind: 'ram' | 'file';
  /** Used as the machine's RAM (memory-backend=) or a NUMA node's memory, or a device's (virtio-mem memdev). */
  role: 'machine' | 'numa-node' | 'device';
  /** A file-backed backend is a placeholder: the stream does not carry its contents. */
  placeholder?: Placeholder;
  evidence: Evidence;
}

export interface MemorySpec {
  /** Guest RAM size (-m). */
  size: number;
  /** -m maxmem, when devices plug memory (virtio-mem) and need room above RAM. */
  maxmem?: number;
  backends: MemoryBackendSpec[];
  evidence: Evidence;
}

export interface CpuSpec {
  count: number;
  /** The -cpu model, when the cpu state reveals it. */
  model?: string;
  evidence: Evidence[];
}

/** A backend the device needs that the stream cannot describe: a disk, a network, a chardev, shared memory. */
export interface Placeholder {
  kind: 'disk' | 'netdev' | 'chardev' | 'memory';
  /** The id the device refers to (drive=, netdev=, chardev=, memdev=). */
  id: string;
  /** What stands in for it so the command line runs as printed. */
  standIn: string;
  /** What the user should put there. */
  replaceWith: string;
}

export type DeviceKind =
  | 'nic'
  | 'disk'
  | 'storage-controller'
  | 'usb-controller'
  | 'usb-device'
  | 'display'
  | 'serial'
  | 'parallel'
  | 'virtio-serial'
  | 'balloon'
  | 'memory'
  | 'rng'
  | 'pci-bridge'
  | 'input'
  | 'other';

export interface DeviceProperty {
  name: string;
  value: string;
  evidence: Evidence;
  /**
   * Given only where the target QEMU has the property: it restates what that QEMU's
   * compat defaults may change (vectors=0 for a device saved without MSI-X, which newer
   * machine types give it), and older QEMUs without the property already behave so.
   */
  onlyWhereSupported?: boolean;
}

export interface DeviceSpec {
  /** The QEMU device id we give it (unique in the command line). */
  id: string;
  driver: string;
  kind: DeviceKind;
  /** The section(s) it was derived from. */
  sections: string[];
  /** Where it sits: a PCI slot (bus id + "03.0"), a USB port, a SCSI address, an ISA index. */
  address?: { type: 'pci'; bus: string; slot: number; function: number; path: string } | { type: 'usb'; bus: string; port: string } | { type: 'scsi'; bus: string; channel: number; target: number; lun: number } | { type: 'virtio-serial'; bus: string; nr: number } | { type: 'isa'; index: number };
  properties: DeviceProperty[];
  /** The backend the device is wired to, when it needs one the stream cannot describe. */
  backend?: Placeholder;
  /** The bus this device provides to others (a pcie-root-port's id, "xhci0.0", "scsi0.0"). */
  providesBus?: string;
}

export interface Finding {
  level: 'info' | 'warning' | 'error';
  message: string;
  section?: string;
  offset?: number;
}

export interface VmHardware {
  machine: MachineSpec;
  memory: MemorySpec;
  cpus: CpuSpec;
  devices: DeviceSpec[];
  /** Migration capabilities the destination must have on before it reads the stream. */
  capabilities: { name: string; evidence: Evidence }[];
  /** What the stream could not tell, and sections no rule accounts for. */
  findings: Finding[];
}

export function property(name: string, value: string | number | boolean, evidence: Evidence): DeviceProperty {
  return { name, value: typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value), evidence };
}
