import { array, bytes, struct, text, u16, u32, u64, u8, ulong, type Layout, type LayoutField } from './layout';

/**
 * The fixed layouts of Xen's save formats as data, each with its source. Variable parts
 * (arrays whose length a count gives, blobs) are added by the decoders in records.ts.
 */

// ------------------------------------------------------------------ headers

/** tools/xl/xl.h struct save_file_header (the magic is 32 bytes, no NUL terminator counted). */
export const XL_HEADER: Layout = [text('magic', 32), u32('byteorder'), u32('mandatory_flags'), u32('optional_flags'), u32('optional_data_len')];

/** libxl_sr_stream_format.h libxl__sr_hdr (big-endian). */
export const LIBXL_HEADER: Layout = [text('ident', 8), u32('version'), u32('options')];

/** xg_sr_stream_format.h xc_sr_ihdr (big-endian). */
export const LIBXC_IMAGE_HEADER: Layout = [u64('marker'), u32('id'), u32('version'), u16('options'), u16('_res1'), u32('_res2')];

/** xg_sr_stream_format.h xc_sr_dhdr. */
export const LIBXC_DOMAIN_HEADER: Layout = [u32('type'), u16('page_shift'), u16('_res1'), u32('xen_major'), u32('xen_minor')];

export const RECORD_HEADER: Layout = [u32('type'), u32('length')];

// ------------------------------------------------------------------ libxc record bodies

export const X86_PV_INFO: Layout = [u8('guest_width'), u8('pt_levels'), u16('_res1'), u32('_res2')];
export const X86_PV_P2M_FRAMES_HEADER: Layout = [u32('p2m_start_pfn'), u32('p2m_end_pfn')];
export const X86_PV_VCPU_HEADER: Layout = [u32('vcpu_id'), u32('_res1')];
export const X86_TSC_INFO: Layout = [u32('mode'), u32('khz'), u64('nsec'), u32('incarnation'), u32('_res1')];
export const HVM_PARAMS_HEADER: Layout = [u32('count'), u32('_res1')];
export const HVM_PARAM: Layout = [u64('index'), u64('value')];
export const PAGE_DATA_HEADER: Layout = [u32('count'), u32('_res1')];
/** xen_cpuid_leaf_t (public/arch-x86/xen.h). */
export const CPUID_LEAF: Layout = [u32('leaf'), u32('subleaf'), u32('a'), u32('b'), u32('c'), u32('d')];
/** xen_msr_entry_t (public/arch-x86/xen.h). */
export const MSR_ENTRY: Layout = [u32('idx'), u32('flags'), u64('val')];

/** xen_domctl_ext_vcpucontext (public/domctl.h), the X86_PV_VCPU_EXTENDED blob. */
export const PV_VCPU_EXTENDED: Layout = [
  u32('vcpu'),
  u32('size'),
  u64('syscall32_callback_eip'),
  u64('sysenter_callback_eip'),
  u16('syscall32_callback_cs'),
  u16('sysenter_callback_cs'),
  u8('syscall32_disables_events'),
  u8('sysenter_disables_events'),
  bytes('_pad', 2),
  struct('vmce', [u64('caps'), u64('mci_ctl2_bank0'), u64('mci_ctl2_bank1'), u64('mcg_ext_ctl')]),
];

/** XEN_DOMCTL_getvcpuextstate output: xcr0, xcr0_accum, then the XSAVE area. */
export const PV_VCPU_XSAVE: Layout = [u64('xcr0'), u64('xcr0_accum'), bytes('fpu_sse', 512), struct('xsave_hdr', [u64('xstate_bv'), u64('xcomp_bv'), array(u64('reserved'), 6)])];

// ------------------------------------------------------------------ libxl record bodies

export const EMULATOR_HEADER: Layout = [u32('emulator_id'), u32('index')];
export const CHECKPOINT_STATE: Layout = [u32('control_id'), u32('_pad')];

// ------------------------------------------------------------------ PV vCPU context (public/arch-x86/xen.h, xen-x86_{32,64}.h)

const CPU_USER_REGS_64: Layout = [
  ...['r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi'].map((n) => u64(n)),
  u32('error_code'),
  u32('entry_vector'),
  u64('rip'),
  u16('cs'),
  u16('_pad0'),
  u8('saved_upcall_mask'),
  bytes('_pad1', 3),
  u64('rflags'),
  u64('rsp'),
  ...['ss', 'es', 'ds', 'fs', 'gs'].flatMap((n) => [u16(n), bytes(`_pad_${n}`, 6)]),
];

