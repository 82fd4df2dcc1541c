import type { QemuStreamModel } from '../qemu/model';
import { machineFamily, type MemoryRegion } from './layout';

/**
 * An ELF core of guest-physical memory, the way QEMU's dump-guest-memory (paging off)
 * and crash-style tools lay it out, and what Volatility 3's ELF layer reads: ET_CORE,
 * one PT_LOAD per mapped region with p_paddr = guest-physical address (p_vaddr 0, as
 * QEMU writes without paging), p_filesz = p_memsz, segment data at page-aligned file
 * offsets. No PT_NOTE: the CPU state lives in the stream's device sections, not here.
 */
const ELF_HEADER = 64;
const PHDR = 56;
const ALIGN = 4096;
const PT_LOAD = 1;
const PF_X = 1;
const PF_W = 2;
const PF_R = 4;

/**
 * e_machine by machine family (ELF ABI numbers). arm virt runs 32-bit (arm) or 64-bit
 * (aarch64) guests with the same block list and vmdesc; EM_ARM is written for both, which
 * physical-address readers ignore.
 */
const E_MACHINE: Record<string, number> = { pc: 62, q35: 62, 'arm-virt': 40, 'riscv-virt': 243, s390x: 22 };

export interface ElfCoreHeader {
  bytes: Uint8Array;
  /** File offset of each region's data, in region order. */
  dataOffsets: number[];
  fileSize: number;
}

export function elfCoreHeader(model: QemuStreamModel, regions: readonly MemoryRegion[]): ElfCoreHeader {
  const family = machineFamily(model);
  const bigEndian = family === 's390x';
  const eMachine = E_MACHINE[family ?? ''] ?? 0;
  const headerSize = ELF_HEADER + regions.length * PHDR;
  const bytes = new Uint8Array(headerSize);
  const v = new DataView(bytes.buffer);
  const le = !bigEndian;
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, bigEndian ? 2 : 1, 1 /* EV_CURRENT */]);
  v.setUint16(16, 4, le); // ET_CORE
  v.setUint16(18, eMachine, le);
  v.setUint32(20, 1, le);
  v.setBigUint64(32, BigInt(ELF_HEADER), le); // e_phoff
  v.setUint16(52, ELF_HEADER, le);
  v.setUint16(54, PHDR, le);
  v.setUint16(56, regions.length, le);
  v.setUint16(58, 64, le); // e_shentsize (no sections)
  const dataOffsets: number[] = [];
  let at = Math.ceil(headerSize / ALIGN) * ALIGN;
  regions.forEach((r, i) => {
    const p = ELF_HEADER + i * PHDR;
    v.setUint32(p, PT_LOAD, le);
    v.setUint32(p + 4, r.readOnly ? PF_R | PF_X : PF_R | PF_W | PF_X, le);
    v.setBigUint64(p + 8, BigInt(at), le);
    v.setBigUint64(p + 16, 0n, le); // p_vaddr
    v.setBigUint64(p + 24, BigInt(r.gpa), le); // p_paddr
    v.setBigUint64(p + 32, BigInt(r.size), le);
    v.setBigUint64(p + 40, BigInt(r.size), le);
    v.setBigUint64(p + 48, BigInt(ALIGN), le);
    dataOffsets.push(at);
    at = Math.ceil((at + r.size) / ALIGN) * ALIGN;
  });
  return { bytes, dataOffsets, fileSize: dataOffsets.length ? dataOffsets[dataOffsets.length - 1] + regions[regions.length - 1].size : headerSize };
}

