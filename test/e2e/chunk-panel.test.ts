import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { migwb } from '../helpers/cli';
import { corpusPath, metaOf } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';
import { haveQemu, loadInQemu } from '../helpers/qemu';
import { haveChromium, openThroughPicker, screenshot } from '../helpers/browser';
import { useWorkbench } from '../helpers/use-workbench';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');

const chunkRows = (page: Page) => page.getByTestId('chunk-panel').getByTestId('chunk-row');
/** The row of a chunk by its key ("FULL cpu:0"). */
const chunkRow = (page: Page, key: string) => chunkRows(page).filter({ has: page.locator('.chunk-name').getByText(key, { exact: true }) });
/** The chunk keys in list order. */
const listedKeys = (page: Page) => page.getByTestId('chunk-panel').locator('.chunk-name').allTextContents();
const status = (page: Page) => page.getByTestId('status').textContent();

async function saveThroughPicker(page: Page, folder: string, name: string): Promise<void> {
  await page.getByRole('button', { name: 'Save as…' }).click();
  const picker = page.getByTestId('file-picker');
  await picker.getByRole('textbox', { name: 'Folder' }).fill(folder);
  await picker.getByRole('textbox', { name: 'Folder' }).press('Enter');
  await picker.getByRole('textbox', { name: 'File name' }).fill(name);
  await picker.getByRole('button', { name: 'Save' }).click();
  await expect.poll(() => status(page), { timeout: 60_000 }).toMatch(new RegExp(`Saved .*${name.replace(/\./g, '\\.')} .*checked: no errors`));
}

/**
 * The chunk panel in real Chromium (the renderer bundle through the bridge): sections of a
 * QEMU stream reordered by drag and by keyboard, one deleted and the delete undone, saved
 * through the picker; the saved file is what `migwb edit` + `apply` write for the same
 * moves, and QEMU 7.2 loads it. A chunked container's damaged chunk is marked, its CRC is
 * recomputed only after the warning, and a note written in Monaco is saved into it.
 */
