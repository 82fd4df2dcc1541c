import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { machineLayout, type MachineLayout } from '../../shared/memory/layout';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { extractRam } from '../../electron/memory/extract';
import { searchImages } from '../../electron/memory/search';
import { layoutOf } from '../../electron/memory/guest-view';
import { openImage } from '../../electron/services/open-image';
import { corpusPath, metaOf } from '../helpers/corpus';
import { readElfLoads, readRange } from '../helpers/elf';
import { haveQemu, migrateToFile, Qmp, QEMU, withGuest, withLoadedImage, type QemuVersion } from '../helpers/qemu';

/**
 * Our extraction against QEMU's own view of the same memory: the image is loaded with
 * -incoming, then QEMU dumps the guest-physical memory (pmemsave per mapped region, and
 * dump-guest-memory's ELF core) and migrates the loaded VM out again, which renders every
 * RAM block (also those no guest address shows) as plain pages. Each must equal what we
 * extract from the original image, byte for byte.
 */
const SYSTEM_QEMU: Record<string, string> = {
  'qemu-system-x86_64': '/usr/bin/qemu-system-x86_64',
  'qemu-system-arm': '/usr/bin/qemu-system-arm',
  'qemu-system-riscv64': '/usr/bin/qemu-system-riscv64',
};

const CASES: [QemuVersion, string][] = [
  ['7.2', 'x86_64-pc-e1000-payload-paused-32M'], // pc, never booted: ROMs under PAM, option ROM blocks
  ['7.2', 'x86_64-q35-minimal-running-32M'], // q35 after SeaBIOS: PAM shadowing, VGA BAR programmed
  ['7.2', 'x86_64-pc-xbzrle-dirty-running-32M'], // pages re-sent as XBZRLE deltas
  ['7.2', 'x86_64-pc-compress-payload-paused-32M'], // zlib COMPRESS_PAGE records
  ['7.2', 'armv7-virt-cortex-a15-payload-paused-32M'], // arm virt: flash at 0, RAM at 1 GiB
  ['7.2', 'riscv64-virt-payload-paused-32M'], // riscv virt: mask ROM, flash, RAM at 2 GiB
  ['10.0', 'x86_64-q35-e1000-payload-paused-32M'], // a QEMU 10.0 stream (SWITCHOVER command, vmdesc configuration) in QEMU 10.0
];

interface Mapping {
  start: number;
  end: number;
  name: string;
  offset: number;
}

