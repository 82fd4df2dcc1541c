import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenOfImage } from '../../electron/display/screen-service';
import { openImage } from '../../electron/services/open-image';
import { buildBootDisk, haveAssembler, removeGuestFolder, tempDir } from '../helpers/boot-program';
import { DeviceBlocks, deviceFields, displayDevices } from '../../shared/display/devices';
import type { Fields } from '../../shared/display/fields';
import { qxlGuestState, type QxlGuestState } from '../../shared/display/qxl-decoded';
import { readQxlState } from '../../shared/display/qxl-state';
import { migwb } from '../helpers/cli';
import { haveQemu, loadInQemu } from '../helpers/qemu';
import { bootGuest, compareScreens, distinctColours, qemuScreendump, readGuestDword, saveGuest, waitStep } from '../helpers/screens';
import { QXL_GUEST, QXL_PROGRAM } from './qxl-guest';

/**
 * QXL in native mode (QEMU 7.2 only: the 10.0 build has no qxl module). The guest
 * (qxl-guest.ts) programs the device as a SPICE driver does; it is saved and loaded into a
 * fresh QEMU with -incoming. Both devices: a secondary qxl (its RAM BAR is "qxl.vgavram")
 * and qxl-vga ("vga.vram"); after a load QEMU 7.2's console of either shows the primary
 * surface (screendump), which is what our render must equal. The guest-memory decode is
 * checked against QEMU's own reading of it: HMP xp of the ring headers in the loaded VM,
 * and QEMU's command log (cmdlog=1) of the commands the device takes from the rings.
 */
const DRIVERS = ['qxl', 'qxl-vga'];

/** "123 qxl-0/csr: cmd @ 0x… cursor: …" -> ["csr", "cmd @ 0x… cursor: …"] */
function cmdlogLines(stderr: string | string[]): [string, string][] {
  const lines = typeof stderr === 'string' ? stderr.split('\n') : stderr;
  return lines.flatMap((l) => {
    const m = /^\d+ qxl-0\/(\w+): (.*)$/.exec(l);
    return m ? [[m[1], m[2]] as [string, string]] : [];
  });
}

function decodeImage(image: string): { guest: QxlGuestState; config: Uint8Array } {
  const img = openImage(image);
  try {
    const device = displayDevices(img.model)[0];
    const fields = deviceFields(img.source, img.model, device) as Fields;
    const state = readQxlState(fields);
    return { guest: qxlGuestState(state, new DeviceBlocks(img.source, img.model, device)), config: state.config };
  } finally {
    img.close();
  }
}