describe.skipIf(!haveChromium)('the chunk panel in real Chromium', () => {
  expectOriginalsUnchanged([MINIMAL]);
  const tmp = tempFolder('migwb-e2e-chunks-');
  const wb = useWorkbench();
  let saved: string | undefined;

  it('reorder by drag and by keyboard, delete, undo, save: the file `migwb edit` writes for the same moves', async () => {
    const page = await wb().newPage();
    await openThroughPicker(page, MINIMAL);
    await expect.poll(() => chunkRows(page).count()).toBe(40);
    const original = await listedKeys(page);
    expect(original.slice(18, 20)).toEqual(['FULL i8259:1', 'FULL ioapic:0']);

    // Drag pcspk up onto ioapic, five rows higher (both in sight): it goes before it.
    await chunkRow(page, 'FULL ioapic:0').scrollIntoViewIfNeeded();
    await chunkRow(page, 'FULL pcspk:0').dragTo(chunkRow(page, 'FULL ioapic:0'));
    await expect.poll(() => status(page)).toMatch(/moved pcspk:0 before ioapic:0; no errors \(not saved yet\)/);
    await expect.poll(async () => (await listedKeys(page)).slice(18, 21)).toEqual(['FULL i8259:1', 'FULL pcspk:0', 'FULL ioapic:0']);

    // The keyboard: select dma:1, Alt+↓ moves it after the next section (PIIX3).
    await chunkRow(page, 'FULL dma:1').click();
    await page.getByRole('listbox', { name: 'Sections as chunks' }).press('Alt+ArrowDown');
    await expect.poll(() => status(page)).toMatch(/moved dma:1 after 0000:00:01\.0\/PIIX3:0/);
    await expect.poll(async () => {
      const keys = await listedKeys(page);
      return keys.indexOf('FULL dma:1') - keys.indexOf('FULL 0000:00:01.0/PIIX3:0');
    }).toBe(1);
    await expect.poll(() => page.getByTestId('chunk-panel').getByRole('option', { selected: true }).textContent()).toMatch(/FULL dma:1/);

    // Delete parallel_isa with the Delete key, then Undo brings it back.
    await chunkRow(page, 'FULL parallel_isa:0').click();
    await page.getByRole('listbox', { name: 'Sections as chunks' }).press('Delete');
    await expect.poll(() => status(page)).toMatch(/deleted the section parallel_isa:0/);
    await expect.poll(() => chunkRows(page).count()).toBe(39);
    await page.getByRole('button', { name: 'Undo', exact: true }).click();
    await expect.poll(() => chunkRows(page).count()).toBe(40);
    await expect.poll(async () => (await listedKeys(page)).includes('FULL parallel_isa:0')).toBe(true);
    await page.getByRole('tab', { name: /^Edits/ }).click();
    await expect.poll(() => page.getByTestId('edit-entry').count()).toBe(2);
    await screenshot(page, '20-chunk-panel-reordered');

    await saveThroughPicker(page, tmp(), 'reordered.mig');
    saved = path.join(tmp(), 'reordered.mig');
    // The CLI makes the same two moves into the same file.
    const journal = path.join(tmp(), 'moves.json');
    const edit = await migwb('edit', MINIMAL, '--journal', journal, '--move-section', 'pcspk:0 before ioapic:0', '--move-section', 'dma:1 after 0000:00:01.0/PIIX3:0');
    expect(edit.code, edit.err).toBe(0);
    expect((await migwb('apply', MINIMAL, journal, '-o', path.join(tmp(), 'cli.mig'))).code).toBe(0);
    expect(sha256File(saved)).toBe(sha256File(path.join(tmp(), 'cli.mig')));
    const listed = JSON.parse((await migwb('chunks', saved, '--json')).out) as { chunks: { key: string }[] };
    expect(listed.chunks.map((c) => c.key)).toEqual(await listedKeys(page));
  }, 120_000);

  it.skipIf(!haveQemu('7.2'))('the reordered file loads in QEMU 7.2', async () => {
    expect(saved, 'the reorder test saved a file').toBeDefined();
    const loaded = await loadInQemu({ version: '7.2', image: saved!, args: metaOf(MINIMAL).qemu_argv.slice(1) });
    try {
      expect(loaded.loaded, loaded.stderr.join('\n')).toBe(true);
      expect(loaded.status).toBe('completed');
    } finally {
      await loaded.quit();
    }
  }, 60_000);

  it('a chunked container: the damaged chunk is marked, its CRC recomputed after a warning, a note written in Monaco is saved into it', async () => {
    const packed = path.join(tmp(), 'minimal.migc');
    expect((await migwb('pack', MINIMAL, '-o', packed)).code).toBe(0);
    const cpu = (JSON.parse((await migwb('chunks', packed, '--json')).out) as { chunks: { key: string; file_offset: number }[] }).chunks.find((c) => c.key === 'FULL cpu:0')!;
    const damaged = path.join(tmp(), 'damaged.migc');
    const bytes = fs.readFileSync(packed);
    bytes[cpu.file_offset + 8 + 40] ^= 0x01;
    fs.writeFileSync(damaged, bytes);

    const page = await wb().newPage();
    await openThroughPicker(page, damaged);
    await expect.poll(() => page.getByTestId('chunk-panel').locator('.panel-title').textContent()).toMatch(/^Chunks.*1 damaged/);
    const row = chunkRow(page, 'FULL cpu:0');
    await expect.poll(() => row.getAttribute('class')).toMatch(/damaged/);
    await expect.poll(() => row.getByTestId('chunk-crc').textContent()).toBe('CRC WRONG');
    await expect.poll(() => page.getByTestId('chunk-panel').locator('.chunk-row.damaged').count()).toBe(1);
    await row.click();
    await screenshot(page, '21-chunk-panel-damaged-chunk');

    // The warning first: cancelling changes nothing.
    await page.getByRole('button', { name: 'Recompute CRC…' }).click();
    const dialog = page.getByTestId('confirm-dialog');
    await expect.poll(() => dialog.textContent()).toMatch(/no reader will detect the damage/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => row.getByTestId('chunk-crc').textContent()).toBe('CRC WRONG');
    await page.getByRole('button', { name: 'Recompute CRC…' }).click();
    await dialog.getByRole('button', { name: 'Recompute, hiding the damage' }).click();
    await expect.poll(() => status(page)).toMatch(/recomputed the CRC of the FULL chunk/);
    await expect.poll(() => page.getByTestId('chunk-panel').locator('.chunk-row.damaged').count()).toBe(0);

    // A note in Monaco (Enter on the selected chunk opens it).
    await chunkRow(page, 'FULL cpu:0').click();
    await page.getByRole('listbox', { name: 'Chunks' }).press('Enter');
    const editor = page.getByTestId('note-editor');
    await editor.locator('.monaco-editor .view-lines').waitFor();
    await page.keyboard.type('bit flipped in transit; CRC recomputed after review');
    await screenshot(page, '22-chunk-note-in-monaco');
    await editor.getByRole('button', { name: 'Save note' }).click();
    await expect.poll(() => chunkRow(page, 'FULL cpu:0').getByTestId('chunk-note').textContent()).toMatch(/bit flipped in transit/);

    await saveThroughPicker(page, tmp(), 'reviewed.migc');
    const written = JSON.parse((await migwb('chunks', path.join(tmp(), 'reviewed.migc'), '--json')).out) as { damaged: number; chunks: { key: string; note?: string }[] };
    expect(written.damaged).toBe(0);
    expect(written.chunks.find((c) => c.key === 'FULL cpu:0')!.note).toBe('bit flipped in transit; CRC recomputed after review');
  }, 120_000);
});
