/**
 * The QEMU releases transforms know, as data: which versioned machine types each offers,
 * which migration capabilities it accepts and which stream elements its loader reads.
 * Adding a release means adding a row here (and the rule rows for what changed).
 *
 * Machine type lists are `qemu-system-* -M help` of the builds the tests run (QEMU 7.2.22
 * Debian bookworm, 10.0.2 bookworm-backports); capability lists are their
 * `query-migrate-capabilities`.
 */

/** "7.2", "10.0": major.minor, compared numerically. */
export type ReleaseVersion = string;

/** A family of versioned machine types: `pc-i440fx-X.Y`, `pc-q35-X.Y`, `virt-X.Y`, … */
export interface MachineFamily {
  /** Family name as the user knows it ("pc", "q35", "virt"). */
  name: string;
  /** The versioned name without its version: "pc-i440fx-". */
  prefix: string;
  /** The QEMU binary that runs it (x86_64, aarch64 or arm). */
  targets: string[];
}

export const MACHINE_FAMILIES: readonly MachineFamily[] = [
  { name: 'pc', prefix: 'pc-i440fx-', targets: ['x86_64', 'i386'] },
  { name: 'q35', prefix: 'pc-q35-', targets: ['x86_64', 'i386'] },
  { name: 'virt', prefix: 'virt-', targets: ['aarch64', 'arm'] },
  { name: 's390-ccw-virtio', prefix: 's390-ccw-virtio-', targets: ['s390x'] },
  { name: 'pseries', prefix: 'pseries-', targets: ['ppc64'] },
];

export interface ReleaseMachines {
  /** Oldest and newest version of each family the release offers ("2.4", "10.0"). */
  versions: Record<string, { oldest: ReleaseVersion; newest: ReleaseVersion; also?: string[] }>;
}

export interface QemuRelease {
  /** What `--to` takes: "qemu-7.2". */
  id: string;
  version: ReleaseVersion;
  machines: ReleaseMachines;
  /** Migration capabilities its migrate-set-capabilities accepts. */
  capabilities: readonly string[];
  /** Highest QEMU_VM_COMMAND number its loader knows (enum qemu_vm_cmd). */
  maxCommand: number;
  /** RAM record flags its ram_load_precopy accepts (RAM_SAVE_FLAG_*). */
  ramFlags: number;
}

const COMMON_CAPABILITIES = [
  'xbzrle', 'rdma-pin-all', 'auto-converge', 'zero-blocks', 'events', 'postcopy-ram', 'x-colo', 'release-ram', 'return-path',
  'pause-before-switchover', 'multifd', 'dirty-bitmaps', 'postcopy-blocktime', 'late-block-activate', 'x-ignore-shared',
  'validate-uuid', 'background-snapshot', 'zero-copy-send', 'postcopy-preempt',
];

export const QEMU_RELEASES: readonly QemuRelease[] = [
  {
    id: 'qemu-7.2',
    version: '7.2',
    machines: {
      versions: {
        pc: { oldest: '1.4', newest: '7.2' },
        q35: { oldest: '2.4', newest: '7.2', also: ['4.0.1'] },
        virt: { oldest: '2.6', newest: '7.2' },
      },
    },
    capabilities: [...COMMON_CAPABILITIES, 'compress', 'block'],
    maxCommand: 10, // RECV_BITMAP
    ramFlags: 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100,
  },
  {
    id: 'qemu-10.0',
    version: '10.0',
    machines: {
      versions: {
        pc: { oldest: '2.4', newest: '10.0' },
        q35: { oldest: '2.4', newest: '10.0', also: ['4.0.1'] },
        virt: { oldest: '2.6', newest: '10.0' },
      },
    },
    // compress and block migration were removed in 9.1; mapped-ram came in 9.0.
    capabilities: [...COMMON_CAPABILITIES, 'switchover-ack', 'dirty-limit', 'mapped-ram'],
    maxCommand: 11, // SWITCHOVER_START
    ramFlags: 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x200,
  },
];

export function releaseById(id: string): QemuRelease | undefined {
  return QEMU_RELEASES.find((r) => r.id === id || r.version === id || `qemu-${r.version}` === id);
}

/** "7.2" < "10.0" < "10.1"; "4.0.1" sorts after "4.0". */
export function compareVersions(a: ReleaseVersion, b: ReleaseVersion): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A machine type name split into its family and version; unversioned names have no family. */
export interface MachineType {
  name: string;
  family?: MachineFamily;
  version?: ReleaseVersion;
}

export function parseMachineType(name: string): MachineType {
  for (const family of MACHINE_FAMILIES) {
    if (!name.startsWith(family.prefix)) continue;
    const version = name.slice(family.prefix.length);
    if (/^\d+\.\d+(\.\d+)?$/.test(version)) return { name, family, version };
  }
  return { name };
}

/** Does the release offer this machine type? Unversioned names (microvm, isapc, riscv virt) are assumed to exist. */
export function releaseHasMachine(release: QemuRelease, machine: string): boolean {
  const m = parseMachineType(machine);
  if (!m.family || !m.version) return true;
  const range = release.machines.versions[m.family.name];
  if (!range) return false;
  if (range.also?.includes(m.version)) return true;
  return /^\d+\.\d+$/.test(m.version) && compareVersions(m.version, range.oldest) >= 0 && compareVersions(m.version, range.newest) <= 0;
}

/** The release's newest machine type of the same family ("pc-i440fx-10.0" for any pc-i440fx-*), if it has the family. */
export function newestMachine(release: QemuRelease, machine: string): string | undefined {
  const m = parseMachineType(machine);
  const range = m.family && release.machines.versions[m.family.name];
  return range ? m.family!.prefix + range.newest : undefined;
}

/** The oldest machine type of the family the release still offers. */
export function oldestMachine(release: QemuRelease, machine: string): string | undefined {
  const m = parseMachineType(machine);
  const range = m.family && release.machines.versions[m.family.name];
  return range ? m.family!.prefix + range.oldest : undefined;
}

/**
 * The compat machine type of a move: the same machine type when the target offers it
 * (QEMU's compat properties then make the target behave like the source), else the
 * target's nearest version of the family.
 */
export function compatMachine(release: QemuRelease, machine: string): string | undefined {
  if (releaseHasMachine(release, machine)) return machine;
  const m = parseMachineType(machine);
  const range = m.family && release.machines.versions[m.family.name];
  if (!range || !m.version) return undefined;
  return m.family!.prefix + (compareVersions(m.version, range.newest) > 0 ? range.newest : range.oldest);
}

/** The QEMU release whose machine types a version belongs to: the lowest known release at or above it. */
export function releaseOfMachineVersion(version: ReleaseVersion): QemuRelease | undefined {
  return [...QEMU_RELEASES].sort((a, b) => compareVersions(a.version, b.version)).find((r) => compareVersions(version, r.version) <= 0);
}