for (const driver of DRIVERS) {
  // cmdlog=1: QEMU prints every command the device hands to the SPICE server, decoded (qxl-logger.c).
  const machine = (qxl: string) => ['-M', 'pc', '-m', '32M', '-vga', 'none', '-device', qxl, '-serial', 'null', '-drive', 'file=qxl.img,format=raw,if=ide'];
  const MACHINE = machine(`${driver},addr=02.0,cmdlog=1`);
  const LOADER = [...machine(`${driver},addr=02.0`), '-display', 'none', '-nic', 'none'];
  const LOADER_CMDLOG = [...MACHINE, '-display', 'none', '-nic', 'none'];

  describe.skipIf(!haveQemu('7.2') || !haveAssembler())(`${driver} in native mode in QEMU 7.2: the screen and the guest-memory state, checked against QEMU (skipped without QEMU 7.2 or binutils)`, () => {
    let dir: string;
    let disk: string;
    let image: string;
    let savingLog: [string, string][] = [];

    beforeAll(async () => {
      dir = tempDir('migwb-qxl-native-');
      disk = buildBootDisk(dir, 'qxl', QXL_PROGRAM);
      image = path.join(dir, 'qxl-native.mig');
      const guest = await bootGuest('7.2', MACHINE, disk);
      try {
        await waitStep(guest.qmp, 0, 120_000);
        await saveGuest(guest.qmp, image);
        savingLog = cmdlogLines(guest.stderr());
      } finally {
        await guest.quit();
      }
    }, 300_000);

    afterAll(() => removeGuestFolder(dir));

    const render = () => {
      const img = openImage(image);
      try {
        return screenOfImage(img, { drawing: '7.2' });
      } finally {
        img.close();
      }
    };

    it(`the primary surface as we draw it equals QEMU's screendump of the loaded VM, pixel for pixel`, async () => {
      const ours = render();
      expect(ours.description.reason, JSON.stringify(ours.description)).toBeUndefined();
      expect(ours.description.device?.kind).toBe('qxl');
      const qemu = await qemuScreendump('7.2', image, LOADER, [disk]);
          expect(compareScreens(ours.framebuffer!, qemu, `${driver}-native-7.2`), JSON.stringify(ours.description.mode)).toBe('');
    }, 180_000);

    it('the primary surface is drawn at the size of head 0 of the monitors config, with the pattern the guest wrote', () => {
      const fb = render().framebuffer!;
      // head 0 of the guest's monitors config (600x400) is what QEMU shows of the 640x480 surface
      expect([fb.width, fb.height]).toEqual([QXL_GUEST.head0.width, QXL_GUEST.head0.height]);
      expect(distinctColours(fb)).toBeGreaterThan(200_000);
      // fill(): dword i of the surface is rol(i * 0x9e3779b1, 13) ^ i; pixel (x, y) is dword y * 640 + x.
      const expected = (i: number) => ((((Math.imul(i, 0x9e3779b1) >>> 0) << 13) | ((Math.imul(i, 0x9e3779b1) >>> 0) >>> 19)) ^ i) & 0xffffff;
      for (const [x, y] of [[0, 0], [599, 0], [17, 123], [599, 399]]) expect(fb.pixels[y * fb.width + x], `(${x},${y})`).toBe(expected(y * QXL_GUEST.surface.width + x));
    });

    it("the cursor QEMU recorded (guest_cursor) decodes to the SET command QEMU's command log showed when the device consumed it", () => {
      const { guest } = decodeImage(image);
      const set = savingLog.filter(([ring]) => ring === 'csr');
      expect(set, 'the saving QEMU logged one cursor command').toHaveLength(1);
      expect(guest.cursor?.log).toBe(set[0][1]);
      const c = QXL_GUEST.cursor;
      expect(guest.cursor?.cursor).toMatchObject({ typeName: 'set', x: c.x, y: c.y, visible: true, shapeHeader: { width: c.width, height: c.height, hotSpotX: c.hotX, hotSpotY: c.hotY } });
      expect(guest.monitorsConfig?.heads).toEqual([{ id: 0, surfaceId: 0, width: QXL_GUEST.head0.width, height: QXL_GUEST.head0.height, x: 0, y: 0, flags: 0 }]);
    });

    it('the ring positions are what the loaded QEMU reads, and the pending commands are what it logs when the device is notified', async () => {
      const { guest, config } = decodeImage(image);
      const rings = guest.ram!.rings;
      expect(guest.ram!.problem).toBeUndefined();
      const [command, cursor, release] = rings;
      expect(command.pending.map((p) => p.command?.draw?.bbox)).toEqual(QXL_GUEST.fillRects.map(({ top, left, bottom, right }) => ({ top, left, bottom, right })));
      expect(cursor.pending.map((p) => p.command?.cursor)).toEqual([{ type: 1, typeName: 'move', x: QXL_GUEST.move.x, y: QXL_GUEST.move.y }]);
      expect(release.pending).toEqual([]);
      const io = (config[0x1c] | (config[0x1d] << 8)) & ~3;

      const load = await loadInQemu({ version: '7.2', image, args: LOADER_CMDLOG, files: [disk] });
      expect(load.loaded, load.stderr.join('\n')).toBe(true);
      try {
        const qmp = load.qmp!;
        // QEMU's view of the same guest-physical addresses: num_items, prod, notify_on_prod, cons, notify_on_cons.
        for (const r of rings) {
          const words = [];
          for (let i = 0; i < 5; i++) words.push(await readGuestDword(qmp, r.at.gpa! + 4 * i));
          expect(words, `${r.name} ring at 0x${r.at.gpa!.toString(16)}`).toEqual([r.numItems, r.prod, r.notifyOnProd, r.cons, r.notifyOnCons]);
        }
        // Resume and ring both doorbells (QXL_IO_NOTIFY_CMD, QXL_IO_NOTIFY_CURSOR): the SPICE server takes the pending entries.
        await qmp.execute('cont');
        await qmp.hmp(`o /b 0x${io.toString(16)} 0`);
        await qmp.hmp(`o /b 0x${(io + 1).toString(16)} 0`);
        const expected = [...command.pending.map((p) => ['cmd', p.command!.log]), ...cursor.pending.map((p) => ['csr', p.command!.log])];
        const deadline = Date.now() + 30_000;
        let logged: [string, string][] = [];
        while (Date.now() < deadline) {
          logged = cmdlogLines(load.stderrNow!());
          if (logged.length >= expected.length) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const byRing = (ring: string) => logged.filter(([r]) => r === ring).map(([, text]) => text);
        expect(byRing('cmd')).toEqual(command.pending.map((p) => p.command!.log));
        expect(byRing('csr')).toEqual(cursor.pending.map((p) => p.command!.log));
      } finally {
        await load.quit();
      }
    }, 180_000);

    it('migwb dump --section qxl --decoded prints the rings and the cursor, in text and JSON', async () => {
      const text = await migwb('dump', '--section', 'qxl', '--decoded', image);
      expect(text.code, text.err).toBe(0);
      expect(text.out).toMatch(/command ring = 2 pending/);
      expect(text.out).toMatch(/cursor ring = 1 pending/);
      expect(text.out).toMatch(/cursor: move \+200\+150\) {2}@gpa 0x/);
      const json = await migwb('dump', '--section', 'qxl', '--decoded', '--json', image);
      const items = JSON.parse(json.out).sections[0].items as { label: string; children?: { label: string; gpa?: number; children?: unknown[] }[] }[];
      const header = items.find((i) => i.label === 'QXLRam header')!;
      const ring = header.children!.find((c) => c.label === 'command ring')!;
      expect(ring.gpa).toBe(decodeImage(image).guest.ram!.rings[0].at.gpa);
    });
  });
}
