import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { newFramebuffer, type Framebuffer } from '../../shared/display/framebuffer';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { tempFolder } from '../helpers/evidence';
import { haveChromium, openThroughPicker, screenshot, selectedRow } from '../helpers/browser';
import { compareScreens, decodePng, distinctColours } from '../helpers/screens';
import { useWorkbench } from '../helpers/use-workbench';

/**
 * The guest's screen in the app (issue 17), in real Chromium over the bridge: the Display
 * tab shows the picture `migwb screen` writes (compared pixel for pixel after the browser
 * decoded it), the mode and the decoded registers; an image whose display is off shows the
 * CLI's reason; the library shows the screens' thumbnails (drawn on demand) in its table and Screens grid,
 * and a placeholder with the reason for an image without a display device.
 */

const VGA_TEXT = corpusPath('qemu', 'x86_64-pc-smp2-running-32M.mig');
const QXL = corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav');
const DISPLAY_OFF = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const NO_DISPLAY = corpusPath('qemu', 'armv7-virt-cortex-a15-payload-paused-32M.mig');

interface CliScreen {
  device?: { idstr: string; kind: string };
  mode?: { description: string; width: number; height: number };
  reason?: string;
}

async function cliScreen(image: string, png?: string): Promise<CliScreen> {
  const r = await migwb('screen', image, '--json', ...(png ? ['-o', png] : []));
  expect(r.err).toBe('');
  return JSON.parse(r.out) as CliScreen;
}

/** The pixels of an <img> as Chromium decoded them (drawn 1:1 into a canvas), as a framebuffer. */
async function shownPixels(page: Page, testId: string): Promise<Framebuffer> {
  const { width, height, rgba } = await page.getByTestId(testId).evaluate(async (img: HTMLImageElement) => {
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const g = canvas.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
    let bin = '';
    for (let i = 0; i < data.length; i += 0x8000) bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { width: canvas.width, height: canvas.height, rgba: btoa(bin) };
  });
  const bytes = Buffer.from(rgba, 'base64');
  const fb = newFramebuffer(width, height);
  for (let i = 0; i < width * height; i++) {
    expect(bytes[4 * i + 3], 'an opaque picture').toBe(255);
    fb.pixels[i] = ((bytes[4 * i] << 16) | (bytes[4 * i + 1] << 8) | bytes[4 * i + 2]) >>> 0;
  }
  return fb;
}

const status = (page: Page) => page.getByTestId('status').textContent();

