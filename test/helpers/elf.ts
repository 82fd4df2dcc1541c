import * as fs from 'node:fs';

export interface LoadSegment {
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  flags: number;
}

/** An ELF file's header and program header table, with readers in its byte order. */
interface ElfProgramHeaders {
  is64: boolean;
  head: Buffer;
  table: Buffer;
  phnum: number;
  phentsize: number;
  u16(b: Buffer, at: number): number;
  u32(b: Buffer, at: number): number;
  u64(b: Buffer, at: number): number;
}

function readProgramHeaders(file: string): ElfProgramHeaders {
  const head = readRange(file, 0, 64);
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`);
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (b: Buffer, at: number) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const u64 = (b: Buffer, at: number) => Number(le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
  const phoff = is64 ? u64(head, 32) : u32(head, 28);
  const phentsize = u16(head, is64 ? 54 : 42);
  const phnum = u16(head, is64 ? 56 : 44);
  return { is64, head, table: readRange(file, phoff, phentsize * phnum), phnum, phentsize, u16, u32, u64 };
}

/** The ELF header facts and PT_LOAD segments of an ELF64 or ELF32 file (QEMU's dump-guest-memory writes either). */
export function readElfLoads(file: string): { class: 32 | 64; type: number; machine: number; loads: LoadSegment[] } {
  const { is64, head, table, phnum, phentsize, u16, u32, u64 } = readProgramHeaders(file);
  const loads: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = i * phentsize;
    if (u32(table, p) !== 1) continue;
    loads.push(
      is64
        ? { flags: u32(table, p + 4), offset: u64(table, p + 8), vaddr: u64(table, p + 16), paddr: u64(table, p + 24), filesz: u64(table, p + 32), memsz: u64(table, p + 40) }
        : { offset: u32(table, p + 4), vaddr: u32(table, p + 8), paddr: u32(table, p + 12), filesz: u32(table, p + 16), memsz: u32(table, p + 20), flags: u32(table, p + 24) },
    );
  }
  return { class: is64 ? 64 : 32, type: u16(head, 16), machine: u16(head, 18), loads };
}

/** Bytes [offset, offset + length) of a file. */
export function readRange(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const out = Buffer.alloc(length);
    const got = fs.readSync(fd, out, 0, length, offset);
    return out.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

export interface ElfNoteRecord {
  name: string;
  type: number;
  desc: Buffer;
}

/** Every note of every PT_NOTE segment, in file order. */
export function readElfNotes(file: string): ElfNoteRecord[] {
  const { is64, table, phnum, phentsize, u32, u64 } = readProgramHeaders(file);
  const notes: ElfNoteRecord[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = i * phentsize;
    if (u32(table, p) !== 4) continue;
    const [offset, size] = is64 ? [u64(table, p + 8), u64(table, p + 32)] : [u32(table, p + 4), u32(table, p + 16)];
    const data = readRange(file, offset, size);
    for (let at = 0; at + 12 <= data.length; ) {
      const namesz = u32(data, at);
      const descsz = u32(data, at + 4);
      const type = u32(data, at + 8);
      const name = data.subarray(at + 12, at + 12 + namesz).toString('latin1').replace(/\0+$/, '');
      const descAt = at + 12 + Math.ceil(namesz / 4) * 4;
      notes.push({ name, type, desc: Buffer.from(data.subarray(descAt, descAt + descsz)) });
      at = descAt + Math.ceil(descsz / 4) * 4;
    }
  }
  return notes;
}
