import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { decodeSection } from '../formats/qemu-stream/section-decoder';
import type { FieldNode } from '../formats/qemu-stream/vmstate-decode';
import { cpuStates, EM_X86_64, encodeNotes, NT_PRSTATUS, x86Machine, x86Notes } from './cpu-notes';
import { machineFamily, type MemoryRegion } from './layout';

/**
 * An ELF core of guest-physical memory laid out as QEMU's dump-guest-memory writes it
 * without paging, which is what Volatility 3's ELF layer and crash read: ET_CORE, one
 * PT_LOAD per mapped region with p_paddr = p_vaddr = guest-physical address,
 * p_filesz = p_memsz, segment data at page-aligned file offsets. ELF32 for 32-bit Arm
 * guests (as QEMU does), ELF64 otherwise. For x86 guests a PT_NOTE comes first with the
 * notes QEMU writes (NT_PRSTATUS and QEMUCPUState per vCPU, cpu-notes.ts), and the ELF
 * machine is QEMU's: x86-64 when the first vCPU is in long mode, else i386.
 */
const ALIGN = 4096;
const PT_LOAD = 1;
const PT_NOTE = 4;
const PF_X = 1;
const PF_W = 2;
const PF_R = 4;
const EM_ARM = 40;
const EM_AARCH64 = 183;
/** e_machine by machine family (ELF ABI numbers). */
const E_MACHINE: Record<string, number> = { 'riscv-virt': 243, s390x: 22 };
/** CPSR.M[4]: set in AArch32 state, clear in AArch64 (QEMU saves PSTATE in the same field). */
const CPSR_AARCH32 = 0x10;

export interface ElfArch {
  class: 32 | 64;
  machine: number;
  bigEndian: boolean;
}

/** What goes into a core of this image: the ELF class and machine, and the PT_NOTE contents. */
export interface ElfCoreContents {
  arch: ElfArch;
  /** Encoded notes (empty when the target has none). */
  notes: Uint8Array;
  /** The notes' owners and types, for reports ("CORE NT_PRSTATUS × 2, QEMU × 2"). */
  noteSummary: string[];
}

/** The ELF class, machine and notes of a core of `model`'s guest memory. */
export function elfCoreContents(source: ByteSource, model: QemuStreamModel, regions: readonly MemoryRegion[]): ElfCoreContents {
  const family = machineFamily(model);
  if (family === 'pc' || family === 'q35') {
    const cpus = cpuStates(source, model);
    const machine = x86Machine(cpus);
    // dump.c: ELF64 in long mode, or when guest memory reaches past 4 GiB (pc.bios ends exactly there).
    const wide = machine === EM_X86_64 || regions.some((r) => r.gpa + r.size > 0xffffffff);
    const notes = x86Notes(cpus);
    return { arch: { class: wide ? 64 : 32, machine, bigEndian: false }, notes: encodeNotes(notes, false), noteSummary: notes.map((n) => `${n.name} ${n.type === NT_PRSTATUS ? 'NT_PRSTATUS' : n.type}`) };
  }
  return { arch: elfArchOf(source, model, regions), notes: new Uint8Array(0), noteSummary: [] };
}

export interface ElfCoreHeader {
  bytes: Uint8Array;
  /** File offset of each region's data, in region order. */
  dataOffsets: number[];
  fileSize: number;
}

/** The ELF class and machine for a stream's guest; arm virt is told apart by its CPU state. */
export function elfArchOf(source: ByteSource, model: QemuStreamModel, regions: readonly MemoryRegion[]): ElfArch {
  const family = machineFamily(model);
  if (family === 'arm-virt') {
    const aarch32 = cpuInAarch32(source, model);
    const below4g = regions.every((r) => r.gpa + r.size <= 2 ** 32);
    return { class: aarch32 && below4g ? 32 : 64, machine: aarch32 ? EM_ARM : EM_AARCH64, bigEndian: false };
  }
  return { class: 64, machine: E_MACHINE[family ?? ''] ?? 0, bigEndian: family === 's390x' };
}

