import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import { expectOriginalsUnchanged, tempFolder } from '../helpers/evidence';
import { haveQemu, migrateToFile, withLoadedImage } from '../helpers/qemu';

/**
 * Edits made with migwb edit + migwb apply, proven by the program that loads the result:
 * QEMU 7.2 takes the edited image with -incoming and shows the new bytes and registers.
 */
const PAYLOAD_IMAGE = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const PAUSED_IMAGE = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
/** The same VM saved with suppress-vmdesc=on: its fields are named by PAUSED_IMAGE's vmdesc. */
const NO_VMDESC_IMAGE = corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig');
const PAYLOAD_FILE = corpusPath('qemu', 'payload-1M.bin');

/** Guest RAM writes: the planted marker (a PAGE record), a marker crossing a page boundary, and a zero page of the payload. */
const RAM_EDITS = [
  { gpa: 0x100000, text: 'EDITED-BY-MIGWB-TEST!!' },
  { gpa: 0x11fff5, text: 'PAGE-BOUNDARY-CROSSED!' },
  { gpa: 0x140000, text: 'WAS-A-ZERO-PAGE' },
];

function hexOf(text: string): string {
  return Buffer.from(text, 'latin1').toString('hex');
}

describe.skipIf(!haveQemu('7.2'))('edits verified by QEMU 7.2 (-incoming, QMP/HMP)', () => {
  expectOriginalsUnchanged([PAYLOAD_IMAGE, PAUSED_IMAGE, NO_VMDESC_IMAGE]);
  const tmp = tempFolder('migwb-qemu-edit-');

  /** Loads `image` and dumps all guest RAM below 32 MiB with pmemsave; also returns HMP xp output at `xp`. */
  async function guestMemory(image: string, xp: string[]): Promise<{ ram: Buffer; xp: string[] }> {
    return withLoadedImage({ version: '7.2', image, args: readJson(sidecar(PAYLOAD_IMAGE, 'meta')).qemu_argv.slice(1), files: [PAYLOAD_FILE] }, async (qmp) => {
      const dump = path.join(tmp(), `${path.basename(image)}.ram`);
      await qmp.execute('pmemsave', { val: 0, size: 32 << 20, filename: dump });
      const shown = [];
      for (const cmd of xp) shown.push(await qmp.hmp(cmd));
      return { ram: fs.readFileSync(dump), xp: shown };
    });
  }

  it('guest RAM edited at the planted payload reads back through QMP, and every other byte is unchanged', async () => {
    const journal = path.join(tmp(), 'ram.json');
    const out = path.join(tmp(), 'ram-edited.mig');
    const edit = await migwb('edit', PAYLOAD_IMAGE, '--journal', journal, ...RAM_EDITS.flatMap((e) => ['--ram', `0x${e.gpa.toString(16)}=${hexOf(e.text)}`]));
    expect(edit.code, edit.err).toBe(0);
    expect(edit.out).toMatch(/1 zero record became a full page record/);
    const apply = await migwb('apply', PAYLOAD_IMAGE, journal, '-o', out);
    expect(apply.code, apply.err).toBe(0);
    expect(apply.out).toMatch(/the written file: no errors/);

    const original = await guestMemory(PAYLOAD_IMAGE, []);
    const edited = await guestMemory(out, ['xp /22c 0x100000', 'xp /8xb 0x11fff5']);
    expect(edited.xp[0]).toContain("'E' 'D' 'I' 'T' 'E' 'D'");
    expect(edited.xp[1]).toMatch(/11fff5: 0x50 0x41 0x47 0x45 0x2d 0x42 0x4f 0x55/); // "PAGE-BOU"

    // Only the edited bytes differ; they hold exactly what was written.
    const expected = Buffer.from(original.ram);
    for (const e of RAM_EDITS) expected.write(e.text, e.gpa, 'latin1');
    expect(original.ram.equals(expected)).toBe(false);
    const differing: number[] = [];
    for (let i = 0; i < expected.length; i++) if (edited.ram[i] !== expected[i]) differing.push(i);
    expect(differing, `bytes that differ from the expected memory, first at 0x${differing[0]?.toString(16)}`).toEqual([]);
  });

  it('a CPU register edited in the cpu section (RAX, RIP) shows in "info registers"', async () => {
    const journal = path.join(tmp(), 'cpu.json');
    const out = path.join(tmp(), 'cpu-edited.mig');
    const edit = await migwb('edit', PAUSED_IMAGE, '--journal', journal, '--set', 'cpu.env.regs[0]=0x1122334455667788', '--set', 'cpu:0.env.eip=0xfff4');
    expect(edit.code, edit.err).toBe(0);
    expect(edit.out).toContain('cpu:0 env.regs[0] (uint64 at 0x4d6ef): 0x0000000000000000 (0) → 0x1122334455667788');
    const apply = await migwb('apply', PAUSED_IMAGE, journal, '-o', out);
    expect(apply.code, apply.err).toBe(0);

    const args = readJson(sidecar(PAUSED_IMAGE, 'meta')).qemu_argv.slice(1);
    const originalRegisters = await withLoadedImage({ version: '7.2', image: PAUSED_IMAGE, args }, (qmp) => qmp.hmp('info registers'));
    await withLoadedImage({ version: '7.2', image: out, args }, async (qmp) => {
      // The CPU is in real mode, so QEMU prints the 32-bit halves (EAX, EIP).
      const registers = await qmp.hmp('info registers');
      expect(originalRegisters).toMatch(/EAX=00000000 /);
      expect(originalRegisters).toMatch(/EIP=0000fff0 /);
      expect(registers).toMatch(/EAX=55667788 /);
      expect(registers).toMatch(/EIP=0000fff4 /);
      // QEMU keeps all 64 bits: save the loaded VM again and read RAX from QEMU's own stream.
      const resaved = path.join(tmp(), 'cpu-resaved-by-qemu.mig');
      await migrateToFile(qmp, resaved);
      const dump = await migwb('dump', resaved, '--section', 'cpu', '--json');
      const fields = JSON.parse(dump.out).sections[0].fields;
      expect(fields[0].children[0].value.hex).toBe('0x1122334455667788');
      expect(fields[1]).toMatchObject({ name: 'env.eip', value: { hex: '0x000000000000fff4' } });
    });
  });

  it('a register of a stream without a vmdesc, edited by the name a sibling image’s vmdesc gives it', async () => {
    const journal = path.join(tmp(), 'no-vmdesc.json');
    const out = path.join(tmp(), 'no-vmdesc-edited.mig');
    const refused = await migwb('edit', NO_VMDESC_IMAGE, '--journal', journal, '--set', 'cpu:0.env.eip=0xfff4');
    expect(refused.code).toBe(2);
    const edit = await migwb('edit', NO_VMDESC_IMAGE, '--journal', journal, '--vmdesc-from', PAUSED_IMAGE, '--set', 'cpu:0.env.eip=0xfff4');
    expect(edit.code, edit.err).toBe(0);
    expect(edit.out).toContain('cpu:0 env.eip (uint64 at 0x4d76f): 0x000000000000fff0 (65520) → 0x000000000000fff4');
    // The journal holds bytes, so it applies without the sibling.
    const apply = await migwb('apply', NO_VMDESC_IMAGE, journal, '-o', out);
    expect(apply.code, apply.err).toBe(0);
    await withLoadedImage({ version: '7.2', image: out, args: readJson(sidecar(NO_VMDESC_IMAGE, 'meta')).qemu_argv.slice(1) }, async (qmp) => {
      expect(await qmp.hmp('info registers')).toMatch(/EIP=0000fff4 /);
    });
  });
});
