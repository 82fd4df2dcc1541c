import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractRam } from '../../electron/memory/extract';
import { layoutOf } from '../../electron/memory/guest-view';
import { openImage } from '../../electron/services/open-image';
import { corpusPath, metaOf } from '../helpers/corpus';
import { readElfLoads, readRange } from '../helpers/elf';
import { haveQemu, loadInQemu, type Qmp } from '../helpers/qemu';

/**
 * Our extraction against QEMU 7.2's own view of the same memory: the image is loaded with
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

const CASES = [
  'x86_64-pc-e1000-payload-paused-32M', // pc, never booted: ROMs under PAM, option ROM blocks
  'x86_64-q35-minimal-running-32M', // q35 after SeaBIOS: PAM shadowing, VGA BAR programmed
  'x86_64-pc-xbzrle-dirty-running-32M', // pages re-sent as XBZRLE deltas
  'x86_64-pc-compress-payload-paused-32M', // zlib COMPRESS_PAGE records
  'armv7-virt-cortex-a15-payload-paused-32M', // arm virt: flash at 0, RAM at 1 GiB
  'riscv64-virt-payload-paused-32M', // riscv virt: mask ROM, flash, RAM at 2 GiB
];

function binaryWorks(bin: string): boolean {
  return spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout?.startsWith('QEMU emulator version 7.2.') ?? false;
}

async function until(qmp: Qmp, done: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!haveQemu('7.2'))('extraction equals QEMU 7.2 memory byte for byte', () => {
  for (const name of CASES) {
    const image = corpusPath('qemu', `${name}.mig`);
    const meta = metaOf(image);
    const binary = SYSTEM_QEMU[meta.qemu_argv[0]];
    it.skipIf(!binaryWorks(binary))(`${name} (${meta.qemu_argv[0]}; skipped when that QEMU 7.2 binary is missing)`, async () => {
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
      const files = (meta.qemu_argv as string[]).flatMap((a) => [...a.matchAll(/file=([^,]+)/g)].map((m) => corpusPath('qemu', m[1])));
      const r = await loadInQemu({ version: '7.2', binary, image, args: meta.qemu_argv.slice(1), files, capabilities: meta.migration_capabilities });
      expect(r.loaded, r.stderr.join('\n')).toBe(true);
      try {
        const qmp = r.qmp!;
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
        for (const seg of theirs.loads) {
          expect(readRange(physicalFile, seg.paddr, seg.filesz).equals(readRange(qemuElf, seg.offset, seg.filesz)), `QEMU segment at paddr 0x${seg.paddr.toString(16)}`).toBe(true);
        }
        // 3. Every RAM block, as QEMU renders it when it migrates the loaded VM out again.
        const again = path.join(work, 'again.mig');
        await qmp.execute('migrate', { uri: `exec:cat > '${again}'` });
        await until(qmp, async () => (await qmp.execute('query-migrate')).status === 'completed', 'the outgoing migration');
        const re = openImage(again);
        const reExtracted = extractRam(re, { outDir: path.join(work, 'again') });
        re.close();
        for (const [i, b] of blocks.blocks.entries()) {
          const mine = fs.readFileSync(path.join(work, 'blocks', b.file!));
          const qemus = fs.readFileSync(path.join(work, 'again', reExtracted.blocks[i].file!));
          expect(reExtracted.blocks[i].id).toBe(b.id);
          expect(mine.equals(qemus), `RAM block ${b.id}`).toBe(true);
        }
      } finally {
        await r.quit();
        fs.rmSync(work, { recursive: true, force: true });
      }
    });
  }
});
