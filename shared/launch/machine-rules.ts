import type { MachineFamilyName, TargetArch } from './hardware';

/**
 * What each machine family builds by itself, as data (one row per family, in the spirit of
 * QEMU's board code): the sections its boards create under `-nodefaults`, the ones a
 * -machine switch turns off, the RAM blocks it owns, and the defaults -nodefaults removes
 * that come back as options. Adding a machine family means adding a row.
 *
 * Sources: hw/i386/pc_piix.c, pc_q35.c, pc.c (pc_basic_device_init), hw/arm/virt.c,
 * hw/riscv/virt.c; section lists checked against streams QEMU 7.2 and 10.0 save.
 */
export interface MachineFamilyRule {
  family: MachineFamilyName;
  /** Machine type names of the family, versioned ("pc-i440fx-7.2") or not ("virt" on RISC-V). */
  typePattern: RegExp;
  /** QEMU's short alias, resolved to the newest type by each binary ("pc", "q35", "virt"). */
  alias: string;
  /** The system emulator: from the cpu state where one family spans two (x86_64/i386, arm/aarch64). */
  arch: readonly TargetArch[];
  /** The RAM block `-m` creates (absent when a memory backend stands in for it). */
  ramBlock: string;
  /** RAM blocks the board creates besides RAM: firmware, flash, fw_cfg blobs. */
  boardBlocks: readonly (string | RegExp)[];
  /** Sections every board of the family creates (idstr; instances are not counted). */
  builtinSections: readonly (string | RegExp)[];
  /** Sections a -machine switch removes: absent from the stream → the switch. */
  switchable: readonly { sections: readonly string[]; option: string; value: string; why: string }[];
  /** Sections that exist only with a -machine setting: present in the stream → the setting. */
  implied?: readonly { section: RegExp; option: string; value: string; why: string }[];
}

const FW_CFG_BLOB = /^\/rom@etc\//;

