import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractRam } from '../../electron/memory/extract';
import { openImage } from '../../electron/services/open-image';
import { migwb } from '../helpers/cli';
import { corpusPath, metaOf } from '../helpers/corpus';
import { readElfLoads, readElfNotes, type ElfNoteRecord } from '../helpers/elf';
import { tempFolder } from '../helpers/evidence';
import { haveQemu, loadInQemu, type QemuVersion } from '../helpers/qemu';

/**
 * The PT_NOTE of `extract-ram --format elf` against QEMU's own: each image is loaded in
 * QEMU, which writes a core with dump-guest-memory; the notes of both cores are compared
 * field by field (and as `readelf -n` lists them), and gdb reading our core shows the
 * registers QEMU's `info registers` shows.
 */
const haveGdb = spawnSync('gdb', ['--version']).status === 0;
const haveReadelf = spawnSync('readelf', ['--version']).status === 0;
const EM_386 = 3;
const EM_X86_64 = 62;

/** Independent decoders of the x86 note layouts (linux elf_prstatus, QEMU's QEMUCPUState). */
function decodeNote(note: ElfNoteRecord, machine: number): Record<string, string> {
  const d = note.desc;
  const hex = (v: bigint | number) => '0x' + v.toString(16);
  const out: Record<string, string> = { owner: note.name, type: String(note.type), size: String(d.length) };
  if (note.name === 'CORE' && machine === EM_X86_64) {
    out.pid = String(d.readUInt32LE(32));
    const names = ['r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi', 'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss', 'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs'];
    names.forEach((n, i) => (out[n] = hex(d.readBigUInt64LE(112 + 8 * i))));
  } else if (note.name === 'CORE') {
    out.pid = String(d.readUInt32LE(24));
    const words = ['ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'eax', 'ds', 'es', 'fs', 'gs', 'orig_eax', 'eip', 'cs', 'eflags', 'esp', 'ss'];
    words.forEach((n, i) => (out[n] = hex(d.readUInt32LE(72 + 4 * i))));
  } else if (note.name === 'QEMU') {
    out.version = String(d.readUInt32LE(0));
    out.struct_size = String(d.readUInt32LE(4));
    const regs = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags'];
    regs.forEach((n, i) => (out[n] = hex(d.readBigUInt64LE(8 + 8 * i))));
    ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'ldt', 'tr', 'gdt', 'idt'].forEach((s, i) => {
      const at = 152 + 24 * i;
      out[`${s}.selector`] = hex(d.readUInt32LE(at));
      out[`${s}.limit`] = hex(d.readUInt32LE(at + 4));
      out[`${s}.flags`] = hex(d.readUInt32LE(at + 8));
      out[`${s}.pad`] = hex(d.readUInt32LE(at + 12));
      out[`${s}.base`] = hex(d.readBigUInt64LE(at + 16));
    });
    for (let n = 0; n < 5; n++) out[`cr${n}`] = hex(d.readBigUInt64LE(392 + 8 * n));
    out.kernel_gs_base = hex(d.readBigUInt64LE(432));
  }
  return out;
}

/** `readelf -n` without the line giving the notes' file offset (the layouts differ there only). */
function readelfNotes(file: string): string {
  const r = spawnSync('readelf', ['-n', '--wide', file], { encoding: 'utf8' });
  return r.stdout.replace(/^Displaying notes found at file offset .*$/m, 'Displaying notes');
}

/** Registers gdb shows for a core: name → value. */
function gdbRegisters(core: string): Map<string, bigint> {
  const r = spawnSync('gdb', ['-batch', '-nx', '-c', core, '-ex', 'info registers'], { encoding: 'utf8', timeout: 60_000 });
  const regs = new Map<string, bigint>();
  for (const m of r.stdout.matchAll(/^(\w+)\s+(0x[0-9a-f]+)\s/gm)) regs.set(m[1], BigInt(m[2]));
  return regs;
}

/** QEMU's HMP `info registers`: general registers, RIP/EIP, EFL and segment selectors. */
function hmpRegisters(text: string): Map<string, bigint> {
  const regs = new Map<string, bigint>();
  for (const m of text.matchAll(/\b([RE](?:[A-D]X|SI|DI|BP|SP|IP)|R\d+|EFL|RFL)\s*=\s*([0-9a-f]+)/g)) regs.set(/FL$/.test(m[1]) ? 'eflags' : m[1].toLowerCase(), BigInt('0x' + m[2]));
  for (const m of text.matchAll(/^(ES|CS|SS|DS|FS|GS) =([0-9a-f]{4})/gm)) regs.set(m[1].toLowerCase(), BigInt('0x' + m[2]));
  return regs;
}

interface Case {
  version: QemuVersion;
  name: string;
  image: string;
  args: string[];
  files: string[];
  capabilities?: string[];
}

function corpusCase(version: QemuVersion, name: string): Case {
  const image = corpusPath(version === '7.2' ? 'qemu' : 'qemu10', `${name}.mig`);
  const meta = metaOf(image);
  const files = (meta.qemu_argv as string[]).flatMap((a) => [...a.matchAll(/file=([^,]+)/g)].map((m) => path.join(path.dirname(image), m[1])));
  return { version, name, image, args: meta.qemu_argv.slice(1), files, capabilities: meta.migration_capabilities };
}

const tmp = tempFolder('migwb-elf-notes-');

