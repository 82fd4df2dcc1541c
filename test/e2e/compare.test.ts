import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged, tempFolder } from '../helpers/evidence';
import { haveChromium, openThroughPicker, screenshot } from '../helpers/browser';
import { useWorkbench } from '../helpers/use-workbench';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
/** What the edited copy changes: one CPU field and one guest page. */
const NEW_EIP = '0xfff4';
const RAM_GPA = 0x5000;

const side = (page: Page, s: 'a' | 'b') => page.getByTestId(`compare-side-${s}`);
const selectedOn = (page: Page, s: 'a' | 'b') => side(page, s).locator('.tree-row.selected');
const compareStatus = (page: Page) => page.getByTestId('compare-status').textContent();
const diffRow = (page: Page, key: string) => page.locator(`[data-testid="diff-row"][data-key="${key}"]`);

/** Chooses a file in the in-app picker a "Compare with…" opened. */
async function pickFile(page: Page, file: string): Promise<void> {
  const picker = page.getByTestId('file-picker');
  await picker.getByRole('textbox', { name: 'Folder' }).fill(path.dirname(file));
  await picker.getByRole('textbox', { name: 'Folder' }).press('Enter');
  await picker.locator('.entry', { hasText: path.basename(file) }).first().dblclick();
}

/**
 * The compare view in real Chromium (the renderer bundle through the bridge): a corpus
 * image against a copy edited at test time with `migwb edit` (one CPU field, one guest
 * page). The diff is shown as marks in both trees, a field table and a RAM page picture;
 * a row shows the field on both sides; selecting a node on one side selects the same one
 * on the other; the field is copied across as an edit of the target's journal and undone.
 */