export const MACHINE_FAMILIES: readonly MachineFamilyRule[] = [
  {
    family: 'pc',
    typePattern: /^pc-i440fx-\d+\.\d+$|^pc-\d+\.\d+$/,
    alias: 'pc',
    arch: ['x86_64', 'i386'],
    ramBlock: 'pc.ram',
    boardBlocks: ['pc.bios', 'pc.rom', FW_CFG_BLOB],
    builtinSections: [
      'timer', 'cpu_common', 'cpu', 'kvm-tpr-opt', 'apic', 'fw_cfg', 'PCIHost', 'PCIBUS', '0000:00:00.0/I440FX', 'dma', '0000:00:01.0/PIIX3',
      'i8259', 'ioapic', 'mc146818rtc', 'i8254', 'pcspk', 'fdc', 'ps2kbd', 'ps2mouse', 'pckbd', 'port92', '0000:00:01.1/ide', 'globalstate',
    ],
    switchable: [
      { sections: ['hpet'], option: 'hpet', value: 'off', why: 'no hpet section: the board was started with hpet=off' },
      { sections: ['vmmouse'], option: 'vmport', value: 'off', why: 'no vmmouse section: the board was started with vmport=off' },
      {
        sections: ['acpi_build', '0000:00:01.3/piix4_pm', 'i2c_bus'],
        option: 'acpi',
        value: 'off',
        why: 'no acpi_build and no piix4_pm section: the board was started without ACPI (acpi=off, -no-acpi, libvirt without <acpi/>)',
      },
    ],
  },
  {
    family: 'q35',
    typePattern: /^pc-q35-\d+\.\d+$/,
    alias: 'q35',
    arch: ['x86_64', 'i386'],
    ramBlock: 'pc.ram',
    boardBlocks: ['pc.bios', 'pc.rom', FW_CFG_BLOB],
    builtinSections: [
      'timer', 'cpu_common', 'cpu', 'kvm-tpr-opt', 'apic', 'fw_cfg', '0000:00:00.0/mch', 'PCIHost', 'PCIBUS', 'dma', '0000:00:1f.0/ICH9LPC',
      'i8259', 'ioapic', 'mc146818rtc', 'i8254', 'pcspk', 'ps2kbd', 'ps2mouse', 'pckbd', 'port92', 'globalstate',
    ],
    switchable: [
      { sections: ['hpet'], option: 'hpet', value: 'off', why: 'no hpet section: the board was started with hpet=off' },
      { sections: ['vmmouse'], option: 'vmport', value: 'off', why: 'no vmmouse section: the board was started with vmport=off' },
      { sections: ['acpi_build'], option: 'acpi', value: 'off', why: 'no acpi_build section: the board was started without ACPI' },
      { sections: ['0000:00:1f.2/ich9_ahci'], option: 'sata', value: 'off', why: 'no ich9_ahci at 1f.2: the board was started with sata=off' },
      { sections: ['0000:00:1f.3/ich9_smb', 'i2c_bus'], option: 'smbus', value: 'off', why: 'no ich9_smb at 1f.3: the board was started with smbus=off' },
    ],
  },
  {
    family: 'arm-virt',
    typePattern: /^virt-\d+\.\d+$/,
    alias: 'virt',
    arch: ['arm', 'aarch64'],
    ramBlock: 'mach-virt.ram',
    boardBlocks: ['virt.flash0', 'virt.flash1', FW_CFG_BLOB],
    builtinSections: ['timer', 'pflash_cfi01', 'cpu_common', 'cpu', /^arm_gic/, 'pl011', 'pl031', '0000:00:00.0/gpex_root', 'PCIHost', 'PCIBUS', 'pl061', 'gpio-key', 'fw_cfg', 'globalstate'],
    switchable: [{ sections: ['virt_acpi_build'], option: 'acpi', value: 'off', why: 'no virt_acpi_build section: the board was started without ACPI' }],
    implied: [
      { section: /^arm_gic$/, option: 'gic-version', value: '2', why: 'an arm_gic section: a GICv2 interrupt controller' },
      { section: /^arm_gicv3$/, option: 'gic-version', value: '3', why: 'an arm_gicv3 section: a GICv3 interrupt controller' },
    ],
  },
  {
    family: 'riscv-virt',
    typePattern: /^virt$/,
    alias: 'virt',
    arch: ['riscv64', 'riscv32'],
    ramBlock: 'riscv_virt_board.ram',
    boardBlocks: ['riscv_virt_board.mrom', 'virt.flash0', 'virt.flash1', FW_CFG_BLOB],
    builtinSections: ['timer', 'cpu_common', 'cpu', 'riscv_mtimer', 'riscv_sifive_plic', '0000:00:00.0/gpex_root', 'PCIHost', 'PCIBUS', 'serial', 'goldfish_rtc', 'pflash_cfi01', 'fw_cfg', 'globalstate'],
    switchable: [],
  },
];

export function familyRule(family: MachineFamilyName): MachineFamilyRule {
  return MACHINE_FAMILIES.find((r) => r.family === family)!;
}

export function isBuiltinSection(rule: MachineFamilyRule, idstr: string): boolean {
  return rule.builtinSections.some((s) => (typeof s === 'string' ? s === idstr : s.test(idstr))) || rule.switchable.some((s) => s.sections.includes(idstr));
}

export function isBoardBlock(rule: MachineFamilyRule, id: string): boolean {
  return id === rule.ramBlock || rule.boardBlocks.some((b) => (typeof b === 'string' ? b === id : b.test(id)));
}

/**
 * Firmware image sizes and the -bios that gives each (pc.bios must match the stream's
 * size exactly: it is not a resizable block). SeaBIOS ships bios-256k.bin (the default
 * since pc-i440fx-1.7) and the 128 KiB bios.bin.
 */
export const PC_BIOS_BY_SIZE: Readonly<Record<number, string | null>> = { [256 * 1024]: null, [128 * 1024]: 'bios.bin' };

/** Section names only these families create, to tell ARM from RISC-V "virt" without a vmdesc. */
export const FAMILY_MARKERS: readonly { family: MachineFamilyName; section: RegExp }[] = [
  { family: 'q35', section: /^0000:00:00\.0\/mch$/ },
  { family: 'pc', section: /^0000:00:00\.0\/I440FX$/ },
  { family: 'arm-virt', section: /^arm_gic|^pl011$/ },
  { family: 'riscv-virt', section: /^riscv_/ },
];
