import type { FieldNode } from '../qemu-stream/vmstate-decode';
import type { Finding } from './diagnostics';
import { array, bytes, decodeLayout, layoutSize, struct, u16, u32, u64, u8, type Layout } from './layout';
import { XenBytes } from './wire';

/**
 * The HVM context blob (HVM_CONTEXT record, legacy HVM tail): Xen's own save records, each
 * `struct hvm_save_descriptor { u16 typecode; u16 instance; u32 length; }` and a payload,
 * ending with typecode 0. Layouts from xen/include/public/arch-x86/hvm/save.h (Xen 4.17);
 * where a record grew over the releases, every size Xen has written is known and decoded
 * with the layout of its release.
 */
export const HVM_FILE_MAGIC = 0x54381286;
export const HVM_DESCRIPTOR_BYTES = 8;

const GPRS = ['rax', 'rbx', 'rcx', 'rdx', 'rbp', 'rsi', 'rdi', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const SEGS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldtr'];

/** struct hvm_hw_cpu: pre-3.4 had no msr_tsc_aux, pre-4.7 no flags, pre-4.17 no VMX non-register state. */
function hvmCpu(variant: 'compat' | '3.4' | '4.7' | '4.17'): Layout {
  return [
    bytes('fpu_regs', 512),
    ...GPRS.map((n) => u64(n)),
    u64('rip'),
    u64('rflags'),
    ...['cr0', 'cr2', 'cr3', 'cr4'].map((n) => u64(n)),
    ...['dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7'].map((n) => u64(n)),
    ...SEGS.map((n) => u32(`${n}_sel`)),
    ...[...SEGS, 'idtr', 'gdtr'].map((n) => u32(`${n}_limit`)),
    ...[...SEGS, 'idtr', 'gdtr'].map((n) => u64(`${n}_base`)),
    ...SEGS.map((n) => u32(`${n}_arbytes`)),
    u64('sysenter_cs'),
    u64('sysenter_esp'),
    u64('sysenter_eip'),
    u64('shadow_gs'),
    ...['msr_flags', 'msr_lstar', 'msr_star', 'msr_cstar', 'msr_syscall_mask', 'msr_efer'].map((n) => u64(n)),
    ...(variant === 'compat' ? [] : [u64('msr_tsc_aux')]),
    u64('tsc'),
    u32('pending_event'),
    u32('error_code'),
    ...(variant === '4.7' || variant === '4.17' ? [u32('flags'), u32('_pad0')] : []),
    ...(variant === '4.17' ? [struct('vmx', [u32('activity_state'), u32('interruptibility_info'), u64('pending_dbg')])] : []),
  ];
}

const PIT_CHANNEL: Layout = [u32('count'), u16('latched_count'), ...['count_latched', 'status_latched', 'status', 'read_state', 'write_state', 'write_latch', 'rw_mode', 'mode', 'bcd', 'gate'].map((n) => u8(n))];

const HPET: Layout = [
  u64('capability'),
  u64('_res0'),
  u64('config'),
  u64('_res1'),
  u64('isr'),
  array(u64('_res2'), 25),
  u64('mc64'),
  u64('_res3'),
  struct('timers', [u64('config'), u64('cmp'), u64('fsb'), u64('_res4')], 3),
  array(u64('_res5'), 4 * 21),
  array(u64('period'), 3),
];

const VIRIDIAN_VCPU: Layout = [u64('vp_assist_msr'), u8('apic_assist_pending'), bytes('_pad', 7), u64('simp_msr'), array(u64('sint_msr'), 16), array(u64('stimer_config_msr'), 4), array(u64('stimer_count_msr'), 4)];

export interface HvmSaveType {
  name: string;
  /** Layouts by payload size, for records whose size changed between releases; `any` for the rest. */
  layouts: { size: number | 'any'; layout: Layout; release?: string }[];
  /** One record per vCPU (the instance is the vCPU id). */
  perVcpu?: boolean;
}

const fixed = (name: string, layout: Layout, perVcpu = false): HvmSaveType => ({ name, layouts: [{ size: layoutSize(layout), layout }], perVcpu });

export const HVM_SAVE_TYPES: Readonly<Record<number, HvmSaveType>> = {
  0: { name: 'END', layouts: [{ size: 0, layout: [] }] },
  1: fixed('HEADER', [u32('magic'), u32('version'), u64('changeset'), u32('cpuid'), u32('gtsc_khz')]),
  2: {
    name: 'CPU',
    perVcpu: true,
    layouts: [
      { size: layoutSize(hvmCpu('compat')), layout: hvmCpu('compat'), release: 'before Xen 3.4 (no msr_tsc_aux)' },
      { size: layoutSize(hvmCpu('3.4')), layout: hvmCpu('3.4'), release: 'Xen 3.4-4.6' },
      { size: layoutSize(hvmCpu('4.7')), layout: hvmCpu('4.7'), release: 'Xen 4.7-4.16' },
      { size: layoutSize(hvmCpu('4.17')), layout: hvmCpu('4.17'), release: 'Xen 4.17+' },
    ],
  },
  3: fixed('PIC', [u8('irr'), u8('imr'), u8('isr'), u8('irq_base'), u8('init_state:4|priority_add:4'), u8('readsel_isr|poll|auto_eoi|rotate_on_auto_eoi|special_fully_nested_mode|special_mask_mode|is_master'), u8('elcr'), u8('int_output')]),
  4: {
    name: 'IOAPIC',
    layouts: [
      { size: 16 + 48 * 8, layout: [u64('base_address'), u32('ioregsel'), u32('id'), array(u64('redirtbl'), 48)] },
      { size: 16 + 24 * 8, layout: [u64('base_address'), u32('ioregsel'), u32('id'), array(u64('redirtbl'), 24)], release: 'with 24 pins' },
    ],
  },
  5: {
    name: 'LAPIC',
    perVcpu: true,
    layouts: [
      { size: 16, layout: [u64('apic_base_msr'), u32('disabled'), u32('timer_divisor')], release: 'before TSC deadline' },
      { size: 24, layout: [u64('apic_base_msr'), u32('disabled'), u32('timer_divisor'), u64('tdt_msr')] },
    ],
  },
  6: fixed('LAPIC_REGS', [bytes('data', 1024)], true),
  7: fixed('PCI_IRQ', [array(u64('pad'), 2)]),
  8: fixed('ISA_IRQ', [u64('pad')]),
  9: fixed('PCI_LINK', [array(u8('route'), 4), bytes('_pad0', 4)]),
  10: fixed('PIT', [struct('channels', PIT_CHANNEL, 3), u32('speaker_data_on'), u32('_pad0')]),
  11: fixed('RTC', [bytes('cmos_data', 14), u8('cmos_index'), u8('_pad0')]),
  12: fixed('HPET', HPET),
  13: fixed('PMTIMER', [u32('tmr_val'), u16('pm1a_sts'), u16('pm1a_en')]),
  14: fixed('MTRR', [u64('msr_pat_cr'), array(u64('msr_mtrr_var'), 16), array(u64('msr_mtrr_fixed'), 11), u64('msr_mtrr_cap'), u64('msr_mtrr_def_type')], true),
  15: {
    name: 'VIRIDIAN_DOMAIN',
    layouts: [
      { size: 16, layout: [u64('hypercall_gpa'), u64('guest_os_id')], release: 'before Xen 4.4' },
      { size: 32, layout: [u64('hypercall_gpa'), u64('guest_os_id'), u64('time_ref_count'), u64('reference_tsc')] },
    ],
  },
  16: { name: 'CPU_XSAVE', perVcpu: true, layouts: [{ size: 'any', layout: [u64('xfeature_mask'), u64('xcr0'), u64('xcr0_accum'), bytes('fpu_sse', 512), struct('xsave_hdr', [u64('xstate_bv'), u64('xcomp_bv'), array(u64('reserved'), 6)])] }] },
  17: {
    name: 'VIRIDIAN_VCPU',
    perVcpu: true,
    layouts: [
      { size: 16, layout: [u64('vp_assist_msr'), u8('apic_assist_pending'), bytes('_pad', 7)], release: 'before Xen 4.12' },
      { size: layoutSize(VIRIDIAN_VCPU), layout: VIRIDIAN_VCPU },
    ],
  },
  18: {
    name: 'VMCE_VCPU',
    perVcpu: true,
    layouts: [
      { size: 24, layout: [u64('caps'), u64('mci_ctl2_bank0'), u64('mci_ctl2_bank1')], release: 'before LMCE' },
      { size: 32, layout: [u64('caps'), u64('mci_ctl2_bank0'), u64('mci_ctl2_bank1'), u64('mcg_ext_ctl')] },
    ],
  },
  19: fixed('TSC_ADJUST', [u64('tsc_adjust')], true),
  20: { name: 'CPU_MSR', perVcpu: true, layouts: [{ size: 'any', layout: [u32('count'), u32('_rsvd')] }] },
};

export interface HvmSaveRecord {
  /** File offset of the descriptor. */
  offset: number;
  typecode: number;
  instance: number;
  length: number;
  name: string;
  /** The payload runs past the blob. */
  cut?: boolean;
}

export interface HvmContext {
  records: HvmSaveRecord[];
  findings: (Finding & { offset: number })[];
  /** The HEADER record's values. */
  header?: { magic: number; version: number; changeset: bigint; cpuid: number; gtscKhz: number };
  /** vCPUs with a CPU record. */
  vcpus: number[];
}

/** Splits an HVM context blob (`blob` read from file offset `base`) into its save records and checks the chain. */
export function splitHvmContext(blob: Uint8Array, base: number): HvmContext {
  const b = new XenBytes(blob, true);
  const out: HvmContext = { records: [], findings: [], vcpus: [] };
  const issue = (offset: number, f: Finding) => out.findings.push({ ...f, offset });
  let pos = 0;
  let sawEnd = false;
  while (pos + HVM_DESCRIPTOR_BYTES <= blob.length) {
    const typecode = b.u16(pos);
    const instance = b.u16(pos + 2);
    const length = b.u32(pos + 4);
    const type = HVM_SAVE_TYPES[typecode];
    const rec: HvmSaveRecord = { offset: base + pos, typecode, instance, length, name: type?.name ?? `type ${typecode}` };
    out.records.push(rec);
    const payload = pos + HVM_DESCRIPTOR_BYTES;
    if (payload + length > blob.length) {
      rec.cut = true;
      issue(base + pos, { severity: 'error', code: 'xen-hvm-context', length: blob.length - pos, expected: `${length} payload bytes of ${rec.name}`, found: `${blob.length - payload} bytes left in the blob`, message: `HVM save record ${rec.name} runs past the end of the HVM context`, hint: 'Xen refuses the context ("HVM restore: not enough data left").' });
      break;
    }
    if (out.records.length === 1 && typecode !== 1) {
      issue(base + pos, { severity: 'error', code: 'xen-hvm-context', length: 8, expected: 'the HEADER save record first', found: rec.name, message: 'HVM context does not start with its header', hint: 'Xen checks the header before anything else (hvm_load: "HVM restore: could not read header").' });
    }
    if (!type) {
      issue(base + pos, { severity: 'error', code: 'xen-hvm-context', length: 8 + length, expected: 'an HVM save type of save.h (0-20)', found: `typecode ${typecode}`, message: `Unknown HVM save record type ${typecode}`, hint: 'Xen refuses it ("HVM restore: unsupported type").' });
    } else if (typecode === 0) {
      if (length !== 0) issue(base + pos, { severity: 'error', code: 'xen-hvm-context', at: 4, length: 4, expected: 'an END save record of length 0', found: `${length}`, message: 'HVM context END with a payload' });
      sawEnd = true;
      pos = payload + length;
      break;
    } else {
      const sizes = type.layouts.map((l) => l.size);
      if (!sizes.includes('any') && !sizes.includes(length)) {
        issue(base + pos, { severity: 'warning', code: 'xen-hvm-context-size', at: 4, length: 4, expected: `${type.name} of ${sizes.join(' or ')} bytes`, found: `${length} bytes`, message: `HVM save record ${type.name} of a size no Xen release writes`, hint: 'Xen refuses records whose size does not match its own struct.' });
      }
      if (typecode === 1 && length >= 24) {
        out.header = { magic: b.u32(payload), version: b.u32(payload + 4), changeset: b.u64big(payload + 8), cpuid: b.u32(payload + 16), gtscKhz: b.u32(payload + 20) };
        if (out.header.magic !== HVM_FILE_MAGIC) issue(base + payload, { severity: 'error', code: 'xen-hvm-context', length: 4, expected: `HVM_FILE_MAGIC 0x${HVM_FILE_MAGIC.toString(16)}`, found: `0x${out.header.magic.toString(16)}`, message: 'Bad HVM context magic', hint: 'Xen refuses the context ("HVM restore: bad magic number").' });
        if (out.header.version !== 1) issue(base + payload + 4, { severity: 'error', code: 'xen-hvm-context', length: 4, expected: 'HVM_FILE_VERSION 1', found: `${out.header.version}`, message: 'Unknown HVM context version' });
      }
      if (typecode === 2 && !out.vcpus.includes(instance)) out.vcpus.push(instance);
      if (typecode === 20 && length >= 8 && 8 + 16 * b.u32(payload) !== length) {
        issue(base + pos, { severity: 'error', code: 'xen-hvm-context', at: 8, length: 4, expected: `8 + 16 × count bytes`, found: `count ${b.u32(payload)}, ${length} bytes`, message: 'CPU_MSR record size does not match its count' });
      }
    }
    pos = payload + length;
  }
  if (!sawEnd && !out.records.some((r) => r.cut)) {
    issue(base + pos, { severity: 'error', code: 'xen-hvm-context', expected: 'an END save record (typecode 0) closing the HVM context', found: pos < blob.length ? `${blob.length - pos} stray bytes` : 'the end of the blob', message: 'HVM context without an END save record' });
  } else if (sawEnd && pos < blob.length) {
    issue(base + pos, { severity: 'warning', code: 'xen-hvm-context', length: blob.length - pos, expected: 'nothing after the END save record', found: `${blob.length - pos} bytes`, message: 'Data after the HVM context END record' });
  }
  out.vcpus.sort((a, b2) => a - b2);
  return out;
}

/** The decoded fields of one save record (payload only). */
export function decodeHvmSaveRecord(blob: Uint8Array, base: number, rec: HvmSaveRecord): FieldNode[] {
  const start = rec.offset - base + HVM_DESCRIPTOR_BYTES;
  const payload = blob.subarray(start, Math.min(blob.length, start + rec.length));
  const type = HVM_SAVE_TYPES[rec.typecode];
  if (!type) return [rawNode('payload', payload, rec.offset + HVM_DESCRIPTOR_BYTES)];
  const choice = type.layouts.find((l) => l.size === payload.length) ?? type.layouts.find((l) => l.size === 'any') ?? type.layouts[type.layouts.length - 1];
  const { nodes, consumed } = decodeLayout(payload, rec.offset + HVM_DESCRIPTOR_BYTES, choice.layout, true);
  if (rec.typecode === 20 && payload.length >= 8) {
    const count = Math.min(new XenBytes(payload, true).u32(0), Math.floor((payload.length - 8) / 16));
    const msrs = decodeLayout(payload.subarray(8), rec.offset + HVM_DESCRIPTOR_BYTES + 8, [struct('msr', [u32('index'), u32('_rsvd'), u64('val')], count)], true);
    nodes.push(...msrs.nodes);
    return appendRest(nodes, payload, 8 + msrs.consumed, rec.offset + HVM_DESCRIPTOR_BYTES);
  }
  return appendRest(nodes, payload, consumed, rec.offset + HVM_DESCRIPTOR_BYTES);
}

export const HVM_DESCRIPTOR: Layout = [u16('typecode'), u16('instance'), u32('length')];

function appendRest(nodes: FieldNode[], payload: Uint8Array, consumed: number, base: number): FieldNode[] {
  if (consumed < payload.length) nodes.push(rawNode('_rest', payload.subarray(consumed), base + consumed));
  return nodes;
}

function rawNode(name: string, b: Uint8Array, offset: number): FieldNode {
  return decodeLayout(b, offset, [bytes(name, b.length)], true).nodes[0];
}

/** Whether the guest ran in long mode when saved (EFER.LMA of vCPU 0's CPU record). */
export function longModeOf(blob: Uint8Array, base: number, ctx: HvmContext): boolean | undefined {
  const cpu = ctx.records.find((r) => r.typecode === 2 && r.instance === (ctx.vcpus[0] ?? 0) && !r.cut);
  if (!cpu) return undefined;
  const nodes = decodeHvmSaveRecord(blob, base, cpu);
  const efer = nodes.find((n) => n.name === 'msr_efer')?.value;
  return efer?.kind === 'int' ? (BigInt(efer.hex) & (1n << 10n)) !== 0n : undefined;
}
