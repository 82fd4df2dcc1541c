import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { screenOfImage } from '../../electron/display/screen-service';
import { openImage } from '../../electron/services/open-image';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { haveQemu, saveInQemu } from '../helpers/qemu';
import { compareScreens, decodePng } from '../helpers/screens';

/**
 * `migwb screen` as a user meets it: the PNG it writes holds the picture the engine drew,
 * --json describes the mode and where its bytes are, and an image without a picture gets
 * one line saying why, exit status 1 and no file. Pixel equality with QEMU is proven in
 * qemu-screens.test.ts.
 */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-screen-cli-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const QXL_SAVE = corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav');

describe('migwb screen', () => {
  it('the libvirt SPICE guest: a PNG of the text screen (equal to the engine\'s picture), --json with the device, the mode and the guest-physical addresses', async () => {
    const png = path.join(work, 'qxl.png');
    const r = await migwb('screen', QXL_SAVE, '-o', png, '--json');
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out);
    expect(json).toMatchObject({
      path: QXL_SAVE,
      png,
      drawn_as: '10.0',
      device: { idstr: '0000:00:02.0/qxl', kind: 'qxl' },
      mode: { kind: 'text', width: 720, height: 400, depth: 0, description: 'text 80x25 (9x16 cells)', details: { columns: 80, rows: 25, cell_width: 9, cell_height: 16, qxl_mode: 'vga' } },
      width: 720,
      height: 400,
    });
    // SeaBIOS puts the qxl-vga RAM BAR (vga.vram) at 0xfd000000; characters at its start, the font in plane 2 beside them.
    expect(json.sources).toEqual([
      { what: 'characters and attributes (planes 0 and 1, 4 bytes per cell)', block: '0000:00:02.0/vga.vram', offset: 0, length: 8000, gpa: 0xfd000000 },
      { what: 'font (plane 2, 32 rows of 4 bytes per glyph)', block: '0000:00:02.0/vga.vram', offset: 0, length: 32768, gpa: 0xfd000000 },
    ]);
    const img = openImage(QXL_SAVE);
    const engine = screenOfImage(img);
    img.close();
    expect(compareScreens(decodePng(fs.readFileSync(png)), engine.framebuffer!, 'cli-png-roundtrip')).toBe('');
  });

  it('without --json: the device, the mode, the sources and the file written, one per line', async () => {
    const png = path.join(work, 'qxl-text.png');
    const r = await migwb('screen', QXL_SAVE, '-o', png);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')).toEqual([
      `${QXL_SAVE}: 0000:00:02.0/qxl (QXL (SPICE))`,
      '  mode     text 80x25 (9x16 cells), 720x400 pixels',
      '  source   characters and attributes (planes 0 and 1, 4 bytes per cell): 0000:00:02.0/vga.vram+0x00000000, 8000 bytes (guest-physical 0xfd000000)',
      '  source   font (plane 2, 32 rows of 4 bytes per glyph): 0000:00:02.0/vga.vram+0x00000000, 32768 bytes (guest-physical 0xfd000000)',
      `  wrote    ${png}`,
      '',
    ]);
    expect(fs.existsSync(png)).toBe(true);
  });

  const noPicture: [string, string[], RegExp][] = [
    ['an ARM guest without a display device', ['qemu', 'armv7-virt-cortex-a15-payload-paused-32M.mig'], /^no screen: the image has no display device \(no vga, qxl, bochs-display or other display section\), so there is no screen to draw$/],
    ['a guest saved before its firmware ran (VGA never switched on)', ['qemu', 'x86_64-pc-minimal-paused-16M.mig'], /^no picture: the display is off: the attribute controller's palette access bit .* QEMU draws nothing for it$/],
    ['an old machine type (global vga.vram), never booted', ['qemu', 'x86_64-pc-i440fx-2.3-legacy-paused-16M.mig'], /^no picture: the display is off/],
    ['a stream saved without its vmdesc', ['qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig'], /^no picture: the 0000:00:02\.0\/vga section cannot be decoded .*--vmdesc-from\)$/],
  ];
  for (const [what, image, reason] of noPicture) {
    it(`${what}: exit 1, one line saying why, no PNG (with and without --json)`, async () => {
      const file = corpusPath(...image);
      const png = path.join(work, `${image[1]}.png`);
      const r = await migwb('screen', file, '-o', png);
      expect(r.code).toBe(1);
      const why = r.out.split('\n').filter((l) => /no (screen|picture): /.test(l));
      expect(why).toHaveLength(1);
      expect(why[0].replace(/^.*?(no (screen|picture): )/, '$1')).toMatch(reason);
      expect(fs.existsSync(png)).toBe(false);
      const j = await migwb('screen', file, '--json');
      expect(j.code).toBe(1);
      const json = JSON.parse(j.out);
      expect(`no ${json.device ? 'picture' : 'screen'}: ${json.reason}`).toMatch(reason);
      expect(json.png).toBeUndefined();
    });
  }

  it('a bad --as-qemu is refused before anything is read', async () => {
    const r = await migwb('screen', QXL_SAVE, '--as-qemu', '8.0');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--as-qemu takes 7.2 or 10.0, not 8.0');
  });

  it.skipIf(!haveQemu('7.2'))('a device migwb does not draw (Cirrus, made with QEMU 7.2 here): its name and a one-line reason (skipped without QEMU 7.2)', async () => {
    const image = path.join(work, 'cirrus.mig');
    await saveInQemu({ version: '7.2', args: ['-M', 'pc', '-m', '16M', '-nodefaults', '-vga', 'cirrus', '-display', 'none'], image });
    const r = await migwb('screen', image, '--json');
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out);
    expect(json.device).toMatchObject({ kind: 'cirrus-vga' });
    expect(json.reason).toBe('Cirrus CLGD 54xx (0000:00:02.0/cirrus_vga): drawing this device is not supported; its registers are shown by "migwb dump"');
  }, 120_000);
});

