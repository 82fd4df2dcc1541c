import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenOfImage } from '../../electron/display/screen-service';
import { openImage } from '../../electron/services/open-image';
import { buildBootDisk, haveAssembler, tempDir } from '../helpers/boot-program';
import { haveQemu } from '../helpers/qemu';
import { bootGuest, compareScreens, distinctColours, qemuScreendump, saveGuest, waitStep } from '../helpers/screens';
import { QXL_GUEST, QXL_PROGRAM } from './qxl-guest';

/**
 * QXL in native mode (QEMU 7.2 only: the 10.0 build has no qxl module). The guest
 * (qxl-guest.ts) programs a secondary `qxl` device as a SPICE driver does; it is saved and
 * loaded into a fresh QEMU with -incoming. The secondary device is used because QEMU's own
 * console of a loaded qxl-vga keeps drawing the VGA registers (qxl_post_load), while a
 * secondary device's console draws the primary surface through qxl_render_update.
 */
const MACHINE = ['-M', 'pc', '-m', '32M', '-vga', 'none', '-device', 'qxl,addr=02.0', '-serial', 'null', '-drive', 'file=qxl.img,format=raw,if=ide'];
const LOADER = [...MACHINE, '-display', 'none', '-nic', 'none'];

describe.skipIf(!haveQemu('7.2') || !haveAssembler())('QXL native mode in QEMU 7.2 (skipped without QEMU 7.2 or binutils)', () => {
  let dir: string;
  let disk: string;
  let image: string;

  beforeAll(async () => {
    dir = tempDir('migwb-qxl-native-');
    disk = buildBootDisk(dir, 'qxl', QXL_PROGRAM);
    image = path.join(dir, 'qxl-native.mig');
    const guest = await bootGuest('7.2', MACHINE, disk);
    try {
      await waitStep(guest.qmp, 0, 120_000);
      await saveGuest(guest.qmp, image);
    } finally {
      await guest.quit();
    }
  }, 300_000);

  afterAll(() => {
    if (process.env.MIGWB_KEEP_SCREENS) console.log(`images kept in ${dir}`);
    else if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the primary surface as we draw it equals QEMU's screendump of the loaded VM, pixel for pixel", async () => {
    const img = openImage(image);
    const ours = (() => {
      try {
        return screenOfImage(img, { drawing: '7.2' });
      } finally {
        img.close();
      }
    })();
    expect(ours.description.reason, JSON.stringify(ours.description)).toBeUndefined();
    expect(ours.description.device?.kind).toBe('qxl');
    // head 0 of the guest's monitors config (600x400) is what QEMU shows of the 640x480 surface
    expect([ours.framebuffer!.width, ours.framebuffer!.height]).toEqual([QXL_GUEST.head0.width, QXL_GUEST.head0.height]);
    expect(distinctColours(ours.framebuffer!)).toBeGreaterThan(200_000);
    const qemu = await qemuScreendump('7.2', image, LOADER, [disk]);
    expect(compareScreens(ours.framebuffer!, qemu, 'qxl-native-7.2'), JSON.stringify(ours.description.mode)).toBe('');
  }, 180_000);
});