const CPU_USER_REGS_32: Layout = [
  ...['ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'eax'].map((n) => u32(n)),
  u16('error_code'),
  u16('entry_vector'),
  u32('eip'),
  u16('cs'),
  u8('saved_upcall_mask'),
  u8('_pad0'),
  u32('eflags'),
  u32('esp'),
  ...['ss', 'es', 'ds', 'fs', 'gs'].flatMap((n) => [u16(n), u16(`_pad_${n}`)]),
];

function trapInfo(width: 4 | 8): LayoutField {
  return struct('trap_ctxt', [u8('vector'), u8('flags'), u16('cs'), ...(width === 8 ? [u16('_pad'), bytes('_pad2', 2)] : []), ulong('address', width)], 256);
}

/** struct vcpu_guest_context as a 64-bit (0x1430 bytes) or 32-bit (0xaf0 bytes) guest saves it. */
export function pvVcpuContext(width: 4 | 8): Layout {
  const ul = (n: string) => ulong(n, width);
  const callbacks =
    width === 8
      ? [ul('event_callback_eip'), ul('failsafe_callback_eip'), ul('syscall_callback_eip')]
      : [ul('event_callback_cs'), ul('event_callback_eip'), ul('failsafe_callback_cs'), ul('failsafe_callback_eip')];
  return [
    bytes('fpu_ctxt', 512),
    ul('flags'),
    struct('user_regs', width === 8 ? CPU_USER_REGS_64 : CPU_USER_REGS_32),
    trapInfo(width),
    ul('ldt_base'),
    ul('ldt_ents'),
    array(ul('gdt_frames'), 16),
    ul('gdt_ents'),
    ul('kernel_ss'),
    ul('kernel_sp'),
    array(ul('ctrlreg'), 8),
    array(ul('debugreg'), 8),
    ...callbacks,
    ul('vm_assist'),
    ...(width === 8 ? [u64('fs_base'), u64('gs_base_kernel'), u64('gs_base_user')] : []),
  ];
}

// ------------------------------------------------------------------ shared info page (public/xen.h)

function vcpuInfo(width: 4 | 8): Layout {
  return [
    u8('evtchn_upcall_pending'),
    u8('evtchn_upcall_mask'),
    bytes('_pad', width === 8 ? 6 : 2),
    ulong('evtchn_pending_sel', width),
    ulong('arch.cr2', width),
    bytes('arch.pad', width === 8 ? 8 : 20),
    struct('time', [u32('version'), u32('_pad0'), u64('tsc_timestamp'), u64('system_time'), u32('tsc_to_system_mul'), u8('tsc_shift'), u8('flags'), bytes('_pad1', 2)]),
  ];
}

/** struct shared_info of a 64-bit or 32-bit PV guest (only the part Xen defines; the rest of the page is padding). */
export function sharedInfo(width: 4 | 8): Layout {
  const words = width * 8;
  return [
    struct('vcpu_info', vcpuInfo(width), 32),
    array(ulong('evtchn_pending', width), words),
    array(ulong('evtchn_mask', width), words),
    u32('wc_version'),
    u32('wc_sec'),
    u32('wc_nsec'),
    ...(width === 8 ? [u32('wc_sec_hi')] : []),
    struct('arch', [ulong('max_pfn', width), ulong('pfn_to_mfn_frame_list_list', width), ulong('nmi_reason', width), ulong('p2m_cr3', width), ulong('p2m_vaddr', width), ulong('p2m_generation', width), ...(width === 4 ? [u32('wc_sec_hi')] : [])]),
  ];
}

// ------------------------------------------------------------------ legacy

/** The libxl "toolstack" v1 physmap entry (inside legacy chunk -18); see legacy.py. */
export const LEGACY_PHYSMAP_ENTRY: Layout = [u64('phys_offset'), u64('start_addr'), u64('size'), u32('namelen')];
export const LEGACY_TSC_INFO: Layout = [u32('mode'), u64('nsec'), u32('khz'), u32('incarnation')];
export const LEGACY_PARAM: Layout = [u32('_pad'), u64('value')];
export const LEGACY_HVM_MAGIC_PFNS: Layout = [u64('ioreq_pfn'), u64('bufioreq_pfn'), u64('store_pfn')];
