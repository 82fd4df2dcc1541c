import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { JournalAutosave } from '../../electron/workbench/journal-autosave';
import { migwb } from '../helpers/cli';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import { sha256File, tempFolder } from '../helpers/evidence';
import { haveQemu, migrateToFile, QEMU, withGuest } from '../helpers/qemu';
import { cursorByte, haveChromium, openThroughPicker, screenshot, selectedHexBytes, selectedRow } from '../helpers/browser';
import { useWorkbench } from '../helpers/use-workbench';

/**
 * The app as an analyst's daily tool (issue 19), in real Chromium over the bridge and a real
 * SQLite library: the library as the front door (filter, tags, notes, export, re-index with
 * progress and cancel, open from rows), edits that survive a closed page, and guest memory.
 */

const QEMU_DIR = corpusPath('qemu');
const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const COMPRESS = corpusPath('qemu', 'x86_64-pc-compress-payload-paused-32M.mig');

interface CliListing {
  images: { path: string; errors: number; tags: string[]; ram_bytes: number | null }[];
}

async function cliListing(db: string): Promise<CliListing> {
  const r = await migwb('ls', '--db', db, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as CliListing;
}

/**
 * Chooses a folder (or a file to save) in the in-app picker, once it lists that folder
 * (`shows`: a file in it): the picker's first listing may arrive after the one asked for.
 */
async function pickIn(page: Page, folder: string, shows: string, fileName?: string): Promise<void> {
  const picker = page.getByTestId('file-picker');
  await picker.getByRole('textbox', { name: 'Folder' }).fill(folder);
  await picker.getByRole('textbox', { name: 'Folder' }).press('Enter');
  await picker.locator('.entry', { hasText: shows }).first().waitFor();
  if (fileName === undefined) return picker.getByRole('button', { name: 'Choose folder' }).click();
  await picker.getByRole('textbox', { name: 'File name' }).fill(fileName);
  await picker.getByRole('button', { name: 'Save' }).click();
}

/** The page holding an address, as 8 hex digits (the memory view describes the page at the cursor). */
const pageOf = (address: string) => (Number(address) & ~0xfff).toString(16).padStart(8, '0');
const rows = (page: Page) => page.locator('.library-row');
const rowOf = (page: Page, file: string) => page.locator(`.library-row[data-path="${file}"]`);
const status = (page: Page) => page.getByTestId('status').textContent();
const filter = (page: Page) => page.getByRole('searchbox', { name: 'Filter library' });

describe.skipIf(!haveChromium)('the app workflow in real Chromium (issue 19)', () => {
  const wb = useWorkbench();
  const tmp = tempFolder('migwb-e2e-app-');

  it('Re-index: a new folder indexed with progress and cancelled midway; Re-index all finishes it; Re-index selected reads one file', async () => {
    const folder = tmp();
    // Enough files that Cancel lands while the run is on them, even on a loaded machine.
    const copies = 600;
    for (let i = 0; i < copies; i++) fs.copyFileSync(MINIMAL, path.join(folder, `copy-${String(i).padStart(3, '0')}.mig`));
    const page = await wb().newPage();
    await page.getByRole('tab', { name: 'Library' }).click();
    const library = page.getByTestId('library');
    const before = Number(await library.getAttribute('data-progress-events'));
    await page.getByRole('button', { name: 'Add folder…' }).first().click();
    await pickIn(page, folder, 'copy-000.mig');
    // The progress shows files as they go; Cancel stops the run partway. The view records the
    // events it heard, which stay after the bar goes: polled there, not on the bar, whose text
    // a slow look could miss. (The worker lists the folder first: on a loaded machine that takes a while.)
    await expect.poll(() => library.getAttribute('data-last-progress'), { timeout: 60_000, interval: 20 }).toMatch(new RegExp(`^\\d+/${copies}$`));
    const progress = page.getByTestId('index-progress');
    expect(await progress.textContent({ timeout: 5_000 })).toMatch(new RegExp(`\\d+ / ${copies} files`));
    await screenshot(page, '21-library-indexing');
    await progress.getByRole('button', { name: 'Cancel indexing' }).click();
    await expect.poll(() => status(page)).toMatch(/^Indexing cancelled: (\d+) new or changed/);
    const cancelled = Number(/cancelled: (\d+) new/.exec((await status(page))!)![1]);
    expect(cancelled).toBeLessThan(copies);
    await filter(page).fill('name:copy-');
    // Counted by the view's own count, not by rows: the rows are virtualised, so only those on
    // screen exist in the DOM (a cancel that lands late indexes more than a screenful).
    await expect.poll(() => page.locator('.library-count').textContent()).toMatch(new RegExp(`^${cancelled}( of \\d+)? images?$`));
    expect(Number(await library.getAttribute('data-progress-events'))).toBeGreaterThan(before);

    // Re-index all: the rest of the folder (the library remembers it), the corpus unchanged.
    await page.getByRole('button', { name: 'Re-index all' }).click();
    await expect.poll(() => status(page), { timeout: 120_000 }).toMatch(new RegExp(`^Indexed: ${copies - cancelled} new or changed, \\d+ unchanged, 0 missing, 0 failed`));
    // Its progress was heard too, up to the last file, however fast it went.
    await expect.poll(() => library.getAttribute('data-last-progress')).toBe(`${copies - cancelled}/${copies - cancelled}`);
    await expect.poll(() => page.locator('.library-count').textContent()).toMatch(new RegExp(`^${copies}( of \\d+)? images$`));

    // Re-index selected: one file, unchanged.
    await rows(page).first().click();
    await page.getByRole('button', { name: 'Re-index selected' }).click();
    await expect.poll(() => status(page)).toMatch(/^Indexed: 0 new or changed, 1 unchanged, 0 missing, 0 failed of 1 file in/);
  }, 240_000);

  it('the library as the front door: index the corpus, filter by problems and tags, tag, note, export as the CLI does, open from rows', async () => {
    const page = await wb().newPage();
    await page.getByRole('tab', { name: 'Library' }).click();
    await page.getByRole('button', { name: 'Add folder…' }).first().click();
    await pickIn(page, QEMU_DIR, path.basename(E1000));
    await expect.poll(() => status(page), { timeout: 120_000 }).toMatch(/Indexed: \d+ new or changed/);
    const listing = await cliListing(wb().libraryFile);
    expect(listing.images.length).toBeGreaterThan(10);
    await expect.poll(() => page.locator('.library-count').textContent()).toBe(`${listing.images.length} images`);

    // The columns a user scans: wrapper, machine, QEMU hint, RAM, devices.
    await filter(page).fill('name:e1000-payload'); // the rows are virtualised: bring it on screen
    const e1000 = rowOf(page, E1000);
    // RAM is every RAM block's size (pc.ram, vga.vram, the ROMs), as the library records it.
    const ram = listing.images.find((i) => i.path === E1000)!.ram_bytes!;
    expect(ram).toBeGreaterThan(32 << 20);
    await expect.poll(() => e1000.locator('[role="gridcell"]').allTextContents()).toEqual([
      '', // the screen thumbnail (a picture, or an empty placeholder with the reason as its tooltip)
      path.basename(E1000),
      'bare stream',
      'pc-i440fx-7.2',
      expect.stringMatching(/7\.2/),
      `${Math.round(ram / 2 ** 20)} MiB`,
      expect.stringMatching(/\be1000\b/),
      '1.9 MiB',
      '',
      'indexed',
      'none',
      expect.stringMatching(/^\d{4}-/),
    ]);

    // "error" matches exactly the rows with errors (as the CLI counts them); severity:error too.
    const withErrors = listing.images.filter((i) => i.errors > 0).map((i) => i.path).sort();
    expect(withErrors.length).toBeGreaterThanOrEqual(3);
    const shownPaths = async () => (await rows(page).evaluateAll((rs) => rs.map((r) => r.getAttribute('data-path') ?? ''))).sort();
    await filter(page).fill('error');
    await expect.poll(shownPaths).toEqual(withErrors);
    await filter(page).fill('severity:error');
    await expect.poll(shownPaths).toEqual(withErrors);

    // Tag the three flip-hdr samples (Ctrl+A in the rows), then filter by the tag.
    await filter(page).fill('flip-hdr');
    await expect.poll(() => rows(page).count()).toBe(3);
    await rows(page).first().click();
    await page.keyboard.press('Control+a');
    await expect.poll(() => page.getByTestId('selection-count').textContent()).toBe('3 images selected');
    await page.getByRole('textbox', { name: 'Tag' }).fill('case-4711');
    await page.getByRole('button', { name: 'Add tag' }).click();
    await expect.poll(() => status(page)).toMatch(/Tagged case-4711 on 3 images/);
    await filter(page).fill('tag:case-4711');
    const flipped = (await cliListing(wb().libraryFile)).images.filter((i) => i.tags.includes('case-4711')).map((i) => i.path).sort();
    expect(flipped).toHaveLength(3);
    expect(flipped.every((p) => p.includes('flip-hdr'))).toBe(true);
    await expect.poll(shownPaths).toEqual(flipped);
    await expect.poll(() => rows(page).first().locator('[role="gridcell"]').nth(8).textContent()).toBe('case-4711');

    // A note on one image, in its details; the CLI reads it back; the filter finds it.
    await filter(page).fill('name:e1000-payload');
    await rowOf(page, E1000).click();
    const details = page.getByTestId('library-details');
    await expect.poll(() => details.locator('h2').textContent()).toBe(path.basename(E1000));
    await details.getByRole('textbox', { name: 'New note' }).fill('seized from host A; payload planted at 0x100000');
    await details.getByRole('button', { name: 'Add note' }).click();
    await expect.poll(() => page.getByTestId('detail-notes').textContent()).toContain('seized from host A; payload planted at 0x100000');
    const notes = await migwb('note', E1000, '--db', wb().libraryFile);
    expect(notes.out).toMatch(/#\d+ {2}\d{4}-\d\d-\d\d .*seized from host A; payload planted at 0x100000/);
    await filter(page).fill('note:seized');
    await expect.poll(shownPaths).toEqual([E1000]);
    await screenshot(page, '20-library-tag-note');

    // Export every row (no filter, no selection): the file is what `migwb ls --export` prints.
    await filter(page).fill('');
    await page.getByRole('grid', { name: 'Library' }).locator('.library-rows').focus();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('selection-count').textContent()).toMatch(/No selection/);
    const out = tmp();
    fs.writeFileSync(path.join(out, 'exports-go-here.txt'), 'the picker lists this folder once this shows\n');
    for (const format of ['csv', 'json'] as const) {
      await page.getByRole('combobox', { name: 'Export format' }).selectOption(format);
      await page.getByRole('button', { name: `Export ${listing.images.length} rows…` }).click();
      await pickIn(page, out, 'exports-go-here.txt', `library.${format}`);
      await expect.poll(() => status(page)).toMatch(new RegExp(`Exported ${listing.images.length} rows to .*library\\.${format}`));
      const fromCli = await migwb('ls', '--db', wb().libraryFile, '--export', format, '-o', path.join(out, `cli.${format}`));
      expect(fromCli.code, fromCli.err).toBe(0);
      expect(fromCli.out).toMatch(new RegExp(`^${listing.images.length} rows written to `));
      expect(fs.readFileSync(path.join(out, `library.${format}`), 'utf8')).toBe(fs.readFileSync(path.join(out, `cli.${format}`), 'utf8'));
    }
    const exported = JSON.parse(fs.readFileSync(path.join(out, 'library.json'), 'utf8')) as { path: string; tags: string; notes: string }[];
    expect(exported.filter((r) => r.tags === 'case-4711').map((r) => r.path).sort()).toEqual(flipped);
    expect(exported.find((r) => r.path === E1000)?.notes).toBe('seized from host A; payload planted at 0x100000');

    // Open from a row: Enter on the selected row, double-click on another.
    await filter(page).fill('name:e1000-payload');
    await rowOf(page, E1000).click();
    await page.keyboard.press('Enter');
    await page.getByRole('tab', { name: /e1000-payload-paused-32M\.mig/ }).waitFor();
    await page.getByRole('tab', { name: 'Library' }).click();
    await filter(page).fill('name:compress-payload');
    await rowOf(page, COMPRESS).dblclick();
    await page.getByRole('tab', { name: /compress-payload-paused-32M\.mig/ }).waitFor();
    await expect.poll(() => page.locator('.tabs [role="tab"][aria-selected="true"]').textContent()).toMatch(/compress-payload/);
    await page.close();
  }, 240_000);

  it('unsaved edits: closing a dirty tab asks (Cancel keeps it), reloading asks; after a reload, and after a closed page, reopening restores the edit', async () => {
    const page = await wb().newPage();
    await openThroughPicker(page, MINIMAL);
    await selectEip(page);
    await page.getByRole('textbox', { name: 'Set value' }).fill('0x1234');
    await page.getByRole('textbox', { name: 'Set value' }).press('Enter');
    await expect.poll(() => selectedHexBytes(page)).toEqual(['00', '00', '00', '00', '00', '00', '12', '34']);
    const tab = page.getByRole('tab', { name: /minimal-paused-16M\.mig/ });
    await expect.poll(() => tab.textContent()).toContain('●');

    // Close the tab: the question comes first; Cancel keeps the tab and its edit.
    await tab.getByRole('button', { name: /^Close / }).click();
    const dialog = page.getByTestId('confirm-dialog');
    await expect.poll(() => dialog.textContent()).toMatch(/x86_64-pc-minimal-paused-16M\.mig has 1 unsaved edit\./);
    await screenshot(page, '22-close-dirty-tab');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    await expect.poll(() => tab.textContent()).toContain('●');

    // Reloading asks too (beforeunload); staying keeps everything.
    const asked = page.waitForEvent('dialog');
    void page.evaluate(() => location.reload()).catch(() => undefined);
    const beforeUnload = await asked;
    expect(beforeUnload.type()).toBe('beforeunload');
    await beforeUnload.dismiss();
    await expect.poll(() => tab.textContent()).toContain('●');

    // The journal is kept beside the library: reloading for real loses nothing.
    const kept = new JournalAutosave(path.join(path.dirname(wb().libraryFile), 'autosave')).fileFor(MINIMAL);
    await expect.poll(() => fs.existsSync(kept)).toBe(true);
    page.once('dialog', (d) => void d.accept());
    await page.reload();
    await page.waitForSelector('.toolbar');
    await expect.poll(() => page.locator('.tabs [role="tab"][data-handle]').count()).toBe(0);
    await restoreIn(page);

    // The restored edit is kept again: a page closed without a word loses nothing either.
    await page.close();
    const again = await wb().newPage();
    await restoreIn(again);
    // The image itself was never written.
    expect(sha256File(MINIMAL)).toBe(readJson(sidecar(MINIMAL, 'meta')).sha256);
  }, 150_000);

  /** Opens MINIMAL, restores the edit an earlier page left (env.eip = 0x1234), and checks it is there. */
  async function restoreIn(page: Page): Promise<void> {
    await openThroughPicker(page, MINIMAL);
    const offer = page.getByTestId('restore-offer');
    await expect.poll(() => offer.textContent()).toMatch(/^1 unsaved edit from \d{4}-\d\d-\d\d \d\d:\d\d were kept\./);
    await screenshot(page, '23-restore-offer');
    await offer.getByRole('button', { name: 'Restore' }).click();
    await expect.poll(() => page.getByTestId('status').textContent()).toMatch(/restored 1 unsaved edit from .*; no errors \(not saved yet\)/);
    await expect.poll(() => offer.count()).toBe(0);
    await page.getByRole('tab', { name: 'Edits (1)' }).waitFor();
    await selectEip(page);
    await expect.poll(() => selectedHexBytes(page)).toEqual(['00', '00', '00', '00', '00', '00', '12', '34']);
    await expect.poll(() => page.getByRole('tab', { name: /minimal-paused-16M\.mig/ }).textContent()).toContain('●');
  }

  async function selectEip(p: Page): Promise<void> {
    const cpu = p.locator('.tree-row', { has: p.locator('.label', { hasText: /^cpu$/ }) });
    if ((await cpu.getAttribute('aria-expanded')) !== 'true') await cpu.locator('.twisty').click();
    await p.locator('.tree-row', { has: p.locator('.label', { hasText: /^env\.eip$/ }) }).click();
  }


  for (const image of [E1000, COMPRESS]) {
    it(`guest memory of ${path.basename(image)}: search finds the planted markers at the addresses its meta.json gives; a hit jumps to its record; go to a guest-physical address`, async () => {
      const payload = readJson(sidecar(image, 'meta')).planted_payload!;
      const page = await wb().newPage();
      await openThroughPicker(page, image);
      await page.getByRole('tab', { name: 'Memory search' }).click();
      // A pattern the backend refuses (over 1 KiB) gives a message for the user, not the API's argument check.
      await page.getByRole('searchbox', { name: 'Search guest memory' }).fill('x'.repeat(2000));
      await page.getByRole('button', { name: 'Search memory' }).click();
      await expect.poll(() => page.getByTestId('memory-search').locator('.error').textContent()).toMatch(/^Could not search guest memory: .*Try again with other values/);
      expect(await page.getByTestId('memory-search').textContent()).not.toMatch(/invalid arguments/);
      await page.getByRole('searchbox', { name: 'Search guest memory' }).fill(payload.marker);
      await page.getByRole('button', { name: 'Search memory' }).click();
      await expect.poll(() => page.getByTestId('memory-search-summary').textContent(), { timeout: 60_000 }).toMatch(new RegExp(`^${payload.marker_guest_phys_addrs.length} hits in \\d+ MiB`));
      const hits = page.getByRole('grid', { name: 'Memory search hits' }).getByRole('row');
      await expect.poll(() => hits.evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-gpa'))))).toEqual(payload.marker_guest_phys_addrs.map(Number));
      await expect.poll(() => hits.first().textContent()).toMatch(new RegExp(`^0x00100000pc\\.ram\\+0x00100000${image === COMPRESS ? 'compressed' : 'page'}`));
      await screenshot(page, `24-memory-search-${image === COMPRESS ? 'compress' : 'e1000'}`);

      // A hit jumps to the record that holds it.
      await hits.first().click();
      await expect.poll(async () => (await selectedRow(page)).label).toBe('page 0x100000');

      // Go to a guest-physical address: the memory view shows the marker's first byte there, and where the page came from.
      await page.getByRole('button', { name: 'Guest memory', exact: true }).click();
      const address = payload.marker_guest_phys_addrs[1];
      await page.getByRole('textbox', { name: 'Go to guest address' }).fill(address);
      await page.getByRole('textbox', { name: 'Go to guest address' }).press('Enter');
      await expect.poll(() => page.getByTestId('memory-cursor').textContent()).toBe(`GPA 0x${Number(address).toString(16).padStart(8, '0')}`);
      await expect.poll(() => cursorByte(page)).toBe(Buffer.from(payload.marker).toString('hex').slice(0, 2));
      await expect.poll(() => page.getByTestId('memory-origin').textContent()).toMatch(new RegExp(`^GPA 0x${pageOf(address)} · pc\\.ram\\+0x${pageOf(payload.marker_ramblock_offsets[1])} · ${image === COMPRESS ? 'compress' : 'page'} record`));
      // The map: pc.ram's regions with their page states.
      await page.getByRole('tab', { name: 'Memory map' }).click();
      await expect.poll(() => page.getByTestId('memory-map').locator('[data-kind="region"][data-block="pc.ram"]').count()).toBeGreaterThan(0);
      await screenshot(page, `25-memory-view-${image === COMPRESS ? 'compress' : 'e1000'}`);
    }, 120_000);
  }

  // A guest large enough that a search runs for a while: 512 MiB of random RAM (made here with
  // QEMU 7.2), searched with a regex (one worker, no literal shortcut), cancelled at its first progress.
  it.skipIf(!haveQemu('7.2'))('cancel a guest-memory search of a 512 MiB guest: it stops, says so, keeps no partial hits, sends no more progress and frees its worker', async () => {
    const folder = tmp();
    const payload = path.join(folder, 'random-512M.bin');
    fs.writeFileSync(payload, randomBytes(512 << 20));
    const image = path.join(folder, 'x86_64-pc-random512M-paused.mig');
    await withGuest({ binary: QEMU['7.2'], args: ['-M', 'pc', '-m', '640', '-device', 'loader,file=random-512M.bin,addr=0x100000,force-raw=on'], files: [payload] }, ({ qmp }) => migrateToFile(qmp, image));
    fs.rmSync(payload);
    const page = await wb().newPage();
    await openThroughPicker(page, image);
    await page.getByRole('tab', { name: 'Memory search' }).click();
    // The events as they reach the page, through the same preload channel the app listens on.
    await page.evaluate(() => {
      const w = window as unknown as { searchEvents_: { type: string }[]; workbench: { onEvent(l: (e: { type: string }) => void): void } };
      w.searchEvents_ = [];
      w.workbench.onEvent((e) => e.type === 'memory-search-progress' && w.searchEvents_.push(e));
    });
    const progressEvents = () => page.evaluate(() => (window as unknown as { searchEvents_: unknown[] }).searchEvents_.length);
    const threads = () => fs.readdirSync('/proc/self/task').length; // the bridge and its workers run in this process
    const threadsBefore = threads();

    await page.getByRole('combobox', { name: 'Memory search kind' }).selectOption('regex');
    await page.getByRole('searchbox', { name: 'Search guest memory' }).fill('[A-Z]{12}');
    await page.getByRole('button', { name: 'Search memory' }).click();
    const search = page.getByTestId('memory-search');
    await expect.poll(() => search.locator('.hint').first().textContent(), { timeout: 60_000, interval: 20 }).toMatch(/^\d+ of \d+ MiB$/);
    expect(threads(), 'the search worker runs').toBeGreaterThan(threadsBefore);
    await search.getByRole('button', { name: 'Cancel' }).click();

    // Stopped before the end: the summary and the status line say cancelled; partial hits are not kept.
    await expect.poll(() => page.getByTestId('memory-search-summary').textContent()).toBe('cancelled');
    await expect.poll(() => status(page)).toMatch(/^Memory search cancelled/);
    expect(await page.getByRole('grid', { name: 'Memory search hits' }).count()).toBe(0);
    expect(await search.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    // The worker is gone and no progress follows the cancel.
    await expect.poll(threads, { timeout: 30_000 }).toBeLessThanOrEqual(threadsBefore);
    const eventsAtCancel = await progressEvents();
    expect(eventsAtCancel).toBeGreaterThan(0);
    await page.waitForTimeout(1000);
    expect(await progressEvents()).toBe(eventsAtCancel);
    await screenshot(page, '27-memory-search-cancelled');

    // The image is free for the next search, which runs to the end.
    await page.getByRole('combobox', { name: 'Memory search kind' }).selectOption('hex');
    await page.getByRole('searchbox', { name: 'Search guest memory' }).fill('4d49474942');
    await page.getByRole('button', { name: 'Search memory' }).click();
    await expect.poll(() => page.getByTestId('memory-search-summary').textContent(), { timeout: 120_000 }).toMatch(/^\d+\+? hits? in \d+ MiB$/);
  }, 300_000);

  // The copies the Re-index test added are the images opened here.
  it('eight tabs opened from the library (Open 8): each one is reachable and scrolled into sight', async () => {
    const page = await wb().newPage();
    await page.getByRole('tab', { name: 'Library' }).click();
    await filter(page).fill('name:copy-');
    await expect.poll(() => rows(page).count()).toBeGreaterThanOrEqual(8);
    await rows(page).first().click();
    await rows(page).nth(7).click({ modifiers: ['Shift'] });
    await expect.poll(() => page.getByTestId('selection-count').textContent()).toBe('8 images selected');
    await page.getByRole('button', { name: 'Open 8' }).click();
    const tabs = page.locator('.tabs [role="tab"][data-handle]');
    await expect.poll(() => tabs.count(), { timeout: 60_000 }).toBe(8);
    const strip = (await page.locator('.tabs').boundingBox())!;
    for (let i = 0; i < 8; i++) {
      await page.getByRole('button', { name: 'All tabs' }).click();
      await page.getByRole('menuitem').nth(i + 1).click();
      const tab = tabs.nth(i);
      await expect.poll(() => tab.getAttribute('aria-selected')).toBe('true');
      await expect.poll(async () => {
        const box = (await tab.boundingBox())!;
        return box.x >= strip.x - 1 && box.x + box.width <= strip.x + strip.width + 1;
      }).toBe(true);
    }
    await screenshot(page, '26-eight-tabs');
  }, 120_000);
});