describe.skipIf(!haveChromium)("the guest's screen in real Chromium (issue 17)", () => {
  const wb = useWorkbench();
  const tmp = tempFolder('migwb-e2e-display-');

  for (const [image, kind, shot] of [
    [VGA_TEXT, 'vga', 'display-01-vga-text'],
    [QXL, 'qxl', 'display-02-qxl-vga-mode'],
  ] as const) {
    it(`${path.basename(image)}: the Display tab shows migwb screen's picture pixel for pixel, its mode, and the ${kind} registers decoded`, async () => {
      const png = path.join(tmp(), `${path.basename(image)}.png`);
      const cli = await cliScreen(image, png);
      expect(cli.device?.kind).toBe(kind);
      const expected = decodePng(fs.readFileSync(png));
      expect(distinctColours(expected), 'a picture with content').toBeGreaterThanOrEqual(2);

      const page = await wb().newPage();
      await page.setViewportSize({ width: 1500, height: 1000 });
      await openThroughPicker(page, image);
      await page.getByRole('tab', { name: 'Display' }).click();
      const picture = page.getByTestId('display-picture');
      await picture.waitFor();
      expect(compareScreens(await shownPixels(page, 'display-picture'), expected, `e2e-${path.basename(image)}`)).toBe('');

      const mode = page.getByTestId('display-mode');
      await expect(mode.textContent()).resolves.toContain(cli.mode!.description);
      await expect(mode.textContent()).resolves.toContain(`${expected.width}×${expected.height} pixels`);
      await expect(mode.textContent()).resolves.toContain(cli.device!.idstr);
      // The decoded panel: the mode first, then the VGA registers by name.
      const decoded = page.getByTestId('display-decoded');
      await expect(decoded.locator('.decoded-items').first().locator(':scope > li').first().textContent()).resolves.toContain(`mode${cli.mode!.description}`);
      await expect(decoded.textContent()).resolves.toMatch(/sequencer.*SR01 clocking mode/s);
      await expect(decoded.textContent()).resolves.toContain('CRT controller');
      // The SPICE vmchannel ports beside it: the libvirt save has a virtio-serial controller, the VGA guest none.
      const channels = page.getByTestId('display-channel');
      if (kind === 'qxl') await expect(channels.first().textContent()).resolves.toMatch(/virtio-serial \(vmchannel ports\).*port 1.*com\.redhat\.spice\.0/s);
      else await expect(channels.count()).resolves.toBe(0);
      // A register's offset shows its raw field: the structure tree selects the device section's field.
      await decoded.locator('summary', { hasText: 'sequencer' }).first().waitFor();
      await decoded.locator('li.decoded-leaf', { hasText: 'SR01 clocking mode' }).getByRole('button').click();
      await expect.poll(async () => (await selectedRow(page)).label).toMatch(/\bsr\b/);
      await screenshot(page, shot);
    }, 120_000);
  }

  it("an image whose display is off shows migwb screen's reason; an image without a display device has no Display tab", async () => {
    const cli = await cliScreen(DISPLAY_OFF);
    expect(cli.reason).toMatch(/display is off/);
    const page = await wb().newPage();
    await openThroughPicker(page, DISPLAY_OFF);
    await page.getByRole('tab', { name: 'Display' }).click();
    await expect(page.getByTestId('display-reason').textContent()).resolves.toBe(`No picture: ${cli.reason}`);
    await expect(page.getByTestId('display-picture').count()).resolves.toBe(0);

    await openThroughPicker(page, NO_DISPLAY);
    await expect(page.getByRole('tab', { name: 'Memory map' }).count()).resolves.toBeGreaterThan(0);
    await expect(page.getByRole('tab', { name: 'Display' }).count()).resolves.toBe(0);
  }, 120_000);

  it('the library: thumbnails in the table and the Screens grid for display images, a placeholder with the reason for the others', async () => {
    const folder = path.join(tmp(), 'saves');
    fs.mkdirSync(folder);
    for (const f of [VGA_TEXT, QXL, DISPLAY_OFF, NO_DISPLAY]) fs.copyFileSync(f, path.join(folder, path.basename(f)));
    const copy = (f: string) => path.join(folder, path.basename(f));
    const page = await wb().newPage();
    await page.setViewportSize({ width: 1500, height: 900 });
    await page.getByRole('tab', { name: 'Library' }).click();
    await page.getByRole('button', { name: 'Add folder…' }).first().click();
    const picker = page.getByTestId('file-picker');
    await picker.getByRole('textbox', { name: 'Folder' }).fill(folder);
    await picker.getByRole('textbox', { name: 'Folder' }).press('Enter');
    await picker.locator('.entry', { hasText: path.basename(QXL) }).first().waitFor();
    await picker.getByRole('button', { name: 'Choose folder' }).click();
    await expect.poll(() => status(page), { timeout: 120_000 }).toMatch(/Indexed: 4 new or changed/);

    // The table: the thumbnail of each display image is the screen scaled into the 240x180 box.
    for (const f of [VGA_TEXT, QXL]) {
      const thumb = page.locator(`.library-row[data-path="${copy(f)}"]`).getByTestId('thumbnail');
      await thumb.waitFor();
      const size = await thumb.evaluate((img: HTMLImageElement) => img.decode().then(() => [img.naturalWidth, img.naturalHeight]));
      expect(size, path.basename(f)).toEqual([240, 133]); // 720x400 text, scaled by 1/3
      await expect(thumb.getAttribute('title')).resolves.toBe('text 80x25 (9x16 cells), 720×400');
    }
    for (const [f, reason] of [
      [DISPLAY_OFF, /^No screen: the display is off/],
      [NO_DISPLAY, /^No screen: the image has no display device/],
    ] as const) {
      const none = page.locator(`.library-row[data-path="${copy(f)}"]`).getByTestId('thumbnail-none');
      await none.waitFor();
      await expect(none.getAttribute('title')).resolves.toMatch(reason);
    }
    await screenshot(page, 'display-03-library-thumbnails');

    // The grid of screens lists the same images, each card with its thumbnail or placeholder.
    await page.getByRole('button', { name: 'Screens' }).click();
    const grid = page.getByTestId('library-grid');
    await grid.waitFor();
    await expect.poll(() => grid.locator('.library-card').count()).toBe(4);
    await expect.poll(() => grid.getByTestId('thumbnail').count()).toBe(2);
    await expect(grid.getByTestId('thumbnail-none').count()).resolves.toBe(2);
    for (const f of [VGA_TEXT, QXL]) await grid.locator(`.library-card[data-path="${copy(f)}"]`).getByTestId('thumbnail').waitFor();
    await screenshot(page, 'display-04-library-screens');
    // A card opens its image like a row does.
    await grid.locator(`.library-card[data-path="${copy(VGA_TEXT)}"]`).dblclick();
    await page.getByRole('tab', { name: new RegExp(path.basename(VGA_TEXT).replace(/[.]/g, '\\.')) }).waitFor();
  }, 240_000);
});