function cpuInAarch32(source: ByteSource, model: QemuStreamModel): boolean {
  const cpu = model.elements.find((e) => e.type === 'FULL' && e.idstr === 'cpu');
  const node = cpu && findNode(decodeSection(source, model, cpu).nodes, 'cpsr');
  // The "cpsr" vmstate type is a be32 the vmdesc does not call an integer: decoded as bytes.
  const value = node?.value?.kind === 'int' ? Number(node.value.dec) : node?.value?.kind === 'bytes' ? parseInt(node.value.hex.replace(/\s/g, ''), 16) : NaN;
  return Number.isFinite(value) && (value & CPSR_AARCH32) !== 0;
}

function findNode(nodes: FieldNode[], name: string): FieldNode | undefined {
  for (const n of nodes) if (n.name === name) return n;
  return undefined;
}

export function elfCoreHeader(arch: ElfArch, regions: readonly Pick<MemoryRegion, 'gpa' | 'size' | 'readOnly'>[], notes: Uint8Array = new Uint8Array(0)): ElfCoreHeader {
  const is64 = arch.class === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phnum = regions.length + (notes.length ? 1 : 0);
  // As QEMU lays it out: the PT_NOTE header first, the notes right after the program headers.
  const noteOffset = ehsize + phnum * phentsize;
  const headerSize = noteOffset + notes.length;
  const bytes = new Uint8Array(headerSize);
  const v = new DataView(bytes.buffer);
  const le = !arch.bigEndian;
  const word = (at: number, value: number) => (is64 ? v.setBigUint64(at, BigInt(value), le) : v.setUint32(at, value, le));
  bytes.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, arch.bigEndian ? 2 : 1, 1 /* EV_CURRENT */]);
  v.setUint16(16, 4, le); // ET_CORE
  v.setUint16(18, arch.machine, le);
  v.setUint32(20, 1, le);
  word(is64 ? 32 : 28, ehsize); // e_phoff
  v.setUint16(is64 ? 52 : 40, ehsize, le);
  v.setUint16(is64 ? 54 : 42, phentsize, le);
  v.setUint16(is64 ? 56 : 44, phnum, le);
  v.setUint16(is64 ? 58 : 46, is64 ? 64 : 40, le); // e_shentsize (no sections)
  const first = notes.length ? 1 : 0;
  if (notes.length) {
    // p_vaddr = p_paddr = 0, p_flags = 0, p_align = 0, as dump.c's prepare_elf*_phdr_note.
    v.setUint32(ehsize, PT_NOTE, le);
    if (is64) [noteOffset, 0, 0, notes.length, notes.length].forEach((x, k) => word(ehsize + 8 + 8 * k, x));
    else [noteOffset, 0, 0, notes.length, notes.length].forEach((x, k) => word(ehsize + 4 + 4 * k, x));
    bytes.set(notes, noteOffset);
  }
  const dataOffsets: number[] = [];
  let at = Math.ceil(headerSize / ALIGN) * ALIGN;
  regions.forEach((r, i) => {
    const p = ehsize + (first + i) * phentsize;
    const flags = r.readOnly ? PF_R | PF_X : PF_R | PF_W | PF_X;
    v.setUint32(p, PT_LOAD, le);
    if (is64) {
      v.setUint32(p + 4, flags, le);
      [at, r.gpa, r.gpa, r.size, r.size, ALIGN].forEach((x, k) => word(p + 8 + 8 * k, x));
    } else {
      [at, r.gpa, r.gpa, r.size, r.size].forEach((x, k) => word(p + 4 + 4 * k, x));
      v.setUint32(p + 24, flags, le);
      v.setUint32(p + 28, ALIGN, le);
    }
    dataOffsets.push(at);
    at = Math.ceil((at + r.size) / ALIGN) * ALIGN;
  });
  return { bytes, dataOffsets, fileSize: dataOffsets.length ? dataOffsets[dataOffsets.length - 1] + regions[regions.length - 1].size : headerSize };
}