describe.skipIf(!haveChromium)('the compare view in real Chromium', () => {
  expectOriginalsUnchanged([MINIMAL]);
  const tmp = tempFolder('migwb-e2e-compare-');
  const wb = useWorkbench();
  let edited = '';

  beforeAll(async () => {
    edited = path.join(tmp(), 'edited.mig');
    const journal = path.join(tmp(), 'edit.json');
    const edit = await migwb('edit', MINIMAL, '--journal', journal, '--set', `cpu.env.eip=${NEW_EIP}`, '--ram', `0x${RAM_GPA.toString(16)}=deadbeef`);
    expect(edit.code, edit.err).toBe(0);
    expect((await migwb('apply', MINIMAL, journal, '-o', edited)).code).toBe(0);
  }, 60_000);

  it('compare with a tab, walk to the changed field, follow a node across, copy it over, undo', async () => {
    const page = await wb().newPage();
    await openThroughPicker(page, MINIMAL);
    await page.getByRole('button', { name: 'Compare with…' }).click();
    await pickFile(page, edited);
    await page.getByTestId('compare-view').first().waitFor();
    await expect.poll(() => compareStatus(page), { timeout: 60_000 }).toMatch(/^Different: 1 changed \(1 fields\), 1 RAM pages/);

    // The trees: the cpu section marked changed on both sides, nothing else.
    for (const s of ['a', 'b'] as const) {
      await expect.poll(() => side(page, s).locator('.tree-row[data-mark="changed"] .label').allTextContents()).toEqual(['cpu']);
    }

    // The table's row shows the field on both sides: both trees select env.eip, marked changed, with each side's value.
    await diffRow(page, 'cpu:0.env.eip').click();
    for (const s of ['a', 'b'] as const) {
      await expect.poll(() => selectedOn(page, s).locator('.label').textContent()).toBe('env.eip');
      await expect.poll(() => selectedOn(page, s).getAttribute('data-mark')).toBe('changed');
    }
    const original = await selectedOn(page, 'a').locator('.value').textContent();
    expect(Number(await selectedOn(page, 'b').locator('.value').textContent())).toBe(Number(NEW_EIP));
    expect(Number(original)).not.toBe(Number(NEW_EIP));
    await screenshot(page, '30-compare-changed-field');

    // Selecting another node on A selects the same one on B (by name, not by id or offset).
    await side(page, 'a').locator('.tree-row', { has: page.locator('.label', { hasText: /^env\.eflags$/ }) }).click();
    await expect.poll(() => selectedOn(page, 'b').locator('.label').textContent()).toBe('env.eflags');
    expect(await selectedOn(page, 'b').getAttribute('data-mark')).toBeNull();

    // Copy A's eip into B: an edit of B's journal; B's tree shows A's value.
    await side(page, 'a').locator('.tree-row', { has: page.locator('.label', { hasText: /^env\.eip$/ }) }).click();
    await expect.poll(() => selectedOn(page, 'b').locator('.label').textContent()).toBe('env.eip');
    await page.getByRole('button', { name: 'Copy field A → B' }).click();
    await expect.poll(() => compareStatus(page)).toMatch(/^Copied cpu:0\.env\.eip into edited\.mig \(edit 1 of its journal/);
    await expect.poll(() => side(page, 'b').locator('.compare-side-title .hint').textContent()).toBe('1 unsaved edit');
    await expect.poll(() => side(page, 'b').locator('.tree-row', { has: page.locator('.label', { hasText: /^env\.eip$/ }) }).locator('.value').textContent()).toBe(original);
    // B's own tab shows the same journal: the edit is the image's, not the view's.
    await expect.poll(() => page.getByRole('tab', { name: /^edited\.mig/ }).textContent()).toMatch(/●/);
    await screenshot(page, '31-compare-field-copied');

    // Undo in B takes it back.
    await side(page, 'b').getByRole('button', { name: 'Undo in B' }).click();
    await expect.poll(() => side(page, 'b').locator('.compare-side-title .hint').textContent()).toBe('no edits');
    await expect.poll(async () => Number(await side(page, 'b').locator('.tree-row', { has: page.locator('.label', { hasText: /^env\.eip$/ }) }).locator('.value').textContent())).toBe(Number(NEW_EIP));

    // A whole section copied across: B's cpu section replaced by A's (a donor edit of B's journal), then undone.
    await side(page, 'a').locator('.tree-row[data-mark="changed"]', { has: page.locator('.label', { hasText: /^cpu$/ }) }).click();
    await page.getByRole('button', { name: 'Copy section A → B' }).click();
    await expect.poll(() => compareStatus(page)).toMatch(/^Copied section cpu:0 into edited\.mig/);
    await expect.poll(() => side(page, 'b').locator('.compare-side-title .hint').textContent()).toBe('1 unsaved edit');
    await diffRow(page, 'cpu:0.env.eip').click();
    await expect.poll(() => selectedOn(page, 'b').locator('.value').textContent()).toBe(original);
    await side(page, 'b').getByRole('button', { name: 'Undo in B' }).click();
    await expect.poll(() => side(page, 'b').locator('.compare-side-title .hint').textContent()).toBe('no edits');

    // The RAM page picture: the one page written, at its guest-physical address; a click shows its record on B.
    await page.getByRole('tab', { name: 'RAM pages' }).click();
    const map = page.getByTestId('ram-page-map');
    await expect.poll(() => map.getByTestId('ram-run').allTextContents()).toEqual([expect.stringMatching(/^0x00005000pc\.ram\+0x00005000\s*1 page/)]);
    const canvas = map.locator('canvas');
    const spanBytes = Number(await canvas.getAttribute('data-span'));
    const cellBytes = spanBytes / (128 * 32);
    const cell = Math.floor(RAM_GPA / cellBytes);
    await canvas.click({ position: { x: (cell % 128) * 6 + 3, y: Math.floor(cell / 128) * 6 + 3 } });
    await expect.poll(() => side(page, 'b').locator('.hex-seg.cursor[data-kind="hex"]').textContent()).toBe('de');
    await screenshot(page, '32-compare-ram-pages');
  }, 180_000);

  it('from the library: select two images, then Compare', async () => {
    const folder = path.join(tmp(), 'library');
    fs.mkdirSync(folder);
    fs.copyFileSync(MINIMAL, path.join(folder, 'original.mig'));
    fs.copyFileSync(edited, path.join(folder, 'edited.mig'));
    const page = await wb().newPage();
    await page.getByRole('tab', { name: 'Library' }).click();
    await page.getByRole('button', { name: 'Add folder…' }).first().click();
    const picker = page.getByTestId('file-picker');
    await picker.getByRole('textbox', { name: 'Folder' }).fill(folder);
    await picker.getByRole('textbox', { name: 'Folder' }).press('Enter');
    await picker.locator('.entry', { hasText: 'original.mig' }).first().waitFor();
    await picker.getByRole('button', { name: 'Choose folder' }).click();
    const rows = page.locator('.library-row');
    await expect.poll(() => rows.count(), { timeout: 60_000 }).toBe(2);
    const compare = page.getByRole('button', { name: 'Compare', exact: true });
    await rows.nth(0).click();
    expect(await compare.isDisabled()).toBe(true);
    await rows.nth(1).click({ modifiers: ['Control'] });
    await compare.click();
    await expect.poll(() => page.getByRole('tab', { name: /↔/ }).textContent()).toMatch(/(original|edited)\.mig ↔ (original|edited)\.mig/);
    await expect.poll(() => compareStatus(page), { timeout: 60_000 }).toMatch(/^Different: 1 changed \(1 fields\), 1 RAM pages/);
    await expect.poll(() => diffRow(page, 'cpu:0.env.eip').count()).toBe(1);
  }, 120_000);
});
