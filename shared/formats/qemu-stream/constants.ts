/** QEMU migration stream constants (migration/savevm.h, migration/ram.c, QEMU 7.2 to 10.x). */

export const QEVM_MAGIC = 0x5145564d; // "QEVM"
export const QEVM_FILE_VERSION = 3;
export const QEVM_FILE_VERSION_COMPAT = 2; // rejected by QEMU: "SaveVM v2 format is obsolete"

export const enum SectionType {
  EOF = 0x00,
  START = 0x01,
  PART = 0x02,
  END = 0x03,
  FULL = 0x04,
  SUBSECTION = 0x05,
  VMDESCRIPTION = 0x06,
  CONFIGURATION = 0x07,
  COMMAND = 0x08,
  FOOTER = 0x7e,
}

export type ElementType =
  | 'CONFIGURATION'
  | 'START'
  | 'PART'
  | 'END'
  | 'FULL'
  | 'COMMAND'
  | 'EOF'
  | 'VMDESCRIPTION'
  | 'DIRECTORY'
  | 'UNKNOWN';

export const SECTION_TYPE_NAMES: Readonly<Record<number, ElementType>> = {
  0x00: 'EOF',
  0x01: 'START',
  0x02: 'PART',
  0x03: 'END',
  0x04: 'FULL',
  0x06: 'VMDESCRIPTION',
  0x07: 'CONFIGURATION',
  0x08: 'COMMAND',
};

/** RAM record flags: the low bits (below the target page size) of each be64 record header. */
export const RamFlag = {
  FULL: 0x01, // obsolete since 2009, never written
  ZERO: 0x02, // called COMPRESS in older QEMU: one fill byte
  MEM_SIZE: 0x04,
  PAGE: 0x08,
  EOS: 0x10,
  CONTINUE: 0x20,
  XBZRLE: 0x40,
  HOOK: 0x80, // RDMA only
  COMPRESS_PAGE: 0x100, // zlib page, capability "compress"; removed in QEMU 9.1
  MULTIFD_FLUSH: 0x200, // QEMU 8.0+
} as const;

export const ENCODING_FLAG_XBZRLE = 0x01;

/** QEMU_VM_COMMAND sub-commands (enum qemu_vm_cmd in migration/savevm.c). */
export const COMMAND_NAMES: Readonly<Record<number, string>> = {
  0: 'INVALID',
  1: 'OPEN_RETURN_PATH',
  2: 'PING',
  3: 'POSTCOPY_ADVISE',
  4: 'POSTCOPY_LISTEN',
  5: 'POSTCOPY_RUN',
  6: 'POSTCOPY_RAM_DISCARD',
  7: 'PACKAGED',
  8: 'ENABLE_COLO',
  9: 'POSTCOPY_RESUME',
  10: 'RECV_BITMAP',
  11: 'SWITCHOVER_START',
};

/** s390 storage attributes section flags (hw/s390x/s390-stattrib.c). */
export const StattrFlag = { EOS: 0x01, MORE: 0x02, ERROR: 0x04, DONE: 0x08 } as const;

/** Size of a mapped-ram header (packed MappedRamHeader, QEMU 9.0+). */
export const MAPPED_RAM_HEADER_SIZE = 28;

/** The idstr of QEMU's RAM section. */
export const RAM_IDSTR = 'ram';
/** The vCPU state's section name on every target (each target's machine.c registers its vmstate_cpu as "cpu"). */
export const CPU_IDSTR = 'cpu';
