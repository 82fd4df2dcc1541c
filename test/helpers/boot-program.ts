import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Tiny guests for real QEMU: x86 assembly (GNU as, Intel syntax) assembled at test time
 * into a raw disk whose boot sector loads the rest of the program and jumps to `main`
 * (real mode, at 0x7e00). binutils is a CI dependency (.ci/run).
 *
 * Every program reports progress through a marker dword at guest-physical MARKER_GPA
 * ("done with step N" = MARKER_BASE + N), which the test reads with HMP `xp`.
 */
export const MARKER_GPA = 0x600;
export const MARKER_BASE = 0x5c4ee000;

export function haveAssembler(): boolean {
  return spawnSync('as', ['--version']).status === 0 && spawnSync('ld', ['--version']).status === 0;
}

/** The boot sector: stack, load 48 sectors after it by LBA (int 13h AH=42h), jump to main. */
const BOOT = `
  .code16
  .intel_syntax noprefix
  .section .text
  .globl _start
_start:
  cli
  xor ax, ax
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov sp, 0x7c00
  sti
  mov si, offset dap
  mov ah, 0x42
  int 0x13
  jc 1f
  jmp main
1:
  hlt
  jmp 1b
  .p2align 2
dap:
  .byte 16, 0
  .word 48
  .word 0x7e00, 0
  .quad 1
  .org 510
  .byte 0x55, 0xaa

/* signal(step in ax): the marker dword at 0x600 becomes MARKER_BASE + step. */
signal:
  push eax
  movzx eax, ax
  add eax, ${MARKER_BASE}
  mov dword ptr [${MARKER_GPA}], eax
  pop eax
  ret

/* wait_key: until the test sends a key (BIOS int 16h). */
wait_key:
  xor ah, ah
  int 0x16
  ret

/* halt forever */
halt:
  cli
1:
  hlt
  jmp 1b

/*
 * unreal: FS gets a flat 4 GiB data segment while staying in real mode (a protected-mode
 * round trip loads the limit into the hidden descriptor cache), so fs:[edi] reaches
 * framebuffers above 1 MiB. BIOS calls may reload FS, so call it again after them.
 */
unreal:
  cli
  push ds
  lgdt [gdt_ptr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp 2f
2:
  mov bx, 8
  mov fs, bx
  and al, 0xfe
  mov cr0, eax
  pop ds
  sti
  ret
  .p2align 3
gdt:
  .quad 0
  .quad 0x00cf92000000ffff
gdt_ptr:
  .word gdt_ptr - gdt - 1
  .long gdt

/* pci_read(eax = 0x80000000 | bdf << 8 | reg) -> eax */
pci_read:
  push dx
  mov dx, 0xcf8
  out dx, eax
  mov dx, 0xcfc
  in eax, dx
  pop dx
  ret

/* pci_write(eax = address, ebx = value) */
pci_write:
  push dx
  mov dx, 0xcf8
  out dx, eax
  mov dx, 0xcfc
  mov eax, ebx
  out dx, eax
  pop dx
  ret

/*
 * fill(edi = linear address, ecx = dwords): a pattern in which every byte differs from its
 * neighbours (multiplicative hash of the dword index), so every bit of every pixel counts.
 */
fill:
  push ebx
  xor ebx, ebx
1:
  mov eax, ebx
  imul eax, eax, 0x9e3779b1
  rol eax, 13
  xor eax, ebx
  mov dword ptr fs:[edi], eax
  add edi, 4
  inc ebx
  cmp ebx, ecx
  jb 1b
  pop ebx
  ret
`;

/** Assembles BOOT + `program` (which defines main) into a raw disk image in `dir`; returns its path. */
export function buildBootDisk(dir: string, name: string, program: string): string {
  const src = path.join(dir, `${name}.S`);
  const obj = path.join(dir, `${name}.o`);
  const bin = path.join(dir, `${name}.img`);
  fs.writeFileSync(src, BOOT + program);
  run('as', ['--32', '-o', obj, src]);
  run('ld', ['-m', 'elf_i386', '-Ttext', '0x7c00', '--oformat', 'binary', '-o', bin, obj]);
  const size = fs.statSync(bin).size;
  if (size > 49 * 512) throw new Error(`${name}: the program is ${size} bytes, more than the boot sector loads`);
  // A whole number of 64 KiB, so every firmware sees a plausible disk.
  fs.truncateSync(bin, 64 * 1024);
  return bin;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes a guest's folder after its tests, or, with MIGWB_KEEP_SCREENS=1, keeps it for a look and prints where. */
export function removeGuestFolder(dir: string | undefined): void {
  if (process.env.MIGWB_KEEP_SCREENS) console.log(`images kept in ${dir}`);
  else if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
