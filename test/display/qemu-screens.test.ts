import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenOfImage } from '../../electron/display/screen-service';
import { openImage } from '../../electron/services/open-image';
import { buildBootDisk, haveAssembler, tempDir } from '../helpers/boot-program';
import { haveQemu, type QemuVersion } from '../helpers/qemu';
import { bootGuest, compareScreens, nextStep, qemuScreendump, saveGuest, waitStep } from '../helpers/screens';
import { VGA_PROGRAM, VGA_STEPS } from './guests';

/**
 * The proof of `migwb screen`: guests made here put known pictures on the screen (SeaBIOS
 * text, coloured text in three text modes, mode 13h, planar and CGA modes, Bochs VBE at
 * every depth with a virtual width and offsets), each is saved with `migrate`, loaded into a
 * fresh QEMU of the same version with -incoming, and QEMU's screendump of the loaded VM must
 * equal our render of the saved image, pixel for pixel.
 */
const MACHINE = ['-M', 'pc', '-m', '32M', '-serial', 'null', '-drive', 'file=vga.img,format=raw,if=ide'];
/** The loading side: the same machine, no display window, no network. */
const LOADER = [...MACHINE, '-display', 'none', '-nic', 'none'];

for (const version of ['7.2', '10.0'] as QemuVersion[]) {
  describe.skipIf(!haveQemu(version) || !haveAssembler())(`std VGA in QEMU ${version}: our render equals QEMU's screendump of the loaded image (skipped without QEMU ${version} or binutils)`, () => {
    let dir: string;
    let disk: string;
    const images: string[] = [];

    beforeAll(async () => {
      dir = tempDir(`migwb-screen-${version}-`);
      disk = buildBootDisk(dir, 'vga', VGA_PROGRAM);
      const guest = await bootGuest(version, MACHINE, disk);
      try {
        for (let step = 0; step < VGA_STEPS.length; step++) {
          await waitStep(guest.qmp, step);
          const image = path.join(dir, `vga-step${step}.mig`);
          await saveGuest(guest.qmp, image);
          images.push(image);
          if (step + 1 < VGA_STEPS.length) await nextStep(guest.qmp);
        }
      } finally {
        await guest.quit();
      }
    }, 900_000);

    afterAll(() => {
      // MIGWB_KEEP_SCREENS=1 keeps the guests' images for a look (their folder is printed).
      if (process.env.MIGWB_KEEP_SCREENS) console.log(`images kept in ${dir}`);
      else if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    VGA_STEPS.forEach((step, n) => {
      it(`step ${n}: ${step.name}`, async () => {
        const img = openImage(images[n]);
        const ours = screenOfImage(img, { drawing: version });
        img.close();
        expect(ours.description.reason, JSON.stringify(ours.description.mode)).toBeUndefined();
        const qemu = await qemuScreendump(version, images[n], LOADER, [disk]);
        expect(compareScreens(ours.framebuffer!, qemu.framebuffer, `vga-${version}-step${n}`), JSON.stringify(ours.description.mode)).toBe('');
      }, 180_000);
    });
  });
}
