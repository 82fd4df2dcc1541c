import { fieldPaths } from '../edit/field-path';
import { CPU_IDSTR } from '../formats/qemu-stream/constants';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { decodeSection } from '../formats/qemu-stream/section-decoder';
import type { ByteSource } from '../io/byte-source';

/**
 * The PT_NOTE contents QEMU's dump-guest-memory writes, rebuilt from the image's "cpu"
 * sections (target/i386/arch_dump.c, dump/dump.c): one NT_PRSTATUS note per vCPU, then
 * one "QEMU" note (QEMUCPUState) per vCPU, in cpu_index order. crash, gdb and Volatility
 * find the CPU context there. x86 only: other targets get no notes yet.
 */
export interface ElfNote {
  name: string;
  type: number;
  desc: Uint8Array;
}

export const NT_PRSTATUS = 1;
export const EM_386 = 3;
export const EM_X86_64 = 62;

/** One vCPU's saved fields by their dump path ("env.regs[0]"), integers only. */
export interface CpuState {
  /** cpu_index: the section's instance id. */
  index: number;
  fields: Map<string, bigint>;
}

/** The integer fields of every "cpu" section, in cpu_index order (how QEMU walks its CPUs). */
export function cpuStates(source: ByteSource, model: QemuStreamModel): CpuState[] {
  return model.elements
    .filter((e) => e.type === 'FULL' && e.idstr === CPU_IDSTR && !e.damaged)
    .sort((a, b) => (a.instanceId ?? 0) - (b.instanceId ?? 0))
    .map((e) => {
      const fields = new Map<string, bigint>();
      for (const { path, node } of fieldPaths(decodeSection(source, model, e).nodes)) {
        if (node.value?.kind === 'int') fields.set(path, BigInt(node.value.hex));
      }
      return { index: e.instanceId ?? 0, fields };
    });
}

// ---------------------------------------------------------------- x86

/** target/i386/cpu.h */
const HF_LMA_MASK = 1n << 14n;
const CR0_PE_MASK = 1n;
const DESC_DPL_MASK = 3n << 13n;
enum Reg { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI }
enum Seg { ES, CS, SS, DS, FS, GS }

/** QEMUCPUState (arch_dump.c): version 1, 440 bytes on x86_64. */
const QEMU_CPUSTATE_VERSION = 1;
const QEMU_CPUSTATE_SIZE = 440;

interface X86Segment {
  selector: bigint;
  base: bigint;
  limit: bigint;
  flags: bigint;
}

/** The vCPU as QEMU holds it after loading the section (cpu_post_load's real-mode DPL fix applied). */
class X86Cpu {
  constructor(private readonly s: CpuState) {}

  get id(): number {
    return this.s.index + 1; // cpu_index(): QEMU numbers CPUs from 1 in dumps
  }

  private get(path: string): bigint {
    const v = this.s.fields.get(path);
    if (v === undefined) throw new Error(`the cpu section has no field ${path}`);
    return v;
  }

  private optional(path: string): bigint {
    return this.s.fields.get(path) ?? 0n;
  }

  reg(r: Reg | number): bigint {
    return this.get(`env.regs[${r}]`);
  }

  get rip(): bigint {
    return this.get('env.eip');
  }

  get rflags(): bigint {
    return this.get('env.eflags');
  }

  get longMode(): boolean {
    return (this.get('env.hflags') & HF_LMA_MASK) !== 0n;
  }

  /** CR1 is not migrated (it does not exist); QEMU holds 0. */
  cr(n: number): bigint {
    return n === 1 ? 0n : this.get(`env.cr[${n}]`);
  }

  segment(name: string): X86Segment {
    return { selector: this.get(`${name}.selector`), base: this.get(`${name}.base`), limit: this.get(`${name}.limit`), flags: this.get(`${name}.flags`) };
  }

  seg(i: Seg): X86Segment {
    const s = this.segment(`env.segs[${i}]`);
    // cpu_post_load: in real mode the data and code segments' DPL is cleared when CS has one.
    const cs = this.segment(`env.segs[${Seg.CS}]`);
    if ((this.cr(0) & CR0_PE_MASK) === 0n && (cs.flags & DESC_DPL_MASK) !== 0n) s.flags &= ~DESC_DPL_MASK;
    return s;
  }

  get kernelGsBase(): bigint {
    return this.optional('env.kernelgsbase');
  }
}

/** The ELF machine QEMU picks for an x86 guest: x86-64 when the first vCPU is in long mode. */
export function x86Machine(cpus: readonly CpuState[]): number {
  return cpus.length && new X86Cpu(cpus[0]).longMode ? EM_X86_64 : EM_386;
}

/** NT_PRSTATUS and QEMU notes for every vCPU, as dump-guest-memory writes them for an x86 guest. */
export function x86Notes(cpus: readonly CpuState[]): ElfNote[] {
  const all = cpus.map((s) => new X86Cpu(s));
  const longMode = all.length > 0 && all[0].longMode;
  return [...all.map((c) => ({ name: 'CORE', type: NT_PRSTATUS, desc: longMode ? x86_64Prstatus(c) : i386Prstatus(c) })), ...all.map((c) => ({ name: 'QEMU', type: 0, desc: qemuCpuState(c) }))];
}

