import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenOfImage } from '../../electron/display/screen-service';
import { openImage } from '../../electron/services/open-image';
import { buildBootDisk, haveAssembler, removeGuestFolder, tempDir } from '../helpers/boot-program';
import { corpusPath } from '../helpers/corpus';
import { qemuArgsJson } from '../helpers/launch';
import { haveQemu, startQemu, type QemuVersion } from '../helpers/qemu';
import { bootGuest, compareScreens, distinctColours, nextStep, qemuScreendump, saveGuest, screendumpOfLoad, waitStep } from '../helpers/screens';
import { BOCHS_DISPLAY_PROGRAM, BOCHS_DISPLAY_STEPS, VGA_PROGRAM, VGA_STEPS, type GuestStep } from './guests';

/**
 * The proof of `migwb screen`: guests made here put known pictures on the screen (SeaBIOS
 * text, coloured text in three text modes, mode 13h, planar and CGA modes, Bochs VBE at
 * every depth with a virtual width and offsets), each is saved with `migrate`, loaded into a
 * fresh QEMU of the same version with -incoming, and QEMU's screendump of the loaded VM must
 * equal our render of the saved image, pixel for pixel.
 *
 * The same program runs on std VGA (both QEMUs) and on qxl-vga in VGA mode (7.2 only: the
 * 10.0 build has no qxl module): QXL's VGA core takes the same ports and its RAM BAR (BAR0)
 * is the VBE linear framebuffer. bochs-display (no VGA) gets its own program: its dispi
 * registers are MMIO.
 */
const DISPLAYS: readonly { version: QemuVersion; device: string; kind: string; args: string[]; program: string; steps: GuestStep[] }[] = [
  { version: '7.2', device: 'VGA', kind: 'vga', args: ['-vga', 'std'], program: VGA_PROGRAM, steps: VGA_STEPS },
  { version: '10.0', device: 'VGA', kind: 'vga', args: ['-vga', 'std'], program: VGA_PROGRAM, steps: VGA_STEPS },
  { version: '7.2', device: 'qxl-vga', kind: 'qxl', args: ['-vga', 'qxl'], program: VGA_PROGRAM, steps: VGA_STEPS },
  { version: '7.2', device: 'bochs-display', kind: 'bochs-display', args: ['-vga', 'none', '-device', 'bochs-display,addr=02.0'], program: BOCHS_DISPLAY_PROGRAM, steps: BOCHS_DISPLAY_STEPS },
  { version: '10.0', device: 'bochs-display', kind: 'bochs-display', args: ['-vga', 'none', '-device', 'bochs-display,addr=02.0'], program: BOCHS_DISPLAY_PROGRAM, steps: BOCHS_DISPLAY_STEPS },
];

for (const display of DISPLAYS) {
  const { version, device, steps } = display;
  const machine = ['-M', 'pc', '-m', '32M', ...display.args, '-serial', 'null', '-drive', 'file=vga.img,format=raw,if=ide'];
  /** The loading side: the same machine, no display window, no network. */
  const loader = [...machine, '-display', 'none', '-nic', 'none'];

  describe.skipIf(!haveQemu(version) || !haveAssembler())(`${device} in QEMU ${version}: our render equals QEMU's screendump of the loaded image (skipped without QEMU ${version} or binutils)`, () => {
    let dir: string;
    let disk: string;
    const images: string[] = [];

    beforeAll(async () => {
      dir = tempDir(`migwb-screen-${version}-${device}-`);
      disk = buildBootDisk(dir, 'vga', display.program);
      const guest = await bootGuest(version, machine, disk);
      try {
        for (let step = 0; step < steps.length; step++) {
          await waitStep(guest.qmp, step);
          const image = path.join(dir, `vga-step${step}.mig`);
          await saveGuest(guest.qmp, image);
          images.push(image);
          if (step + 1 < steps.length) await nextStep(guest.qmp);
        }
      } finally {
        await guest.quit();
      }
    }, 900_000);

    afterAll(() => removeGuestFolder(dir));

    steps.forEach((step, n) => {
      it(`step ${n}: ${step.name}`, async () => {
        const img = openImage(images[n]);
        const ours = screenOfImage(img, { drawing: version });
        img.close();
        expect(ours.description.reason, JSON.stringify(ours.description.mode)).toBeUndefined();
        expect(ours.description.device?.kind).toBe(display.kind);
        // A picture with content: equal blank screens would prove nothing.
        expect(distinctColours(ours.framebuffer!)).toBeGreaterThanOrEqual(step.minColours);
        const qemu = await qemuScreendump(version, images[n], loader, [disk]);
        expect(compareScreens(ours.framebuffer!, qemu, `${device}-${version}-step${n}`), JSON.stringify(ours.description.mode)).toBe('');
      }, 180_000);
    });
  });
}

/**
 * Corpus images that show something (saved while the guest ran: SeaBIOS's text), each
 * loaded by QEMU 7.2 from the command line `migwb qemu-args` derives: the libvirt save of
 * the SPICE guest (qxl-vga in VGA mode), a qcow2 internal snapshot, i440fx and q35 VGA.
 */
const CORPUS_SCREENS = [
  { image: ['libvirt', 'wb-tiny-qxl-spice-raw.sav'], kind: 'qxl' },
  { image: ['qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2'], kind: 'vga' },
  { image: ['qemu', 'x86_64-pc-smp2-running-32M.mig'], kind: 'vga' },
  { image: ['qemu', 'x86_64-q35-minimal-running-32M.mig'], kind: 'vga' },
] as const;

describe.skipIf(!haveQemu('7.2'))("corpus images: our render equals QEMU 7.2's screendump after loading them with qemu-args' command line (skipped without QEMU 7.2)", () => {
  for (const c of CORPUS_SCREENS) {
    it(`${c.image.join('/')}: ${c.kind}`, async () => {
      const file = corpusPath(...c.image);
      const img = openImage(file);
      const ours = (() => {
        try {
          return screenOfImage(img, { drawing: '7.2' });
        } finally {
          img.close();
        }
      })();
      expect(ours.description.reason, JSON.stringify(ours.description.mode)).toBeUndefined();
      expect(ours.description.device?.kind).toBe(c.kind);
      expect(distinctColours(ours.framebuffer!)).toBeGreaterThanOrEqual(2);
      const plan = await qemuArgsJson('--to', 'qemu-7.2', file);
      const qemu = await screendumpOfLoad(await startQemu({ binary: plan.binary, argv: plan.argv, qmp: plan.qmp, timeoutMs: 120_000 }), file);
      expect(compareScreens(ours.framebuffer!, qemu, `corpus-${c.image[1]}`)).toBe('');
    }, 180_000);
  }
});