describe('migwb dump --decoded: display registers by name', () => {
  interface Item { label: string; value?: string; meaning?: string; offset?: number; problem?: string; children?: Item[] }
  const flat = (items: Item[]): Item[] => items.flatMap((i) => [i, ...flat(i.children ?? [])]);

  it("std VGA (a running corpus guest): every named register's value is the byte at its stream offset in the file; the mode is the one migwb screen draws", async () => {
    const file = corpusPath('qemu', 'x86_64-pc-smp2-running-32M.mig');
    const r = await migwb('dump', file, '--section', 'vga', '--decoded', '--json');
    expect(r.code, r.err).toBe(0);
    const [section] = JSON.parse(r.out).sections as { idstr: string; items: Item[] }[];
    expect(section.idstr).toBe('0000:00:02.0/vga');
    const items = flat(section.items);
    expect(items[0]).toMatchObject({ label: 'mode', value: 'text 80x25 (9x16 cells)', meaning: '720x400 pixels on the screen' });
    const bytes = fs.readFileSync(file);
    const named = items.filter((i) => /^(SR|GR|CR|AR)[0-9A-F]{2} /.test(i.label));
    expect(named).toHaveLength(5 + 9 + 25 + 21);
    for (const i of named) expect(`${i.label} = ${i.value}`).toBe(`${i.label} = 0x${bytes[i.offset!].toString(16).padStart(2, '0')}`);
    // The DAC: 256 entries of three bytes at the palette's offset.
    const dac = items.filter((i) => /^\d+$/.test(i.label));
    expect(dac).toHaveLength(256);
    for (const i of dac) expect(i.value).toBe(`${bytes[i.offset!]} ${bytes[i.offset! + 1]} ${bytes[i.offset! + 2]}`);
    expect(items.find((i) => i.label === 'SR01 clocking mode')?.value).toBe('0x00');
  });

  it('QXL (the libvirt SPICE save): its mode, primary surface and slots, then its VGA part; text output one item a line', async () => {
    const r = await migwb('dump', QXL_SAVE, '--section', 'qxl', '--decoded');
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^0x[0-9a-f]{8} {2}FULL 0000:00:02\.0\/qxl \(instance 0, section id \d+\): QXL \(SPICE\)$/);
    expect(lines).toContain('            mode = text 80x25 (9x16 cells)  (720x400 pixels on the screen)');
    expect(lines.some((l) => /^0x[0-9a-f]{8} {2}QXL mode = 1 {2}\(vga\)$/.test(l))).toBe(true);
    expect(lines.some((l) => /primary surface \(create parameters\)$/.test(l))).toBe(true);
    expect(lines.some((l) => /^0x[0-9a-f]{8} {4}SR01 clocking mode = 0x00$/.test(l))).toBe(true);
  });

  it('a section that is neither a display device nor a vmchannel says so in one line', async () => {
    const r = await migwb('dump', corpusPath('qemu', 'x86_64-pc-smp2-running-32M.mig'), '--section', 'timer', '--decoded');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^0x[0-9a-f]{8} {2}FULL timer \(instance 0, section id \d+\): not a display device or vmchannel: no decoded view \(the raw fields are shown without --decoded\)\n$/);
  });
});
