/**
 * Numbers of Xen's save formats, each with the name its source gives it. Sources:
 * docs/specs/libxc-migration-stream.pandoc (rev 3), docs/specs/libxl-migration-stream.pandoc
 * (rev 2), tools/libs/guest/xg_sr_stream_format.h, tools/libs/light/libxl_sr_stream_format.h,
 * tools/xl/xl.h, tools/python/xen/migration/{legacy,public}.py, xen/include/public/hvm/params.h.
 */

/** Every record of either layer is framed alike: u32 type, u32 body length, body, zero padding to 8. */
export const RECORD_HEADER_BYTES = 8;
export const RECORD_ALIGN = 8;
/** Bit 31 of a record type: the receiver may ignore the record (spec "Records"). */
export const OPTIONAL_RECORD = 0x8000_0000;
/** libxc's reader refuses longer records (xg_sr_common.c REC_LENGTH_MAX, 128 MiB). */
export const REC_LENGTH_MAX = 128 << 20;
/** The only page size Xen's tools write and its verifier accepts. */
export const XEN_PAGE_SHIFT = 12;
export const XEN_PAGE_SIZE = 1 << XEN_PAGE_SHIFT;

// ------------------------------------------------------------------ xl header (tools/xl/xl.h)

export const XL_MAGIC = 'Xen saved domain, xl format\n \0 \r';
export const XL_HEADER_BYTES = 48;
export const XL_BYTEORDER_MARKER = 0x01020304;
export const XL_MANDATORY_FLAG_JSON = 1 << 0;
export const XL_MANDATORY_FLAG_STREAMV2 = 1 << 1;
/** Mandatory flags this reader (like xl 4.17) understands; any other bit makes xl refuse the file. */
export const XL_MANDATORY_KNOWN = XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMV2;

// ------------------------------------------------------------------ libxl stream

export const LIBXL_IDENT = 'LibxlFmt';
export const LIBXL_VERSION = 2;
export const LIBXL_HEADER_BYTES = 16;
export const LIBXL_OPT_BIG_ENDIAN = 1 << 0;
export const LIBXL_OPT_LEGACY = 1 << 1;
/** verify-stream-v2's HDR_OPT_RESZ_MASK: it checks only bits 2-15 of the 32-bit options. */
export const LIBXL_OPT_RESERVED_VERIFIED = 0xfffc;
export const LIBXL_OPT_RESERVED = 0xffff_fffc;

export const LibxlRecord = {
  END: 0,
  LIBXC_CONTEXT: 1,
  EMULATOR_XENSTORE_DATA: 2,
  EMULATOR_CONTEXT: 3,
  CHECKPOINT_END: 4,
  CHECKPOINT_STATE: 5,
} as const;

export const LIBXL_RECORD_NAMES: Readonly<Record<number, string>> = {
  0: 'END',
  1: 'LIBXC_CONTEXT',
  2: 'EMULATOR_XENSTORE_DATA',
  3: 'EMULATOR_CONTEXT',
  4: 'CHECKPOINT_END',
  5: 'CHECKPOINT_STATE',
};

export const EMULATOR_IDS: Readonly<Record<number, string>> = {
  0: 'unknown (legacy conversion)',
  1: 'QEMU traditional',
  2: 'QEMU upstream',
};

export const CHECKPOINT_STATES: Readonly<Record<number, string>> = {
  0: 'NEW (secondary out of sync, start a new checkpoint)',
  1: 'SVM_SUSPENDED',
  2: 'SVM_READY',
  3: 'SVM_RESUMED',
};

// ------------------------------------------------------------------ libxc image

export const LIBXC_MARKER_BYTES = 8;
export const LIBXC_IDENT = 0x58454e46; // "XENF"
export const LIBXC_IMAGE_HEADER_BYTES = 24;
export const LIBXC_DOMAIN_HEADER_BYTES = 16;
export const LIBXC_OPT_BIG_ENDIAN = 1 << 0;
export const LIBXC_OPT_RESERVED = 0xfffe;
export const LIBXC_VERSIONS = [2, 3] as const;

export const DomainType = { X86_PV: 1, X86_HVM: 2 } as const;
export const DOMAIN_TYPE_NAMES: Readonly<Record<number, string>> = { 1: 'x86 PV', 2: 'x86 HVM', 3: 'x86 PVH', 4: 'ARM' };

