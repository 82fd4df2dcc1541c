import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../electron/api/handlers';
import { dispatch } from '../../electron/api/dispatch';
import { PathGrants } from '../../electron/api/path-grants';
import { encodePng } from '../../electron/display/png';
import { screenOfImage } from '../../electron/display/screen-service';
import { Library } from '../../electron/index/library';
import { openImage } from '../../electron/services/open-image';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import type { WorkbenchApi } from '../../shared/api/contract';
import { newFramebuffer } from '../../shared/display/framebuffer';
import { scaleToFit } from '../../shared/display/thumbnail';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { tempFolder } from '../helpers/evidence';
import { corpusAndTemp } from '../helpers/grants';
import { decodePng } from '../helpers/screens';

/**
 * The app's side of `migwb screen` over the real handlers and a real SQLite library: the
 * Display tab's answer is the CLI's (the same PNG bytes, mode and reason) with the decoded
 * registers; the indexer stores each image's thumbnail (the screen scaled into the box) or
 * the reason there is none, and the renderer gets only those of files it may read.
 */
const VGA_TEXT = corpusPath('qemu', 'x86_64-pc-smp2-running-32M.mig');
const QXL = corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav');
const DISPLAY_OFF = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const NO_DISPLAY = corpusPath('qemu', 'armv7-virt-cortex-a15-payload-paused-32M.mig');
const REQUEST = { device: null, drawing: '10.0' } as const;

describe('displayScreen: the Display tab gets what migwb screen gives', () => {
  const tmp = tempFolder('migwb-display-api-');
  let library: Library;
  let api: WorkbenchApi;
  beforeAll(() => {
    library = Library.open(path.join(tmp(), 'library.sqlite'));
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'test', () => undefined);
  });
  afterAll(() => library.close());

  for (const image of [VGA_TEXT, QXL]) {
    it(`${path.basename(image)}: the same PNG bytes as migwb screen -o, its mode and sources, and the registers decoded`, async () => {
      const png = path.join(tmp(), `${path.basename(image)}.png`);
      const cli = JSON.parse((await migwb('screen', image, '--json', '-o', png)).out);
      const opened = await api.openImage(image);
      expect(opened.displays).toEqual([cli.device.idstr]);
      const view = await api.displayScreen(opened.handle, REQUEST);
      expect(Buffer.from(view.png!, 'base64').equals(fs.readFileSync(png))).toBe(true);
      expect(view.mode?.description).toBe(cli.mode.description);
      expect([view.width, view.height]).toEqual([cli.width, cli.height]);
      expect(view.sources.map((s) => [s.block, s.offset, s.length, s.gpa])).toEqual(cli.sources.map((s: { block: string; offset: number; length: number; gpa: number }) => [s.block, s.offset, s.length, s.gpa]));
      expect(view.reason).toBeNull();
      expect(view.decoded?.items[0]).toMatchObject({ label: 'mode', value: cli.mode.description });
      expect(view.decoded?.items.map((i) => i.label)).toEqual(expect.arrayContaining(['sequencer', 'graphics controller', 'CRT controller', 'attribute controller']));
      await api.closeImage(opened.handle);
    });
  }

  it("the SPICE vmchannel state beside the screen is migwb dump --decoded's, the ports named from the libvirt save's XML", async () => {
    const cli = JSON.parse((await migwb('dump', QXL, '--section', 'virtio-console', '--decoded', '--json')).out);
    const opened = await api.openImage(QXL);
    const view = await api.displayScreen(opened.handle, REQUEST);
    expect(view.channels).toEqual(cli.sections.map((s: { idstr: string; title: string; items: unknown[] }) => ({ section: s.idstr, title: s.title, items: s.items })));
    expect(view.channels[0].items.find((i) => i.label === 'port 1')).toMatchObject({ value: 'com.redhat.spice.0' });
    await api.closeImage(opened.handle);
    // An image without virtio-serial or usb-redir has none.
    const vga = await api.openImage(VGA_TEXT);
    expect((await api.displayScreen(vga.handle, REQUEST)).channels).toEqual([]);
    await api.closeImage(vga.handle);
  });

  it("a blank display gives the CLI's reason and no picture; an image without a display device lists none", async () => {
    const cli = JSON.parse((await migwb('screen', DISPLAY_OFF, '--json')).out);
    const off = await api.openImage(DISPLAY_OFF);
    const view = await api.displayScreen(off.handle, REQUEST);
    expect(view).toMatchObject({ png: null, reason: cli.reason, width: null });
    expect(view.decoded?.items[0]).toMatchObject({ label: 'mode', problem: cli.reason });
    const none = await api.openImage(NO_DISPLAY);
    expect(none.displays).toEqual([]);
    expect(await api.displayScreen(none.handle, REQUEST)).toMatchObject({ device: null, png: null, decoded: null, reason: expect.stringMatching(/no display device/) });
  });

  it('an edit of a VGA register shows on the next look (the screen of the image as it stands)', async () => {
    const opened = await api.openImage(VGA_TEXT);
    const before = await api.displayScreen(opened.handle, REQUEST);
    // The attribute controller's index with the palette-address-source bit cleared: the display goes off.
    await api.editApply(opened.handle, { op: 'set-field', field: '0000:00:02.0/vga.vga.ar_index', value: '0x00' });
    const after = await api.displayScreen(opened.handle, REQUEST);
    expect(before.png).not.toBeNull();
    expect(after).toMatchObject({ png: null, reason: expect.stringMatching(/display is off/) });
    await api.editUndo(opened.handle);
    expect((await api.displayScreen(opened.handle, REQUEST)).png).toBe(before.png);
    await api.closeImage(opened.handle);
  });

  it('refuses malformed requests before they reach the handler', async () => {
    const opened = await api.openImage(VGA_TEXT);
    for (const bad of [{ ...REQUEST, drawing: '9.0' }, { ...REQUEST, qxlView: 'guest' }, { ...REQUEST, device: '' }, { device: null }, { ...REQUEST, extra: 1 }, null]) {
      await expect(dispatch(api, 'displayScreen', [opened.handle, bad])).rejects.toThrow(/invalid arguments for displayScreen/);
    }
    await expect(dispatch(api, 'libraryScreens', [[]])).rejects.toThrow(/invalid arguments for libraryScreens/);
    await expect(dispatch(api, 'libraryScreens', [[1.5]])).rejects.toThrow(/invalid arguments for libraryScreens/);
    await expect(dispatch(api, 'displayScreen', [opened.handle, { ...REQUEST, drawing: '7.2' }])).resolves.toMatchObject({ drawnAs: '7.2' });
    await api.closeImage(opened.handle);
  });
});