/** A vCPU in 64-bit long mode without an OS: the minimal image with LMA and CS64 set and distinctive registers (field edits). */
async function longModeCase(): Promise<Case> {
  const base = corpusCase('7.2', 'x86_64-pc-minimal-paused-16M');
  const image = path.join(tmp(), 'long-mode.mig');
  const journal = path.join(tmp(), 'long-mode.json');
  const fields = JSON.parse((await migwb('edit', base.image, '--fields', 'cpu', '--json')).out).fields;
  const hflags = Number.parseInt(fields.find((f: { path: string }) => f.path === 'env.hflags').value, 16);
  const edits = [
    // HF_LMA (bit 14) and HF_CS64 (bit 15), as a 64-bit guest has them; EFER.LME|LMA.
    `cpu.env.hflags=0x${(hflags | 0xc000).toString(16)}`,
    'cpu.env.efer=0x500',
    'cpu.env.regs[0]=0x1122334455667788',
    'cpu.env.regs[3]=0x0123456789abcdef',
    'cpu.env.regs[15]=0x8877665544332211',
    'cpu.env.eip=0xffffffff81000000',
    'cpu.env.kernelgsbase=0xffff888000001000',
  ];
  const r = await migwb('edit', base.image, '--journal', journal, ...edits.flatMap((e) => ['--set', e]));
  expect(r.code, r.err).toBe(0);
  expect((await migwb('apply', base.image, journal, '-o', image)).code).toBe(0);
  return { ...base, name: 'long-mode (edited minimal)', image };
}

const CASES: [QemuVersion, string, () => Promise<Case>][] = [
  ['7.2', 'pc, real mode (EM_386, the i386 prstatus)', async () => corpusCase('7.2', 'x86_64-pc-minimal-paused-16M')],
  ['7.2', 'pc, two vCPUs after SeaBIOS ran', async () => corpusCase('7.2', 'x86_64-pc-smp2-running-32M')],
  ['7.2', 'q35 after SeaBIOS ran', async () => corpusCase('7.2', 'x86_64-q35-minimal-running-32M')],
  ['10.0', 'q35 saved and loaded by QEMU 10.0', async () => corpusCase('10.0', 'x86_64-q35-e1000-payload-paused-32M')],
  ['7.2', 'x86-64 long mode set by field edits (EM_X86_64, the x86_64 prstatus)', longModeCase],
];

describe.skipIf(!haveReadelf)('extract-ram --format elf writes the CPU notes QEMU writes (x86)', () => {
  for (const [version, title, make] of CASES) {
    it.skipIf(!haveQemu(version))(`${title} (QEMU ${version}; skipped without it): notes equal field by field, readelf -n lists the same, gdb shows QEMU's registers`, async () => {
    const c = await make();
    const dir = tmp();
    const img = openImage(c.image);
    const result = extractRam(img, { outDir: path.join(dir, c.name.replace(/\W+/g, '_')), layout: 'physical', format: 'elf' });
    img.close();
    const ours = result.files[0].path;
    const r = await loadInQemu({ version: c.version, image: c.image, args: c.args, files: c.files, capabilities: c.capabilities });
    expect(r.loaded, r.stderr.join('\n')).toBe(true);
    let hmp = '';
    const theirs = path.join(dir, `${c.name.replace(/\W+/g, '_')}.qemu.core`);
    try {
      hmp = await r.qmp!.hmp('info registers -a');
      await r.qmp!.execute('dump-guest-memory', { paging: false, protocol: `file:${theirs}` });
    } finally {
      await r.quit();
    }
    const ourElf = readElfLoads(ours);
    const qemuElf = readElfLoads(theirs);
    expect([ourElf.class, ourElf.machine]).toEqual([qemuElf.class, qemuElf.machine]);
    const ourNotes = readElfNotes(ours);
    const qemuNotes = readElfNotes(theirs);
    expect(ourNotes.length).toBeGreaterThanOrEqual(2);
    expect(ourNotes.map((n) => decodeNote(n, ourElf.machine))).toEqual(qemuNotes.map((n) => decodeNote(n, qemuElf.machine)));
    // Byte for byte too (padding included), and as readelf lists them.
    expect(ourNotes.map((n) => n.desc.toString('hex'))).toEqual(qemuNotes.map((n) => n.desc.toString('hex')));
    expect(readelfNotes(ours)).toBe(readelfNotes(theirs));
    expect(result.elfNotes).toEqual([...ourNotes.filter((n) => n.name === 'CORE').map(() => 'CORE NT_PRSTATUS'), ...ourNotes.filter((n) => n.name === 'QEMU').map(() => 'QEMU 0')]);

    if (haveGdb) {
      const shown = gdbRegisters(ours);
      const cpu0 = hmpRegisters(hmp.split(/^CPU#1/m)[0]);
      const names = ourElf.machine === EM_X86_64 ? ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r15', 'rip', 'eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs'] : ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'eip', 'eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs'];
      for (const n of names) {
        expect(shown.get(n), `gdb ${n}`).toBeDefined();
        expect(shown.get(n), `gdb ${n} vs QEMU's ${n}`).toBe(cpu0.get(n));
      }
      console.log(`${c.name}: gdb reads ${names.length} registers of vCPU 0 from our core, equal to QEMU's info registers (${ourElf.machine === EM_386 ? 'i386' : 'x86-64'}; ${ourNotes.length / 2} vCPU${ourNotes.length > 2 ? 's' : ''})`);
    }
  }, 180_000);
  }
});