export const LibxcRecord = {
  END: 0x00,
  PAGE_DATA: 0x01,
  X86_PV_INFO: 0x02,
  X86_PV_P2M_FRAMES: 0x03,
  X86_PV_VCPU_BASIC: 0x04,
  X86_PV_VCPU_EXTENDED: 0x05,
  X86_PV_VCPU_XSAVE: 0x06,
  SHARED_INFO: 0x07,
  X86_TSC_INFO: 0x08,
  HVM_CONTEXT: 0x09,
  HVM_PARAMS: 0x0a,
  TOOLSTACK: 0x0b,
  X86_PV_VCPU_MSRS: 0x0c,
  VERIFY: 0x0d,
  CHECKPOINT: 0x0e,
  CHECKPOINT_DIRTY_PFN_LIST: 0x0f,
  STATIC_DATA_END: 0x10,
  X86_CPUID_POLICY: 0x11,
  X86_MSR_POLICY: 0x12,
} as const;

export const LIBXC_RECORD_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(LibxcRecord).map(([k, v]) => [v, k]));

/** Record types new in image version 3 (Xen 4.14; spec revision history). */
export const V3_ONLY_RECORDS: ReadonlySet<number> = new Set([LibxcRecord.STATIC_DATA_END, LibxcRecord.X86_CPUID_POLICY, LibxcRecord.X86_MSR_POLICY]);

// ------------------------------------------------------------------ PAGE_DATA pfn entries

export const PFN_TYPE_SHIFT = 60n;
export const PFN_MASK = (1n << 52n) - 1n;
export const PFN_RESERVED_MASK = ((1n << 60n) - 1n) & ~PFN_MASK;

/** XEN_DOMCTL_PFINFO_* types (public/domctl.h), as PAGE_DATA carries them in bits 63-60. */
export const PFINFO_NAMES: Readonly<Record<number, string>> = {
  0x0: 'NOTAB',
  0x1: 'L1TAB',
  0x2: 'L2TAB',
  0x3: 'L3TAB',
  0x4: 'L4TAB',
  0x9: 'L1TAB_PIN',
  0xa: 'L2TAB_PIN',
  0xb: 'L3TAB_PIN',
  0xc: 'L4TAB_PIN',
  0xd: 'BROKEN',
  0xe: 'XALLOC',
  0xf: 'XTAB',
};
export const PFINFO_BROKEN = 0xd;
export const PFINFO_XALLOC = 0xe;
export const PFINFO_XTAB = 0xf;

/** Types 5-8 are reserved: Xen refuses them and so does the verifier. */
export function pfinfoIsValid(type: number): boolean {
  return type < 5 || type > 8;
}

/**
 * Whether page data follows for a pfn of this type. The verifier counts only types 0-4 after
 * masking off the pin bit (libxc.py PAGE_DATA_TYPE_LTABTYPE_MASK), i.e. 0-4 and 9-0xC.
 */
export function pfinfoHasData(type: number): boolean {
  return (type & 0x7) <= 4 && type !== PFINFO_BROKEN && type !== PFINFO_XALLOC && type !== PFINFO_XTAB;
}

// ------------------------------------------------------------------ HVM params (public/hvm/params.h)

export const HVM_PARAM_NAMES: Readonly<Record<number, string>> = {
  0: 'CALLBACK_IRQ',
  1: 'STORE_PFN',
  2: 'STORE_EVTCHN',
  4: 'PAE_ENABLED',
  5: 'IOREQ_PFN',
  6: 'BUFIOREQ_PFN',
  9: 'VIRIDIAN',
  10: 'TIMER_MODE',
  11: 'HPET_ENABLED',
  12: 'IDENT_PT',
  13: 'DM_DOMAIN',
  14: 'ACPI_S_STATE',
  15: 'VM86_TSS',
  16: 'VPT_ALIGN',
  17: 'CONSOLE_PFN',
  18: 'CONSOLE_EVTCHN',
  19: 'ACPI_IOPORTS_LOCATION',
  24: 'NESTEDHVM',
  26: 'BUFIOREQ_EVTCHN',
  27: 'PAGING_RING_PFN',
  28: 'MONITOR_RING_PFN',
  29: 'SHARING_RING_PFN',
  31: 'TRIPLE_FAULT_REASON',
  32: 'IOREQ_SERVER_PFN',
  33: 'NR_IOREQ_SERVER_PAGES',
  34: 'VM_GENERATION_ID_ADDR',
  35: 'ALTP2M',
  36: 'X87_FIP_WIDTH',
  37: 'VM86_TSS_SIZED',
  38: 'MCA_CAP',
};