/** RAM and ROM ranges of QEMU's flat view of system memory (HMP `info mtree -f`), adjacent pieces joined. */
async function qemuFlatView(qmp: Qmp): Promise<Mapping[]> {
  const text = await qmp.hmp('info mtree -f');
  const view = text.split(/^FlatView #\d+/m).find((v) => /AS "memory"/.test(v))!;
  const out: Mapping[] = [];
  for (const m of view.matchAll(/^\s+([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, (?:ram|rom|romd)\): (\S+)(?: @([0-9a-f]+))?/gm)) {
    out.push({ start: parseInt(m[1], 16), end: parseInt(m[2], 16) + 1, name: m[3], offset: m[4] ? parseInt(m[4], 16) : 0 });
  }
  return joined(out);
}

/** Our layout in the same terms: memory region names are block ids without the device path. */
function ourMapping(layout: MachineLayout): Mapping[] {
  return joined(layout.regions.map((r) => ({ start: r.gpa, end: r.gpa + r.size, name: r.blockId.split('/').pop()!, offset: r.blockOffset })));
}

function joined(ms: Mapping[]): Mapping[] {
  const out: Mapping[] = [];
  for (const m of [...ms].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && last.name === m.name && last.end === m.start && last.offset + (last.end - last.start) === m.offset) last.end = m.end;
    else out.push({ ...m });
  }
  return out;
}

describe.skipIf(!haveQemu('7.2'))('guest-physical layouts equal QEMU 7.2 memory maps for large guests (pc_piix.c, pc_q35.c rules)', () => {
  const GiB = 1024 ** 3;
  const cases: [string, number, string[]][] = [
    ['pc', 3.5 * GiB, []],
    ['pc', 4 * GiB, []],
    ['pc', 4 * GiB, ['max-ram-below-4g=2G']],
    ['pc-i440fx-1.7', 4 * GiB, []],
    ['q35', 2.75 * GiB, []],
    ['q35', 6 * GiB, []],
  ];
  for (const [machine, ram, props] of cases) {
    it(`-M ${[machine, ...props].join(',')} -m ${ram / GiB}G`, async () => {
      // A never-started guest: memory is reserved, not touched, so large sizes cost nothing.
      await withGuest({ binary: QEMU['7.2'], args: ['-M', [machine, ...props].join(','), '-m', `${ram / 2 ** 20}M`] }, async ({ qmp }) => {
        const blocks = [...(await qmp.hmp('info ramblock')).matchAll(/^\s*(\S+)\s+\d+ \w+\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/gm)].map((m) => ({ id: m[1], usedLength: Number(m[2]), recordOffset: 0 }));
        const model = { machineType: machine === 'pc' ? 'pc-i440fx-7.2' : machine === 'q35' ? 'pc-q35-7.2' : machine, ramBlocks: blocks, elements: [] } as unknown as QemuStreamModel;
        const maxBelow = props.length ? 2 * GiB : undefined;
        expect(ourMapping(machineLayout(model, { maxRamBelow4g: maxBelow })!)).toEqual(await qemuFlatView(qmp));
      });
    });
  }
});

describe.skipIf(!haveQemu('7.2'))('a 64-bit BAR the firmware placed above 4 GiB (made here: q35, qxl-vga with 1 GiB of vram64, booted into SeaBIOS)', () => {
  it('the layout read from the saved stream equals QEMU 7.2\'s memory map, the 64-bit BAR included', async () => {
    const args = ['-M', 'q35', '-m', '64', '-device', 'qxl-vga,vram64_size_mb=1024'];
    await withGuest({ binary: QEMU['7.2'], args, running: true }, async ({ qmp, dir }) => {
      // SeaBIOS sizes and programs the BARs early in POST; a 1 GiB BAR4 does not fit in the 32-bit window.
      const bar4 = async () => {
        const [bus] = await qmp.execute<{ devices: { regions: { bar: number; mem_type_64?: boolean; address: number }[] }[] }[]>('query-pci');
        return bus.devices.flatMap((d) => d.regions).find((r) => r.bar === 4 && r.mem_type_64)?.address;
      };
      const deadline = Date.now() + 60_000;
      let address = await bar4();
      // Until then QEMU reports the BAR at -1.
      while (!(address !== undefined && address > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        address = await bar4();
      }
      expect(address).toBe(4 * 1024 ** 3);
      await qmp.execute('stop');
      const image = path.join(dir, 'q35-qxl-vram64.mig');
      await migrateToFile(qmp, image);
      const img = openImage(image);
      const layout = layoutOf(img)!;
      img.close();
      expect(layout.regions.find((r) => r.gpa === address)).toMatchObject({ blockId: '0000:00:01.0/qxl.vram', size: 1024 ** 3, blockOffset: 0 });
      expect(ourMapping(layout)).toEqual(await qemuFlatView(qmp));
    });
  });
});

const S390X = '/usr/bin/qemu-system-s390x';

describe.skipIf(!haveQemu('7.2', S390X))('s390x: made here with qemu-system-s390x 7.2 (the corpus has none; skipped without it)', () => {
  it('RAM at 0: layout equals the flat view, extraction equals pmemsave, the payload marker is found', async () => {
    const args = ['-M', 's390-ccw-virtio', '-m', '32M', '-device', 'loader,file=payload-1M.bin,addr=0x100000,force-raw=on'];
    await withGuest({ binary: S390X, args, files: [corpusPath('qemu', 'payload-1M.bin')] }, async ({ qmp, dir }) => {
      const image = path.join(dir, 's390x.mig');
      await migrateToFile(qmp, image);
      const img = openImage(image);
      const layout = layoutOf(img)!;
      expect(layout.family).toBe('s390x');
      expect(ourMapping(layout)).toEqual(await qemuFlatView(qmp));
      const physical = extractRam(img, { outDir: path.join(dir, 'out'), layout: 'physical' });
      img.close();
      const dump = path.join(dir, 'pmem.bin');
      await qmp.execute('pmemsave', { val: 0, size: 32 << 20, filename: dump });
      expect(fs.readFileSync(physical.files[0].path).equals(fs.readFileSync(dump))).toBe(true);
      const [found] = await searchImages([image], { string: 'MIGIMG-FORENSIC-MARKER' });
      expect(found.hits.map((h) => h.gpa)).toEqual(metaOf(corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig')).planted_payload!.marker_guest_phys_addrs.map(Number));
    });
  });
});

describe('extraction equals QEMU memory byte for byte', () => {
  for (const [version, name] of CASES) {
    const image = corpusPath(version === '7.2' ? 'qemu' : 'qemu10', `${name}.mig`);
    const meta = metaOf(image);
    const binary = version === '7.2' ? SYSTEM_QEMU[meta.qemu_argv[0]] : path.join(path.dirname(QEMU['10.0']), meta.qemu_argv[0]);
    it.skipIf(!haveQemu(version, binary))(`${name} in ${meta.qemu_argv[0]} ${version} (skipped when that binary is missing)`, async () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-mem-'));
      const img = openImage(image);
      const layout = layoutOf(img)!;
      const blocks = extractRam(img, { outDir: path.join(work, 'blocks') });
      const physical = extractRam(img, { outDir: path.join(work, 'physical'), layout: 'physical' });
      const elf = extractRam(img, { outDir: path.join(work, 'elf'), layout: 'physical', format: 'elf' });
      img.close();
      const physicalFile = physical.files[0].path;
      const ours = readElfLoads(elf.files[0].path);

      // The files the command line names (payload, boot disk) are copied beside QEMU.
      const files = (meta.qemu_argv as string[]).flatMap((a) => [...a.matchAll(/file=([^,]+)/g)].map((m) => path.join(path.dirname(image), m[1])));
      try {
        await withLoadedImage({ version, binary, image, args: meta.qemu_argv.slice(1), files, capabilities: meta.migration_capabilities }, async (qmp) => {
          // 0. Our layout is QEMU's memory map (RAM and ROM ranges, which block, which offset).
          expect(ourMapping(layout)).toEqual(await qemuFlatView(qmp));
          // 1. Every region of our layout, read by QEMU through its memory map.
          for (const region of layout.regions) {
            const dump = path.join(work, `pmem-${region.gpa.toString(16)}.bin`);
            await qmp.execute('pmemsave', { val: region.gpa, size: region.size, filename: dump });
            const theirs = fs.readFileSync(dump);
            expect(readRange(physicalFile, region.gpa, region.size).equals(theirs), `${region.blockId} at gpa 0x${region.gpa.toString(16)}`).toBe(true);
            const blockFile = path.join(work, 'blocks', blocks.blocks[region.block].file!);
            expect(readRange(blockFile, region.blockOffset, region.size).equals(theirs)).toBe(true);
            // The same bytes are in our ELF core at that physical address.
            const seg = ours.loads.find((l) => l.paddr === region.gpa)!;
            expect(readRange(elf.files[0].path, seg.offset, seg.filesz).equals(theirs)).toBe(true);
          }
          // 2. QEMU's own ELF core (dump-guest-memory, paging off): every segment it writes is ours too.
          const qemuElf = path.join(work, 'qemu.elf');
          await qmp.execute('dump-guest-memory', { paging: false, protocol: `file:${qemuElf}` });
          const theirs = readElfLoads(qemuElf);
          expect(theirs.loads.length).toBeGreaterThan(0);
          expect(ours.class).toBe(theirs.class);
          for (const seg of theirs.loads) {
            expect(readRange(physicalFile, seg.paddr, seg.filesz).equals(readRange(qemuElf, seg.offset, seg.filesz)), `QEMU segment at paddr 0x${seg.paddr.toString(16)}`).toBe(true);
          }
          // 3. Every RAM block, as QEMU renders it when it migrates the loaded VM out again.
          const again = path.join(work, 'again.mig');
          await migrateToFile(qmp, again);
          const re = openImage(again);
          const reExtracted = extractRam(re, { outDir: path.join(work, 'again') });
          re.close();
          for (const [i, b] of blocks.blocks.entries()) {
            const mine = fs.readFileSync(path.join(work, 'blocks', b.file!));
            const qemus = fs.readFileSync(path.join(work, 'again', reExtracted.blocks[i].file!));
            expect(reExtracted.blocks[i].id).toBe(b.id);
            expect(mine.equals(qemus), `RAM block ${b.id}`).toBe(true);
          }
        });
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });
  }
});