describe('library thumbnails: drawn on demand in a worker, kept in the library for the file they show, given only for readable files', () => {
  const tmp = tempFolder('migwb-display-library-');
  let library: Library;
  let api: WorkbenchApi;
  let folder: string;
  beforeAll(async () => {
    folder = path.join(tmp(), 'saves');
    fs.mkdirSync(folder);
    for (const f of [VGA_TEXT, QXL, DISPLAY_OFF, NO_DISPLAY]) fs.copyFileSync(f, path.join(folder, path.basename(f)));
    fs.writeFileSync(path.join(folder, 'notes.txt'), 'not an image');
    library = Library.open(path.join(tmp(), 'library.sqlite'));
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'test', () => undefined);
    const report = await library.index([folder]);
    expect(report).toMatchObject({ indexed: 4, notImages: 1, failed: 0 });
  }, 120_000);
  afterAll(() => library.close());

  const idOf = (f: string) => library.idOf(path.join(folder, path.basename(f)));

  it('a display image has the screen scaled into the 240x180 box; the others say why they have none', async () => {
    const all = [VGA_TEXT, QXL, DISPLAY_OFF, NO_DISPLAY].map(idOf);
    // Indexing draws nothing: every image is still to be drawn.
    expect(library.screens(all).every((s) => s.toDraw !== undefined && s.png === null)).toBe(true);
    const screens = new Map((await api.libraryScreens(all)).map((s) => [s.id, s]));
    for (const f of [VGA_TEXT, QXL]) {
      const s = screens.get(idOf(f))!;
      const img = openImage(f);
      const fb = screenOfImage(img).framebuffer!;
      img.close();
      expect(s).toMatchObject({ width: 720, height: 400, mode: 'text 80x25 (9x16 cells)', reason: null });
      expect(Buffer.from(s.png!, 'base64').equals(Buffer.from(encodePng(scaleToFit(fb, 240, 180))))).toBe(true);
      expect(decodePng(Buffer.from(s.png!, 'base64'))).toMatchObject({ width: 240, height: 133 });
    }
    expect(screens.get(idOf(DISPLAY_OFF))).toMatchObject({ png: null, mode: 'blank', reason: expect.stringMatching(/^the display is off/) });
    expect(screens.get(idOf(NO_DISPLAY))).toMatchObject({ png: null, mode: null, reason: expect.stringMatching(/^the image has no display device/) });
    const notImage = (await api.libraryScreens([library.idOf(path.join(folder, 'notes.txt'))]))[0];
    expect(notImage).toMatchObject({ png: null, reason: expect.stringMatching(/^not-an-image: content not recognised/) });
    // Kept: the library gives them without drawing again.
    const kept = library.screens(all).sort((a, b) => a.id - b.id);
    expect(kept.map((s) => [s.id, s.toDraw, s.png])).toEqual([...all].sort((a, b) => a - b).map((id) => [id, undefined, screens.get(id)!.png]));
  }, 120_000);

  it('a file changed since it was indexed is not drawn; re-indexing it drops the old thumbnail and the next look draws the new one', async () => {
    const target = path.join(folder, path.basename(VGA_TEXT));
    const id = idOf(VGA_TEXT);
    fs.copyFileSync(NO_DISPLAY, target);
    library.storeScreens([{ id, sha256: 'an older version', png: null, width: null, height: null, mode: null, reason: 'old' }]);
    expect((await api.libraryScreens([id]))[0]).toMatchObject({ png: null, reason: expect.stringMatching(/changed since it was indexed/) });
    await library.index([folder]);
    expect(library.screens([id])[0].toDraw).toBeDefined();
    expect((await api.libraryScreens([id]))[0]).toMatchObject({ png: null, reason: expect.stringMatching(/no display device/) });
    fs.copyFileSync(VGA_TEXT, target);
    await library.index([folder]);
    expect((await api.libraryScreens([id]))[0]).toMatchObject({ width: 720, height: 400 });
  }, 120_000);

  it('libraryScreens gives the renderer only the thumbnails of files it may read', async () => {
    const only = new PathGrants();
    only.grantFile(path.join(folder, path.basename(QXL)));
    const limited = createHandlers({ sessions: new ImageSessions(), library, grants: only, host: 'bridge', version: 'test', initialPaths: [] }, 'test', () => undefined);
    const got = await limited.libraryScreens([idOf(QXL), idOf(VGA_TEXT)]);
    expect(got.map((s) => s.id)).toEqual([idOf(QXL)]);
    expect(got[0]).not.toHaveProperty('path');
    expect(got[0]).not.toHaveProperty('toDraw');
  });
});

describe('scaleToFit: each thumbnail pixel the average of the screen pixels it covers', () => {
  it('averages 3x3 blocks, keeps the aspect ratio, and leaves a small picture as it is', () => {
    const fb = newFramebuffer(6, 3);
    // Left block white/black checker (5 white of 9), right block pure red.
    for (let y = 0; y < 3; y++) for (let x = 0; x < 6; x++) fb.pixels[y * 6 + x] = x < 3 ? ((x + y) % 2 === 0 ? 0xffffff : 0) : 0xff0000;
    const small = scaleToFit(fb, 2, 2);
    expect([small.width, small.height]).toEqual([2, 1]);
    const grey = Math.round((5 * 255) / 9);
    expect([...small.pixels]).toEqual([(grey << 16) | (grey << 8) | grey, 0xff0000]);
    expect(scaleToFit(fb, 6, 3)).toBe(fb);
  });
});