/** The HVM_PARAMS indexes convert-legacy-stream emits, named as tools/python/xen/migration/public.py names them. */
export const HvmParam = {
  STORE_PFN: 1,
  IOREQ_PFN: 5,
  BUFIOREQ_PFN: 6,
  VIRIDIAN: 9,
  IDENT_PT: 12,
  VM86_TSS: 15,
  CONSOLE_PFN: 17,
  ACPI_IOPORTS_LOCATION: 19,
  PAGING_RING_PFN: 27,
  MONITOR_RING_PFN: 28,
  SHARING_RING_PFN: 29,
  IOREQ_SERVER_PFN: 32,
  NR_IOREQ_SERVER_PAGES: 33,
  VM_GENERATION_ID_ADDR: 34,
} as const;

// ------------------------------------------------------------------ legacy (pre-4.6) chunks

export const LEGACY_MAX_BATCH = 1024;
export const LEGACY_MAX_VCPU_ID = 4095;
export const LEGACY_QEMU_SIGNATURE_BYTES = 21;
export const LEGACY_QEMU_SIGNATURES = ['DeviceModelRecord0002', 'QemuDeviceModelRecord', 'RemusDeviceModelState'] as const;
/** The extended-info vCPU context sizes that tell a PV guest's width (convert-legacy-stream). */
export const PV_VCPU_CONTEXT_64 = 0x1430;
export const PV_VCPU_CONTEXT_32 = 0xaf0;
export const LEGACY_EXTENDED_VCPU_BYTES = 128;

export const LegacyChunk = {
  END: 0,
  ENABLE_VERIFY_MODE: -1,
  VCPU_INFO: -2,
  HVM_IDENT_PT: -3,
  HVM_VM86_TSS: -4,
  TMEM: -5,
  TMEM_EXTRA: -6,
  TSC_INFO: -7,
  HVM_CONSOLE_PFN: -8,
  LAST_CHECKPOINT: -9,
  HVM_ACPI_IOPORTS_LOCATION: -10,
  HVM_VIRIDIAN: -11,
  COMPRESSED_DATA: -12,
  ENABLE_COMPRESSION: -13,
  HVM_GENERATION_ID_ADDR: -14,
  HVM_PAGING_RING_PFN: -15,
  HVM_MONITOR_RING_PFN: -16,
  HVM_SHARING_RING_PFN: -17,
  TOOLSTACK: -18,
  HVM_IOREQ_SERVER_PFN: -19,
  HVM_NR_IOREQ_SERVER_PAGES: -20,
} as const;

export const LEGACY_CHUNK_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(LegacyChunk).map(([k, v]) => [v, k]));

/**
 * The "param" chunks (u32 pad + u64 value) and the HVM param each becomes, in the order
 * convert-legacy-stream's read_chunks() maps them.
 */
export const LEGACY_PARAM_CHUNKS: ReadonlyMap<number, number> = new Map([
  [LegacyChunk.HVM_IDENT_PT, HvmParam.IDENT_PT],
  [LegacyChunk.HVM_VM86_TSS, HvmParam.VM86_TSS],
  [LegacyChunk.HVM_CONSOLE_PFN, HvmParam.CONSOLE_PFN],
  [LegacyChunk.HVM_ACPI_IOPORTS_LOCATION, HvmParam.ACPI_IOPORTS_LOCATION],
  [LegacyChunk.HVM_VIRIDIAN, HvmParam.VIRIDIAN],
  [LegacyChunk.HVM_GENERATION_ID_ADDR, HvmParam.VM_GENERATION_ID_ADDR],
  [LegacyChunk.HVM_PAGING_RING_PFN, HvmParam.PAGING_RING_PFN],
  [LegacyChunk.HVM_MONITOR_RING_PFN, HvmParam.MONITOR_RING_PFN],
  [LegacyChunk.HVM_SHARING_RING_PFN, HvmParam.SHARING_RING_PFN],
  [LegacyChunk.HVM_IOREQ_SERVER_PFN, HvmParam.IOREQ_SERVER_PFN],
  [LegacyChunk.HVM_NR_IOREQ_SERVER_PAGES, HvmParam.NR_IOREQ_SERVER_PAGES],
]);

/** Chunks only an HVM guest's save carries: one of them tells the guest type. */
export const HVM_ONLY_CHUNKS: ReadonlySet<number> = new Set(LEGACY_PARAM_CHUNKS.keys());

/** The version convert-legacy-stream writes as xen_minor (its __version__), with xen_major 0. */
export const LEGACY_CONVERTER_VERSION = 1;