/** x86_64_elf_prstatus: pad1[32], pid, pad2[76], x86_64_user_regs_struct (27 × u64), pad3[8]. */
function x86_64Prstatus(c: X86Cpu): Uint8Array {
  const w = new LeWriter(336);
  w.u32At(32, c.id);
  const s = (i: Seg) => c.seg(i);
  w.at(112);
  for (const r of [15, 14, 13, 12, Reg.EBP, Reg.EBX, 11, 10, 9, 8, Reg.EAX, Reg.ECX, Reg.EDX, Reg.ESI, Reg.EDI]) w.u64(c.reg(r));
  w.u64(0n); // orig_rax
  w.u64(c.rip);
  w.u64(s(Seg.CS).selector);
  w.u64(c.rflags);
  w.u64(c.reg(Reg.ESP));
  w.u64(s(Seg.SS).selector);
  w.u64(s(Seg.FS).base);
  w.u64(s(Seg.GS).base);
  for (const i of [Seg.DS, Seg.ES, Seg.FS, Seg.GS]) w.u64(s(i).selector);
  return w.bytes;
}

/** x86_elf_prstatus: pad1[24], pid, pad2[44], x86_user_regs_struct (32-bit registers, 16-bit selectors), pad3[4]. */
function i386Prstatus(c: X86Cpu): Uint8Array {
  const w = new LeWriter(144);
  w.u32At(24, c.id);
  const sel = (i: Seg) => Number(c.seg(i).selector & 0xffffn);
  const low = (v: bigint) => Number(v & 0xffffffffn);
  w.at(72);
  for (const r of [Reg.EBX, Reg.ECX, Reg.EDX, Reg.ESI, Reg.EDI, Reg.EBP, Reg.EAX]) w.u32(low(c.reg(r)));
  for (const i of [Seg.DS, Seg.ES, Seg.FS, Seg.GS]) w.u32(sel(i)); // each a u16 and its padding
  w.u32(0); // orig_eax
  w.u32(low(c.rip));
  w.u32(sel(Seg.CS));
  w.u32(low(c.rflags));
  w.u32(low(c.reg(Reg.ESP)));
  w.u32(sel(Seg.SS));
  return w.bytes;
}

/** QEMUCPUState: version, size, the general registers, rip, rflags, ten segments, cr0-cr4, kernel_gs_base. */
function qemuCpuState(c: X86Cpu): Uint8Array {
  const w = new LeWriter(QEMU_CPUSTATE_SIZE);
  w.u32(QEMU_CPUSTATE_VERSION);
  w.u32(QEMU_CPUSTATE_SIZE);
  for (const r of [Reg.EAX, Reg.EBX, Reg.ECX, Reg.EDX, Reg.ESI, Reg.EDI, Reg.ESP, Reg.EBP, 8, 9, 10, 11, 12, 13, 14, 15]) w.u64(c.reg(r));
  w.u64(c.rip);
  w.u64(c.rflags);
  const segments = [c.seg(Seg.CS), c.seg(Seg.DS), c.seg(Seg.ES), c.seg(Seg.FS), c.seg(Seg.GS), c.seg(Seg.SS), ...['env.ldt', 'env.tr', 'env.gdt', 'env.idt'].map((n) => c.segment(n))];
  for (const s of segments) {
    w.u32(Number(s.selector & 0xffffffffn));
    w.u32(Number(s.limit & 0xffffffffn));
    w.u32(Number(s.flags & 0xffffffffn));
    w.u32(0);
    w.u64(s.base);
  }
  for (let n = 0; n < 5; n++) w.u64(c.cr(n));
  w.u64(c.kernelGsBase);
  return w.bytes;
}

class LeWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  at(offset: number): void {
    this.pos = offset;
  }

  u32At(offset: number, v: number): void {
    this.view.setUint32(offset, v >>> 0, true);
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }

  u64(v: bigint): void {
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
  }
}

// ---------------------------------------------------------------- encoding

/** Elf32_Nhdr and Elf64_Nhdr are alike: namesz, descsz, type; name and desc each padded to 4 bytes. */
export function encodeNotes(notes: readonly ElfNote[], bigEndian: boolean): Uint8Array {
  const pad4 = (n: number) => Math.ceil(n / 4) * 4;
  const size = notes.reduce((n, note) => n + 12 + pad4(note.name.length + 1) + pad4(note.desc.length), 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let at = 0;
  for (const note of notes) {
    v.setUint32(at, note.name.length + 1, !bigEndian);
    v.setUint32(at + 4, note.desc.length, !bigEndian);
    v.setUint32(at + 8, note.type, !bigEndian);
    at += 12;
    for (let k = 0; k < note.name.length; k++) out[at + k] = note.name.charCodeAt(k);
    at += pad4(note.name.length + 1);
    out.set(note.desc, at);
    at += pad4(note.desc.length);
  }
  return out;
}
